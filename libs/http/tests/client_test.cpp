#include "http_test_support.hpp"

#include <covet/http/client.hpp>
#include <covet/net/listener.hpp>
#include <covet/net/tls.hpp>

#include <doctest/doctest.h>

using namespace covet::http;
using namespace covet::http::testing;
using covet::task;

namespace {

// A raw server that answers every request head with `reply`, then closes if asked.
struct canned_server {
    canned_server(std::string reply, bool close_after, std::optional<covet::net::tls_context> tls = {})
        : rt(test_server::make_runtime_options(1))
    {
        auto l =
            covet::net::listener::start(rt, {.address = "127.0.0.1"},
                                        [reply, close_after, tls](covet::net::tcp_stream tcp) -> task<void> {
                                            if (tls) {
                                                covet::net::tls_stream s(std::move(tcp), *tls);
                                                if (co_await s.handshake_server()) {
                                                    co_await answer(s, reply, close_after);
                                                    (void)co_await s.shutdown();
                                                }
                                            } else {
                                                co_await answer(tcp, reply, close_after);
                                            }
                                        });
        REQUIRE(l.has_value());
        listener.emplace(*l);
        rt.start();
    }
    ~canned_server()
    {
        rt.request_stop();
        rt.join();
    }
    template <class Stream>
    static task<void> answer(Stream& s, std::string reply, bool close_after)
    {
        std::string got;
        std::array<char, 4096> buffer;
        for (;;) {
            while (got.find("\r\n\r\n") == std::string::npos) {
                auto n = co_await s.read_some(asio::buffer(buffer));
                if (!n) {
                    co_return;
                }
                got.append(buffer.data(), *n);
            }
            got.erase(0, got.find("\r\n\r\n") + 4);
            (void)co_await s.write(asio::buffer(reply));
            if (close_after) {
                co_return;
            }
        }
    }
    std::string url(std::string_view scheme = "http") const
    {
        return std::string(scheme) + "://127.0.0.1:" + std::to_string(listener->port()) + "/";
    }
    covet::net::runtime rt;
    std::optional<covet::net::listener> listener;
};

}  // namespace

TEST_CASE("client: GET, POST and HEAD against the covet server, reusing one connection")
{
    test_server s;
    covet::net::block_on([](std::uint16_t port, test_server& srv) -> task<void> {
        const std::string base = "http://127.0.0.1:" + std::to_string(port);
        client c;
        auto hello = co_await c.get(base + "/hello");
        REQUIRE_MESSAGE(hello.has_value(), hello.error().message());
        CHECK(hello->status_code == 200);
        CHECK(hello->status() == status::ok);
        CHECK(hello->reason == "OK");
        CHECK(hello->body == "Hello, World!");
        CHECK(hello->header("content-type") == "text/plain; charset=utf-8");

        auto echoed = co_await c.post(base + "/echo", "posted body", "text/plain");
        REQUIRE(echoed.has_value());
        CHECK(echoed->body == "posted body");
        CHECK(echoed->header("X-Method") == "POST");

        auto query = co_await c.get(base + "/query?q=a%2Bb");
        REQUIRE(query.has_value());
        CHECK(query->body == "a+b");

        client_request head_request{.method = method::head, .url = base + "/hello"};
        auto head = co_await c.send(std::move(head_request));
        REQUIRE(head.has_value());
        CHECK(head->header("content-length") == "13");
        CHECK(head->body.empty());

        auto missing = co_await c.get(base + "/nope");
        REQUIRE(missing.has_value());
        CHECK(missing->status_code == 404);

        CHECK(c.connections_opened() == 1);
        CHECK(srv.srv->connections_accepted() == 1);
        CHECK(c.idle_connections() == 1);
    }(s.port(), s));
}

TEST_CASE("client: a pooled connection the server closed is replaced transparently")
{
    server_options options;
    options.keep_alive_timeout = 100ms;
    test_server s(options);
    covet::net::block_on([](std::uint16_t port) -> task<void> {
        const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/hello";
        client c;
        auto first = co_await c.get(url);
        REQUIRE(first.has_value());
        co_await covet::net::sleep_for(300ms);  // the server drops the idle connection
        auto second = co_await c.get(url);
        REQUIRE_MESSAGE(second.has_value(), second.error().message());
        CHECK(second->body == "Hello, World!");
        CHECK(c.connections_opened() == 2);
    }(s.port()));
}

TEST_CASE("client: chunked, close-delimited and interim responses")
{
    canned_server chunked(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n",
        false);
    canned_server until_close("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", true);
    canned_server interim("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
                          false);
    covet::net::block_on([](std::string a, std::string b, std::string c3) -> task<void> {
        client c;
        auto r = co_await c.get(a);
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "hello, world");
        CHECK(c.idle_connections() == 1);

        auto r2 = co_await c.get(b);
        REQUIRE_MESSAGE(r2.has_value(), r2.error().message());
        CHECK(r2->body == "until the end");

        auto r3 = co_await c.post(c3, "x");
        REQUIRE(r3.has_value());
        CHECK(r3->status_code == 201);
        CHECK(r3->body == "ok");
    }(chunked.url(), until_close.url(), interim.url()));
}

TEST_CASE("client: errors are values")
{
    canned_server truncated("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", true);
    canned_server garbage("SMTP ready\r\n\r\n", true);
    canned_server big("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + std::string(100, 'x'), false);
    covet::net::block_on(
        [](std::string truncated_url, std::string garbage_url, std::string big_url) -> task<void> {
            client c;
            CHECK((co_await c.get("ftp://x/")).error() == client_error::bad_url);
            CHECK((co_await c.get("http:///nohost")).error() == client_error::bad_url);
            CHECK((co_await c.get("http://h:99999/")).error() == client_error::bad_url);
            CHECK((co_await c.get("http://user@h/")).error() == client_error::bad_url);
            client_request injected{.url = "http://127.0.0.1:1/"};
            injected.headers.emplace_back("X-Evil", "a\r\nInjected: yes");
            CHECK((co_await c.send(std::move(injected))).error() == client_error::bad_header);
            CHECK((co_await c.get(truncated_url)).error() == client_error::truncated_response);
            CHECK((co_await c.get(garbage_url)).error() == client_error::malformed_response);
            client small({.max_response_body = 10});
            CHECK((co_await small.get(big_url)).error() == client_error::response_too_large);
            auto refused = co_await c.get("http://127.0.0.1:1/");
            CHECK(refused.error() == std::errc::connection_refused);
        }(truncated.url(), garbage.url(), big.url()));
}

TEST_CASE("client: https with a verified self-signed certificate")
{
    auto cert = covet::net::make_self_signed_certificate("localhost");
    REQUIRE(cert.has_value());
    auto server_ctx = covet::net::tls_context::server(cert->certificate_pem, cert->private_key_pem);
    REQUIRE(server_ctx.has_value());
    canned_server tls("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure", false, *server_ctx);
    auto client_ctx = covet::net::tls_context::client({.ca_certificates_pem = cert->certificate_pem});
    REQUIRE(client_ctx.has_value());
    covet::net::block_on([](std::string url, covet::net::tls_context ctx) -> task<void> {
        client c({.tls = ctx});
        auto r = co_await c.get(url);
        REQUIRE_MESSAGE(r.has_value(), r.error().message());
        CHECK(r->body == "secure");
        auto again = co_await c.get(url);
        REQUIRE(again.has_value());
        CHECK(c.connections_opened() == 1);

        client untrusting;  // system store only: our certificate is unknown
        CHECK(!(co_await untrusting.get(url)).has_value());
    }(tls.url("https"), *client_ctx));
}
