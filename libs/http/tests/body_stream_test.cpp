#include "http_test_support.hpp"

#include <covet/http/client.hpp>

#include <doctest/doctest.h>

using namespace covet::http;
using namespace covet::http::testing;
using covet::task;

namespace {

// Reads the body in 1000-byte pieces and answers "bytes=N sum=S".
task<response> upload_handler(request& req)
{
    if (req.path() == "/upload-ignore") {
        co_return response::static_text("ignored");
    }
    if (req.path() == "/upload-all") {
        auto all = co_await req.read_all_body(1 << 20);
        if (!all) {
            co_return response::text(all.error().message(), status::content_too_large);
        }
        co_return response::text("all=" + std::to_string(all->size()));
    }
    std::uint64_t bytes = 0;
    std::uint64_t sum = 0;
    std::array<char, 1000> piece;
    for (;;) {
        auto n = co_await req.read_body(asio::buffer(piece));
        if (!n) {
            co_return response::text("error: " + n.error().message(), status::bad_request);
        }
        if (*n == 0) {
            break;
        }
        for (std::size_t i = 0; i < *n; ++i) {
            sum += static_cast<unsigned char>(piece[i]);
        }
        bytes += *n;
    }
    co_return response::text("streamed=" + std::to_string(req.body_streamed()) +
                             " bytes=" + std::to_string(bytes) + " sum=" + std::to_string(sum));
}

struct upload_server {
    upload_server() : rt(test_server::make_runtime_options(1))
    {
        server_options options;
        options.listen.address = "127.0.0.1";
        options.limits.max_body = 1024 * 1024;
        options.limits.max_streamed_body = 64 * 1024 * 1024;
        options.stream_body_if = [](const request& req) { return req.path().substr(0, 7) == "/upload"; };
        auto s = server::start(rt, options, upload_handler);
        REQUIRE(s.has_value());
        srv.emplace(std::move(*s));
        rt.start();
    }
    ~upload_server()
    {
        rt.request_stop();
        rt.join();
    }
    covet::net::runtime rt;
    std::optional<server> srv;
};

std::string pattern(std::size_t n)
{
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>(i * 7 + 3);
    }
    return s;
}

std::uint64_t byte_sum(const std::string& s)
{
    std::uint64_t sum = 0;
    for (char c : s) {
        sum += static_cast<unsigned char>(c);
    }
    return sum;
}

std::string chunk_encode(const std::string& data, std::size_t piece)
{
    std::string out;
    char size_line[32];
    for (std::size_t i = 0; i < data.size(); i += piece) {
        const std::size_t n = std::min(piece, data.size() - i);
        std::snprintf(size_line, sizeof(size_line), "%zx;ext=1\r\n", n);
        out += size_line;
        out.append(data, i, n);
        out += "\r\n";
    }
    return out + "0\r\nX-Done: yes\r\n\r\n";
}

}  // namespace

TEST_CASE("a Content-Length body larger than max_body is streamed to the handler")
{
    upload_server s;
    const std::string data = pattern(5 * 1024 * 1024);
    auto r = exchange(s.srv->port(),
                      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(data.size()) +
                          "\r\n\r\n" + data + "GET /upload-ignore HTTP/1.1\r\nHost: x\r\n\r\n",
                      2);
    REQUIRE(r.responses.size() == 2);
    CHECK(r.responses[0].body ==
          "streamed=1 bytes=" + std::to_string(data.size()) + " sum=" + std::to_string(byte_sum(data)));
    CHECK(r.responses[1].body == "ignored");  // the pipelined request after the body

    // The same size on a buffered route is refused.
    auto refused = exchange(
        s.srv->port(),
        "POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(data.size()) + "\r\n\r\n", 1,
        true);
    REQUIRE(refused.responses.size() == 1);
    CHECK(refused.responses[0].status == 413);
}

TEST_CASE("a chunked body is streamed with a bounded window")
{
    upload_server s;
    const std::string data = pattern(3 * 1024 * 1024 + 11);
    auto r = exchange(s.srv->port(),
                      "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          chunk_encode(data, 8191) + "GET /upload-ignore HTTP/1.1\r\nHost: x\r\n\r\n",
                      2);
    REQUIRE(r.responses.size() == 2);
    CHECK(r.responses[0].body ==
          "streamed=1 bytes=" + std::to_string(data.size()) + " sum=" + std::to_string(byte_sum(data)));
    CHECK(r.responses[1].body == "ignored");

    // Tiny chunks: lots of framing per byte.
    const std::string small = pattern(20000);
    auto tiny =
        exchange(s.srv->port(), "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                    chunk_encode(small, 3));
    REQUIRE(tiny.responses.size() == 1);
    CHECK(tiny.responses[0].body == "streamed=1 bytes=20000 sum=" + std::to_string(byte_sum(small)));

    auto bad = exchange(s.srv->port(),
                        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcdeXX");
    REQUIRE(bad.responses.size() == 1);
    CHECK(bad.responses[0].status == 400);
    CHECK(bad.responses[0].body.find("chunk") != std::string::npos);
}

TEST_CASE("100 Continue is sent when the handler starts reading")
{
    upload_server s;
    auto body = covet::net::block_on([](std::uint16_t port) -> task<std::string> {
        auto stream = co_await covet::net::connect("127.0.0.1", port);
        REQUIRE(stream.has_value());
        std::string head =
            "PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n";
        (void)co_await stream->write(asio::buffer(head));
        std::string interim(25, '\0');
        REQUIRE((co_await stream->read_exactly(asio::buffer(interim))).has_value());
        CHECK(interim == "HTTP/1.1 100 Continue\r\n\r\n");
        (void)co_await stream->write(asio::buffer("abc", 3));
        std::string got;
        std::array<char, 1024> buffer;
        while (parse_responses(got).empty()) {
            auto n = co_await stream->read_some(asio::buffer(buffer));
            REQUIRE(n.has_value());
            got.append(buffer.data(), *n);
        }
        co_return parse_responses(got)[0].body;
    }(s.srv->port()));
    CHECK(body == "streamed=1 bytes=3 sum=294");
}

TEST_CASE("an unread streamed body closes the connection, a buffered leftover does not")
{
    upload_server s;
    const std::string big = pattern(2 * 1024 * 1024);
    auto closed =
        exchange(s.srv->port(),
                 "POST /upload-ignore HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(big.size()) +
                     "\r\n\r\n" + big.substr(0, 1000),
                 1, true);
    REQUIRE(closed.responses.size() == 1);
    CHECK(closed.responses[0].headers.at("connection") == "close");
    CHECK(closed.closed_by_server);

    auto kept = exchange(s.srv->port(),
                         "POST /upload-ignore HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                         "GET /upload-ignore HTTP/1.1\r\nHost: x\r\n\r\n",
                         2);
    REQUIRE(kept.responses.size() == 2);
    CHECK(kept.responses[0].headers.count("connection") == 0);
}

TEST_CASE("read_all_body and its limit, buffered bodies read through read_body too")
{
    upload_server s;
    auto ok = exchange(s.srv->port(),
                       "POST /upload-all HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789");
    REQUIRE(ok.responses.size() == 1);
    CHECK(ok.responses[0].body == "all=10");
    const std::string two_mib = pattern(2 * 1024 * 1024);
    auto too_big =
        exchange(s.srv->port(),
                 "POST /upload-all HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(two_mib.size()) +
                     "\r\n\r\n" + two_mib,
                 1, true);
    REQUIRE(too_big.responses.size() == 1);
    CHECK(too_big.responses[0].status == 413);

    auto over_stream_limit = exchange(s.srv->port(),
                                      "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                          std::to_string(std::uint64_t{1} << 40) + "\r\n\r\n",
                                      1, true);
    REQUIRE(over_stream_limit.responses.size() == 1);
    CHECK(over_stream_limit.responses[0].status == 413);
}
