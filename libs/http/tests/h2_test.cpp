// HTTP/2 over real sockets: curl and nghttp (Debian nghttp2-client) against
// the server, the same handler as HTTP/1.1.

#include "h2_test_support.hpp"

#include <doctest/doctest.h>

using namespace covet::http;
using namespace covet::http::testing;

TEST_CASE("h2c prior knowledge: curl gets the same response as over HTTP/1.1")
{
    h2_server s;
    auto r =
        run_command("curl -s --http2-prior-knowledge --max-time 10 -w ' %{http_version} %{response_code}' " +
                    s.url("/hello"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == "Hello, World! 2 200");

    auto headers =
        run_command("curl -s -D - -o /dev/null --http2-prior-knowledge --max-time 10 " + s.url("/hello"));
    REQUIRE(headers.status == 0);
    CHECK(headers.output.rfind("HTTP/2 200", 0) == 0);
    CHECK(headers.output.find("content-type: text/plain; charset=utf-8") != std::string::npos);
    CHECK(headers.output.find("content-length: 13") != std::string::npos);
    CHECK(headers.output.find("server: covet") != std::string::npos);
    CHECK(headers.output.find("date: ") != std::string::npos);
    CHECK(headers.output.find("x-custom: Value") != std::string::npos);

    // Host comes from :authority; the handler saw method and query as usual.
    auto host = run_command("curl -s --http2-prior-knowledge --max-time 10 " + s.url("/host?q=a%20b"));
    CHECK(host.output == "127.0.0.1:" + std::to_string(s.port()) + " GET a b");

    // HTTP/1.1 still works on the same port.
    auto plain = run_command("curl -s --http1.1 --max-time 10 -w ' %{http_version}' " + s.url("/hello"));
    CHECK(plain.output == "Hello, World! 1.1");
}

TEST_CASE("h2c: request bodies, buffered and streamed, 10 MiB each way")
{
    h2_server s;
    auto echo = run_command("curl -s --http2-prior-knowledge --max-time 10 --data-binary 'posted by curl' " +
                            s.url("/echo"));
    REQUIRE(echo.status == 0);
    CHECK(echo.output == "POST posted by curl");

    temp_file upload(10 * 1024 * 1024);
    for (const char* path : {"/size", "/streamed/size"}) {
        auto r = run_command("curl -s --http2-prior-knowledge --max-time 30 --data-binary @" + upload.path +
                             " " + s.url(path));
        REQUIRE_MESSAGE(r.status == 0, path);
        CHECK_MESSAGE(r.output == std::to_string(upload.size) + " " + std::to_string(upload.checksum), path);
    }

    auto big = run_command(
        "curl -s --http2-prior-knowledge --max-time 30 -o /dev/null "
        "-w '%{size_download} %{http_version}' " +
        s.url("/big?n=10485760"));
    REQUIRE(big.status == 0);
    CHECK(big.output == "10485760 2");
}

TEST_CASE("h2c: file, streamed and HEAD responses")
{
    h2_server s;
    auto file = run_command("curl -s --http2-prior-knowledge --max-time 10 " + s.url("/file") + " | cksum");
    REQUIRE(file.status == 0);
    auto expected = run_command("cksum < " + s.file.path);
    CHECK(file.output == expected.output);

    auto streamed = run_command("curl -s --http2-prior-knowledge --max-time 10 " + s.url("/stream"));
    CHECK(streamed.output == "one two three");

    auto head = run_command("curl -s -I --http2-prior-knowledge --max-time 10 " + s.url("/hello"));
    CHECK(head.output.rfind("HTTP/2 200", 0) == 0);
    CHECK(head.output.find("content-length: 13") != std::string::npos);

    auto missing = run_command("curl -s --http2-prior-knowledge --max-time 10 -w ' %{response_code}' " +
                               s.url("/nowhere"));
    CHECK(missing.output == "Not Found\n 404");
    auto thrown = run_command("curl -s --http2-prior-knowledge --max-time 10 -w ' %{response_code}' " +
                              s.url("/throw"));
    CHECK(thrown.output == "Internal Server Error\n 500");
}

TEST_CASE("h2c: large request headers within the limit")
{
    h2_server s;
    const std::string value(32 * 1024, 'h');
    auto r = run_command("curl -s --http2-prior-knowledge --max-time 10 -H 'X-Big: " + value + "' " +
                         s.url("/header-size"));
    REQUIRE(r.status == 0);
    CHECK(r.output == std::to_string(value.size()));
}

TEST_CASE("h2c: nghttp multiplexes 100 streams on one connection, handled concurrently")
{
    h2_server s;
    const auto before = s.srv->requests_handled();
    auto r = run_command("nghttp -m 100 -t 20 " + s.url("/concurrent"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == std::string(100, 'c'));
    CHECK(s.srv->requests_handled() - before == 100);
    CHECK(s.srv->connections_accepted() == 1);
    // Each handler sleeps 100 ms: all of them were in flight together.
    CHECK(max_in_flight.load() >= 50);
}

TEST_CASE("h2c: nghttp sends a POST body and reads a streamed response")
{
    h2_server s;
    temp_file upload(1024 * 1024);
    auto r = run_command("nghttp -t 20 -d " + upload.path + " " + s.url("/size"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == std::to_string(upload.size) + " " + std::to_string(upload.checksum));
    auto streamed = run_command("nghttp -t 20 " + s.url("/stream"));
    CHECK(streamed.output == "one two three");
}

TEST_CASE("TLS: ALPN h2 and http/1.1 on the same port")
{
    h2_server s({}, true);
    auto h2 = run_command("curl -sk --http2 --max-time 10 -w ' %{http_version}' " + s.url("/hello"));
    REQUIRE_MESSAGE(h2.status == 0, h2.output);
    CHECK(h2.output == "Hello, World! 2");

    auto h1 = run_command("curl -sk --http1.1 --max-time 10 -w ' %{http_version}' " + s.url("/hello"));
    REQUIRE(h1.status == 0);
    CHECK(h1.output == "Hello, World! 1.1");

    // File bodies: pread + write over TLS for HTTP/1.1, DATA frames for h2.
    auto expected = run_command("cksum < " + s.file.path);
    for (const char* version : {"--http1.1", "--http2"}) {
        auto file =
            run_command(std::string("curl -sk --max-time 10 ") + version + " " + s.url("/file") + " | cksum");
        CHECK_MESSAGE(file.output == expected.output, version);
    }
    auto posted = run_command("curl -sk --http2 --max-time 10 --data-binary 'over tls' " + s.url("/echo"));
    CHECK(posted.output == "POST over tls");

    // nghttp negotiates h2 with ALPN (it does not verify the certificate).
    auto multiplexed = run_command("nghttp -m 20 -t 20 " + s.url("/concurrent"));
    REQUIRE_MESSAGE(multiplexed.status == 0, multiplexed.output);
    CHECK(multiplexed.output == std::string(20, 'c'));

    // A plaintext client on the TLS port gets nowhere, and the server lives on.
    auto plain = run_command("curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                             std::to_string(s.port()) + "/hello");
    CHECK(plain.output != "200");
    auto again = run_command("curl -sk --http2 --max-time 10 " + s.url("/hello"));
    CHECK(again.output == "Hello, World!");
}

TEST_CASE("h2c upgrade from HTTP/1.1: the upgrading request is answered as stream 1")
{
    h2_server s;
    auto r = run_command("curl -s --http2 --max-time 10 -w ' %{http_version}' " + s.url("/host?q=up"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == "127.0.0.1:" + std::to_string(s.port()) + " GET up 2");

    auto verbose = run_command("curl -sv --http2 --max-time 10 " + s.url("/hello") + " 2>&1");
    CHECK(verbose.output.find("HTTP/1.1 101 Switching Protocols") != std::string::npos);
    CHECK(verbose.output.find("HTTP/2 200") != std::string::npos);

    // nghttp -u upgrades, then multiplexes more streams on the same connection.
    auto multi = run_command("nghttp -u -m 10 -t 20 " + s.url("/concurrent"));
    REQUIRE_MESSAGE(multi.status == 0, multi.output);
    CHECK(multi.output == std::string(10, 'c'));

    // The request body of the upgrading request reaches the handler.
    auto posted = run_command("nghttp -u -t 20 -d " + s.file.path + " " + s.url("/size"));
    REQUIRE_MESSAGE(posted.status == 0, posted.output);
    CHECK(posted.output.rfind(std::to_string(s.file.size) + " ", 0) == 0);
}
