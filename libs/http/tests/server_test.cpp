#include "http_test_support.hpp"

#include <covet/http/compression.hpp>

#include <doctest/doctest.h>

#include <cstdio>
#include <thread>

using namespace covet::http;
using namespace covet::http::testing;

TEST_CASE("GET returns the body with Date, Server, Content-Type and Content-Length")
{
    test_server s;
    auto r = exchange(s.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(r.responses.size() == 1);
    const auto& res = r.responses[0];
    CHECK(res.status == 200);
    CHECK(res.body == "Hello, World!");
    CHECK(res.headers.at("content-length") == "13");
    CHECK(res.headers.at("content-type") == "text/plain; charset=utf-8");
    CHECK(res.headers.at("server") == "covet");
    CHECK(res.headers.at("date").size() == 29);
    CHECK(res.headers.at("date").substr(25) == " GMT");
    CHECK(res.raw_head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(res.headers.count("connection") == 0);
}

TEST_CASE("keep-alive: several requests on one connection, pipelined, answered in order")
{
    test_server s;
    std::string pipeline;
    constexpr int requests = 100;
    for (int i = 0; i < requests; ++i) {
        pipeline += "GET /query?q=" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    auto r = exchange(s.port(), pipeline, requests);
    REQUIRE(r.responses.size() == requests);
    for (int i = 0; i < requests; ++i) {
        CHECK(r.responses[static_cast<std::size_t>(i)].body == std::to_string(i));
    }
    CHECK(s.srv->connections_accepted() == 1);
}

TEST_CASE("pipelined requests split at awkward places still parse")
{
    test_server s;
    const std::string two =
        "GET /path HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: "
        "5\r\n\r\nhello";
    std::vector<std::string> pieces;
    for (std::size_t i = 0; i < two.size(); i += 7) {
        pieces.push_back(two.substr(i, 7));
    }
    auto r = exchange(s.port(), pieces, 2, false, 2ms);
    REQUIRE(r.responses.size() == 2);
    CHECK(r.responses[0].body == "/path");
    CHECK(r.responses[1].body == "hello");
    CHECK(r.responses[1].headers.at("x-method") == "POST");
}

TEST_CASE("HTTP/1.0 closes by default and keeps alive on request")
{
    test_server s;
    auto closing = exchange(s.port(), "GET /hello HTTP/1.0\r\n\r\n", 1, true);
    REQUIRE(closing.responses.size() == 1);
    CHECK(closing.responses[0].raw_head.rfind("HTTP/1.0 200 OK", 0) == 0);
    CHECK(closing.responses[0].headers.at("connection") == "close");
    CHECK(closing.closed_by_server);

    auto kept =
        exchange(s.port(), "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /hello HTTP/1.0\r\n\r\n",
                 2, true);
    REQUIRE(kept.responses.size() == 2);
    CHECK(kept.responses[0].headers.at("connection") == "keep-alive");
    CHECK(kept.responses[1].headers.at("connection") == "close");
    CHECK(kept.closed_by_server);
}

TEST_CASE("Connection: close is honoured after the response")
{
    test_server s;
    auto r = exchange(
        s.port(),
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
        2, true);
    REQUIRE(r.responses.size() == 1);  // the second request is never answered
    CHECK(r.responses[0].headers.at("connection") == "close");
    CHECK(r.closed_by_server);
}

TEST_CASE("HEAD sends the headers of GET without the body")
{
    test_server s;
    auto r = exchange(
        s.port(),
        "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        99, true);
    // The HEAD response has Content-Length 13 but no body: the next bytes are the GET response.
    REQUIRE(r.bytes.find("HTTP/1.1 200 OK") == 0);
    const auto second = r.bytes.find("HTTP/1.1 200 OK", 10);
    REQUIRE(second != std::string::npos);
    const std::string head_part = r.bytes.substr(0, second);
    CHECK(head_part.find("Content-Length: 13\r\n") != std::string::npos);
    CHECK(head_part.substr(head_part.size() - 4) == "\r\n\r\n");
    CHECK(r.bytes.substr(r.bytes.size() - 13) == "Hello, World!");
}

TEST_CASE("request bodies: Content-Length, chunked with trailers, 100-continue")
{
    test_server s;
    auto cl = exchange(s.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
    REQUIRE(cl.responses.size() == 1);
    CHECK(cl.responses[0].body == "hello world");

    auto chunked = exchange(s.port(),
                            "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "6\r\nhello \r\n5;ext=1\r\nworld\r\n0\r\nX-Sum: 1\r\n\r\n");
    REQUIRE(chunked.responses.size() == 1);
    CHECK(chunked.responses[0].body == "hello world");
    CHECK(chunked.responses[0].headers.at("x-trailers") == "1");

    // The head first; the server must answer 100 Continue before the body is sent.
    auto result = covet::net::block_on([](std::uint16_t port) -> covet::task<std::string> {
        auto stream = co_await covet::net::connect("127.0.0.1", port);
        REQUIRE(stream.has_value());
        std::string head =
            "PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
        (void)co_await stream->write(asio::buffer(head));
        std::string interim(25, '\0');
        auto n = co_await stream->read_exactly(asio::buffer(interim));
        REQUIRE(n.has_value());
        CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
        (void)co_await stream->write(asio::buffer("data", 4));
        std::array<char, 4096> buffer;
        std::string rest;
        while (parse_responses(rest).empty()) {
            auto m = co_await stream->read_some(asio::buffer(buffer));
            REQUIRE(m.has_value());
            rest.append(buffer.data(), *m);
        }
        co_return parse_responses(rest)[0].body;
    }(s.port()));
    CHECK(result == "data");
}

TEST_CASE("a large request body arriving in many reads")
{
    test_server s;
    const std::string body(1024 * 1024, 'z');
    auto r = exchange(s.port(), "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                    std::to_string(body.size()) + "\r\n\r\n" + body);
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0].body.size() == body.size());
    CHECK(r.responses[0].body == body);

    auto big = exchange(s.port(), "GET /big HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(big.responses.size() == 1);
    CHECK(big.responses[0].body == std::string(200 * 1024, 'b'));
}

TEST_CASE("malformed requests get their status and the connection is closed")
{
    test_server s;
    struct vector_case {
        std::string request;
        int status;
    };
    const std::vector<vector_case> cases = {
        {"GET / HTTP/1.1\r\n\r\n", 400},       // no Host
        {"GET / HTTP/1.1\nHost: x\n\n", 400},  // bare LF
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         400},
        {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501},
        {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
        {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", 414},
        {"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n", 431},
        {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n", 413},
        {"POST / HTTP/1.1\r\nHost: x\r\nExpect: something\r\n\r\n", 417},
        {"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400},
    };
    for (const auto& c : cases) {
        CAPTURE(c.request.substr(0, 60));
        auto r = exchange(s.port(), c.request, 1, true);
        REQUIRE(r.responses.size() == 1);
        CHECK(r.responses[0].status == c.status);
        CHECK(r.responses[0].headers.at("connection") == "close");
        CHECK(r.closed_by_server);
    }
}

TEST_CASE("a smuggled second request after a rejected one is never processed")
{
    test_server s;
    auto r =
        exchange(s.port(),
                 "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "0\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
                 2, true);
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0].status == 400);
    CHECK(r.bytes.find("Hello, World!") == std::string::npos);
}

TEST_CASE("handler errors: http::error keeps its status, other exceptions are a bare 500")
{
    test_server s;
    auto conflict = exchange(s.port(), "GET /http-error HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(conflict.responses.size() == 1);
    CHECK(conflict.responses[0].status == 409);
    CHECK(conflict.responses[0].body == "already exists");

    auto boom =
        exchange(s.port(), "GET /throw HTTP/1.1\r\nHost: x\r\n\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 2);
    REQUIRE(boom.responses.size() == 2);
    CHECK(boom.responses[0].status == 500);
    CHECK(boom.responses[0].body.find("secret") == std::string::npos);
    CHECK(boom.responses[1].status == 200);  // the connection survives
}

TEST_CASE("slowloris: a head that trickles in past header_timeout gets 408")
{
    server_options options;
    options.header_timeout = 300ms;
    test_server s(options);
    std::vector<std::string> drip;
    const std::string head = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    for (char c : head) {
        drip.emplace_back(1, c);
    }
    for (int i = 0; i < 40; ++i) {
        drip.emplace_back("a");
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = exchange(s.port(), drip, 1, true, 20ms, 5s);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0].status == 408);
    CHECK(r.closed_by_server);
    CHECK(took < 3s);
}

TEST_CASE("idle keep-alive connections are closed after keep_alive_timeout")
{
    server_options options;
    options.keep_alive_timeout = 200ms;
    test_server s(options);
    const auto start = std::chrono::steady_clock::now();
    auto r = exchange(s.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 1, true);
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(r.responses.size() == 1);
    CHECK(r.closed_by_server);
    CHECK(took >= 150ms);
    CHECK(took < 3s);
}

TEST_CASE("max connections per worker: the extra connection gets 503")
{
    server_options options;
    options.max_connections_per_worker = 1;
    test_server s(options, 1);
    auto result = covet::net::block_on([](std::uint16_t port) -> covet::task<int> {
        auto first = co_await covet::net::connect("127.0.0.1", port);
        REQUIRE(first.has_value());
        std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
        (void)co_await first->write(asio::buffer(req));
        std::array<char, 1024> buffer;
        auto n = co_await first->read_some(asio::buffer(buffer));  // first is being served
        REQUIRE(n.has_value());
        auto second = co_await covet::net::connect("127.0.0.1", port);
        REQUIRE(second.has_value());
        std::string got;
        for (;;) {
            auto m = co_await second->read_some(asio::buffer(buffer));
            if (!m) {
                break;
            }
            got.append(buffer.data(), *m);
        }
        auto parsed = parse_responses(got);
        co_return parsed.empty() ? 0 : parsed[0].status;
    }(s.port()));
    CHECK(result == 503);
}

TEST_CASE("graceful stop: in-flight requests finish, idle connections close, new ones are refused")
{
    test_server s;
    const auto port = s.port();
    exchange_result slow;
    std::thread in_flight([&] { slow = exchange(port, "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n", 1, true); });
    exchange_result idle;
    std::thread idle_client(
        [&] { idle = exchange(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n", 1, true); });
    std::this_thread::sleep_for(100ms);  // both requests are in
    s.rt.request_stop();
    in_flight.join();
    idle_client.join();
    REQUIRE(slow.responses.size() == 1);
    CHECK(slow.responses[0].body == "slow done");
    CHECK(slow.responses[0].headers.at("connection") == "close");
    CHECK(slow.closed_by_server);
    REQUIRE(idle.responses.size() == 1);
    CHECK(idle.closed_by_server);
    const auto refused = covet::net::block_on([](std::uint16_t p) -> covet::task<std::error_code> {
        auto stream = co_await covet::net::connect("127.0.0.1", p, {.timeout = 1s});
        co_return stream ? std::error_code{} : stream.error();
    }(port));
    CHECK(refused == std::errc::connection_refused);
    s.rt.join();
}

TEST_CASE("upgrade: 101 with Connection: Upgrade, then the new protocol owns the stream")
{
    test_server s;
    auto r = exchange(
        s.port(),
        {"GET /upgrade HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: x-echo\r\n\r\nearly", "more"},
        1, true, 50ms);
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0].status == 101);
    CHECK(r.responses[0].headers.at("connection") == "Upgrade");
    CHECK(r.responses[0].headers.at("upgrade") == "x-echo");
    CHECK(r.responses[0].headers.count("content-length") == 0);
    CHECK(r.bytes.substr(r.responses[0].raw_head.size()) == "[early][more]");
    CHECK(r.closed_by_server);

    // RFC 9110 7.8: an HTTP/1.0 request is never upgraded.
    auto old =
        exchange(s.port(), "GET /upgrade HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: x-echo\r\n\r\n", 1);
    REQUIRE(old.responses.size() == 1);
    CHECK(old.responses[0].status == 400);
}

TEST_CASE("query and header access")
{
    test_server s;
    auto q = exchange(s.port(), "GET /query?a=1&q=hello%20world+x HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(q.responses.size() == 1);
    CHECK(q.responses[0].body == "hello world x");
    auto h = exchange(s.port(), "GET /header HTTP/1.1\r\nHost: x\r\nX-TEST: value\r\n\r\n");
    REQUIRE(h.responses.size() == 1);
    CHECK(h.responses[0].body == "value");
    auto abs = exchange(s.port(), "GET http://x/path?z=1 HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(abs.responses.size() == 1);
    CHECK(abs.responses[0].body == "/path");
}

TEST_CASE("curl talks to the server")
{
    test_server s;
    const std::string command = "curl -s -i --max-time 5 http://127.0.0.1:" + std::to_string(s.port()) +
                                "/hello -H 'Connection: close' 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    std::array<char, 512> chunk;
    while (std::fgets(chunk.data(), chunk.size(), pipe) != nullptr) {
        output += chunk.data();
    }
    const int rc = pclose(pipe);
    REQUIRE_MESSAGE(rc == 0, "curl failed (is it installed? tools/install-deps.sh installs it): " << output);
    CHECK(output.rfind("HTTP/1.1 200 OK", 0) == 0);
    CHECK(output.find("Hello, World!") != std::string::npos);

    const std::string post =
        "curl -s --max-time 5 -X POST --data-binary @- -H 'Transfer-Encoding: chunked' "
        "http://127.0.0.1:" +
        std::to_string(s.port()) + "/echo <<< 'sent by curl' 2>&1";
    FILE* pipe2 = popen(("bash -c \"" + post + "\"").c_str(), "r");
    REQUIRE(pipe2 != nullptr);
    std::string echoed;
    while (std::fgets(chunk.data(), chunk.size(), pipe2) != nullptr) {
        echoed += chunk.data();
    }
    CHECK(pclose(pipe2) == 0);
    CHECK(echoed == "sent by curl\n");
}

TEST_CASE("compression: gzip for compressible bodies when accepted, with Vary")
{
    server_options options;
    options.compression.enabled = true;
    options.compression.min_size = 100;
    options.compression.offload_above = 4000;  // the 5000-byte bodies go through the offload pool
    test_server s(options);
    const std::string body(5000, 'x');
    const std::string post = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n";
    auto gz = exchange(s.port(), post + "Accept-Encoding: deflate;q=0.5, gzip\r\n\r\n" + body);
    REQUIRE(gz.responses.size() == 1);
    CHECK(gz.responses[0].headers.at("content-encoding") == "gzip");
    CHECK(gz.responses[0].headers.at("vary") == "Accept-Encoding");
    CHECK(gz.responses[0].body.size() < 200);
    auto unpacked = decompress(gz.responses[0].body, content_coding::gzip, 1 << 20);
    REQUIRE(unpacked.has_value());
    CHECK(*unpacked == body);

    auto deflated = exchange(s.port(), post + "Accept-Encoding: gzip;q=0, deflate\r\n\r\n" + body);
    REQUIRE(deflated.responses.size() == 1);
    CHECK(deflated.responses[0].headers.at("content-encoding") == "deflate");
    CHECK(*decompress(deflated.responses[0].body, content_coding::deflate, 1 << 20) == body);

    auto plain = exchange(s.port(), post + "\r\n" + body);
    REQUIRE(plain.responses.size() == 1);
    CHECK(plain.responses[0].headers.count("content-encoding") == 0);
    CHECK(plain.responses[0].headers.at("vary") == "Accept-Encoding");
    CHECK(plain.responses[0].body == body);

    const std::string medium(2000, 'y');  // compressed on the event loop
    auto inline_gz = exchange(s.port(),
                              "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n"
                              "Accept-Encoding: gzip\r\n\r\n" +
                                  medium);
    REQUIRE(inline_gz.responses.size() == 1);
    CHECK(inline_gz.responses[0].headers.at("content-encoding") == "gzip");
    CHECK(*decompress(inline_gz.responses[0].body, content_coding::gzip, 1 << 20) == medium);

    auto small = exchange(s.port(), "GET /hello HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n\r\n");
    REQUIRE(small.responses.size() == 1);
    CHECK(small.responses[0].headers.count("content-encoding") == 0);  // below min_size
}

TEST_CASE("compression helpers: negotiation, types, zip-bomb limit")
{
    CHECK(negotiate_coding("gzip, deflate, br") == content_coding::gzip);
    CHECK(negotiate_coding("deflate") == content_coding::deflate);
    CHECK(negotiate_coding("gzip;q=0.2, deflate;q=0.8") == content_coding::deflate);
    CHECK(negotiate_coding("*") == content_coding::gzip);
    CHECK(negotiate_coding("*;q=0") == content_coding::identity);
    CHECK(negotiate_coding("gzip;q=0, *") == content_coding::deflate);
    CHECK(negotiate_coding("identity") == content_coding::identity);
    CHECK(negotiate_coding("") == content_coding::identity);
    CHECK(negotiate_coding("gzip;q=abc") == content_coding::identity);
    CHECK(is_compressible("text/html; charset=utf-8"));
    CHECK(is_compressible("application/json"));
    CHECK(is_compressible("application/vnd.api+json"));
    CHECK_FALSE(is_compressible("image/png"));
    CHECK_FALSE(is_compressible(""));
    const std::string zeros(10 * 1024 * 1024, '\0');
    auto bomb = compress(zeros, content_coding::gzip);
    REQUIRE(bomb.has_value());
    CHECK(bomb->size() < 20000);
    CHECK(decompress(*bomb, content_coding::gzip, 1024 * 1024).error() == covet::errc::limit_exceeded);
    CHECK(!decompress("not gzip at all", content_coding::gzip, 1024).has_value());
    CHECK(!decompress(bomb->substr(0, bomb->size() / 2), content_coding::gzip, 100 << 20).has_value());
}
