#include "http_test_support.hpp"

#include <covet/http/client.hpp>

#include <doctest/doctest.h>

using namespace covet::http;
using namespace covet::http::testing;
using covet::task;

TEST_CASE("streamed responses are chunked on HTTP/1.1 and the connection stays usable")
{
    test_server s;
    auto raw = exchange(s.port(), "GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 1, true);
    CHECK(raw.bytes.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(raw.bytes.find("Content-Length") == std::string::npos);
    CHECK(raw.bytes.find("\r\n\r\n4\r\none \r\n4\r\ntwo \r\n5\r\nthree\r\n0\r\n\r\n") != std::string::npos);

    covet::net::block_on([](std::uint16_t port) -> task<void> {
        client c;
        const std::string base = "http://127.0.0.1:" + std::to_string(port);
        auto streamed = co_await c.get(base + "/stream");
        REQUIRE_MESSAGE(streamed.has_value(), streamed.error().message());
        CHECK(streamed->body == "one two three");
        auto after = co_await c.get(base + "/hello");  // same keep-alive connection
        REQUIRE(after.has_value());
        CHECK(after->body == "Hello, World!");
        CHECK(c.connections_opened() == 1);
    }(s.port()));
}

TEST_CASE("streamed responses on HTTP/1.0 end with the connection")
{
    test_server s;
    auto raw = exchange(s.port(), "GET /stream HTTP/1.0\r\n\r\n", 1, true);
    CHECK(raw.closed_by_server);
    CHECK(raw.bytes.find("Transfer-Encoding") == std::string::npos);
    CHECK(raw.bytes.find("Connection: close\r\n") != std::string::npos);
    CHECK(raw.bytes.substr(raw.bytes.size() - 13) == "one two three");
}

TEST_CASE("server-sent events")
{
    test_server s;
    covet::net::block_on([](std::uint16_t port) -> task<void> {
        client c;
        auto events = co_await c.get("http://127.0.0.1:" + std::to_string(port) + "/events");
        REQUIRE(events.has_value());
        CHECK(events->header("content-type") == "text/event-stream");
        CHECK(events->header("cache-control") == "no-cache");
        CHECK(events->body == "event: greeting\nid: 1\ndata: hello\n\ndata: line one\ndata: line two\n\n");
    }(s.port()));
    std::string out;
    append_event(out, "a\r\nb\rc", "ev\nil", "i\rd");
    CHECK(out == "event: evil\nid: id\ndata: a\ndata: b\ndata: c\n\n");
}

TEST_CASE("HEAD of a streamed response sends the head only, a failing producer truncates")
{
    test_server s;
    auto head = exchange(s.port(), {"HEAD /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}, 1, true,
                         {}, 5s, true);
    CHECK(head.bytes.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK(head.bytes.substr(head.bytes.size() - 4) == "\r\n\r\n");

    covet::net::block_on([](std::uint16_t port) -> task<void> {
        client c;
        auto broken = co_await c.get("http://127.0.0.1:" + std::to_string(port) + "/stream-throw");
        CHECK(broken.error() == client_error::truncated_response);
    }(s.port()));
}
