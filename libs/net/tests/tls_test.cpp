#include "net_test_support.hpp"

#include <covet/net/any_stream.hpp>
#include <covet/net/listener.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/net/tls.hpp>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>

using namespace std::chrono_literals;
using covet::task;
using covet::net::block_on;
using covet::net::tcp_stream;
using covet::net::tls_context;
using covet::net::tls_stream;
using covet::net::testing::background_runtime;
using covet::net::testing::eventually;

namespace {

struct tls_fixture {
    tls_fixture()
    {
        auto cert = covet::net::make_self_signed_certificate("localhost");
        REQUIRE(cert.has_value());
        certificate = *cert;
    }
    covet::net::self_signed_certificate certificate;
};

// A TLS echo server whose connections report the negotiated ALPN protocol.
covet::net::listener start_tls_echo(covet::net::runtime& rt, tls_context server, std::string& alpn_seen,
                                    std::atomic<int>& handshakes_failed)
{
    auto l =
        covet::net::listener::start(rt, {.address = "127.0.0.1", .timeouts = {.read = 5s, .write = 5s}},
                                    [server, &alpn_seen, &handshakes_failed](tcp_stream tcp) -> task<void> {
                                        tls_stream stream(std::move(tcp), server);
                                        if (!co_await stream.handshake_server()) {
                                            ++handshakes_failed;
                                            co_return;
                                        }
                                        alpn_seen = std::string(stream.alpn_protocol());
                                        // Echo through the type-erased stream, as upgraded protocols do.
                                        covet::net::any_stream erased(std::move(stream));
                                        std::array<char, 4096> buffer;
                                        for (;;) {
                                            auto n = co_await erased.read_some(asio::buffer(buffer));
                                            if (!n) {
                                                co_return;
                                            }
                                            if (!co_await erased.write(asio::buffer(buffer.data(), *n))) {
                                                co_return;
                                            }
                                        }
                                    });
    REQUIRE(l.has_value());
    return *l;
}

// Connects to 127.0.0.1 (no DNS in the test sandbox) and verifies the server
// as `server_name`.
task<covet::result<std::string>> tls_round_trip(std::string server_name, std::uint16_t port,
                                                tls_context client, std::string message,
                                                std::string* alpn = nullptr)
{
    auto tcp = co_await covet::net::connect("127.0.0.1", port, {.timeout = 5s});
    if (!tcp) {
        co_return tcp.error();
    }
    auto stream = std::make_unique<tls_stream>(std::move(*tcp), client);
    auto handshake = co_await stream->handshake_client(server_name);
    if (!handshake) {
        co_return handshake.error();
    }
    if (alpn != nullptr) {
        *alpn = std::string(stream->alpn_protocol());
    }
    auto w = co_await stream->write(asio::buffer(message));
    if (!w) {
        co_return w.error();
    }
    std::string reply(message.size(), '\0');
    auto r = co_await stream->read_exactly(asio::buffer(reply));
    if (!r) {
        co_return r.error();
    }
    auto closed = co_await stream->shutdown();
    if (!closed) {
        co_return closed.error();
    }
    co_return reply;
}

}  // namespace

TEST_CASE_FIXTURE(tls_fixture, "TLS echo with a self-signed certificate and ALPN h2")
{
    background_runtime bg;
    auto server =
        tls_context::server(certificate.certificate_pem, certificate.private_key_pem, {"h2", "http/1.1"});
    REQUIRE(server.has_value());
    auto client = tls_context::client({.verify_peer = true,
                                       .ca_certificates_pem = certificate.certificate_pem,
                                       .alpn = {"h2", "http/1.1"}});
    REQUIRE(client.has_value());
    std::string server_alpn;
    std::atomic<int> failed{0};
    auto l = start_tls_echo(bg.rt, *server, server_alpn, failed);

    std::string client_alpn;
    auto reply = block_on(tls_round_trip("localhost", l.port(), *client, "secret message", &client_alpn));
    REQUIRE_MESSAGE(reply.has_value(), reply.error().message());
    CHECK(*reply == "secret message");
    CHECK(client_alpn == "h2");
    CHECK(eventually([&] { return server_alpn == "h2"; }));
    CHECK(failed == 0);

    // Verification by IP address uses the certificate's IP subjectAltName.
    auto by_ip = block_on(tls_round_trip("127.0.0.1", l.port(), *client, "by ip"));
    REQUIRE_MESSAGE(by_ip.has_value(), by_ip.error().message());
    CHECK(*by_ip == "by ip");

    // connect_tls: resolve, connect and handshake in one call.
    auto direct = block_on([](std::uint16_t port, tls_context ctx) -> task<covet::result<std::string>> {
        auto s = co_await covet::net::connect_tls("localhost", port, ctx, {.timeout = 5s});
        if (!s) {
            co_return s.error();
        }
        co_return std::string(s->alpn_protocol());
    }(l.port(), *client));
    REQUIRE_MESSAGE(direct.has_value(), direct.error().message());
    CHECK(*direct == "h2");
}

TEST_CASE_FIXTURE(tls_fixture, "ALPN falls back to the client's only common protocol, or none")
{
    background_runtime bg;
    auto server =
        tls_context::server(certificate.certificate_pem, certificate.private_key_pem, {"h2", "http/1.1"});
    REQUIRE(server.has_value());
    std::string server_alpn;
    std::atomic<int> failed{0};
    auto l = start_tls_echo(bg.rt, *server, server_alpn, failed);

    auto http1 =
        tls_context::client({.ca_certificates_pem = certificate.certificate_pem, .alpn = {"http/1.1"}});
    REQUIRE(http1.has_value());
    std::string negotiated;
    auto r1 = block_on(tls_round_trip("localhost", l.port(), *http1, "x", &negotiated));
    REQUIRE(r1.has_value());
    CHECK(negotiated == "http/1.1");

    auto none = tls_context::client({.ca_certificates_pem = certificate.certificate_pem});
    REQUIRE(none.has_value());
    auto r2 = block_on(tls_round_trip("localhost", l.port(), *none, "y", &negotiated));
    REQUIRE(r2.has_value());
    CHECK(negotiated.empty());
}

TEST_CASE_FIXTURE(tls_fixture, "certificate verification rejects an untrusted or misnamed server")
{
    background_runtime bg;
    auto server = tls_context::server(certificate.certificate_pem, certificate.private_key_pem);
    REQUIRE(server.has_value());
    std::string alpn;
    std::atomic<int> failed{0};
    auto l = start_tls_echo(bg.rt, *server, alpn, failed);

    // Not trusted: only the system store, which does not know our certificate.
    auto untrusting = tls_context::client({});
    REQUIRE(untrusting.has_value());
    auto r1 = block_on(tls_round_trip("localhost", l.port(), *untrusting, "x"));
    CHECK(!r1.has_value());

    // Trusted, but the name does not match the certificate.
    auto trusting = tls_context::client({.ca_certificates_pem = certificate.certificate_pem});
    REQUIRE(trusting.has_value());
    auto r2 = block_on(tls_round_trip("example.com", l.port(), *trusting, "x"));
    CHECK(!r2.has_value());
    CHECK_MESSAGE(eventually([&] { return failed == 2; }), failed.load());

    // Without verification the same connection succeeds.
    auto lax = tls_context::client({.verify_peer = false});
    REQUIRE(lax.has_value());
    auto r3 = block_on(tls_round_trip("example.com", l.port(), *lax, "ok"));
    REQUIRE_MESSAGE(r3.has_value(), r3.error().message());
    CHECK(*r3 == "ok");
}

TEST_CASE_FIXTURE(tls_fixture, "a TLS server handshake times out on a silent client")
{
    background_runtime bg;
    auto server = tls_context::server(certificate.certificate_pem, certificate.private_key_pem);
    REQUIRE(server.has_value());
    std::atomic<bool> timed_out{false};
    auto l = covet::net::listener::start(bg.rt, {.address = "127.0.0.1", .timeouts = {.read = 100ms}},
                                         [ctx = *server, &timed_out](tcp_stream tcp) -> task<void> {
                                             tls_stream stream(std::move(tcp), ctx);
                                             auto h = co_await stream.handshake_server();
                                             timed_out = (h.error() == covet::errc::timed_out);
                                         });
    REQUIRE(l.has_value());
    block_on([](std::uint16_t port) -> task<void> {
        auto stream = co_await covet::net::connect("127.0.0.1", port);
        REQUIRE(stream.has_value());
        co_await covet::net::sleep_for(400ms);  // say nothing
    }(l->port()));
    CHECK(eventually([&] { return timed_out.load(); }));
}

TEST_CASE("bad PEM input is an error value, not a crash")
{
    auto r = tls_context::server("not a certificate", "not a key");
    CHECK(!r.has_value());
    auto cert = covet::net::make_self_signed_certificate();
    REQUIRE(cert.has_value());
    auto other = covet::net::make_self_signed_certificate();
    REQUIRE(other.has_value());
    auto mismatched = tls_context::server(cert->certificate_pem, other->private_key_pem);
    CHECK(!mismatched.has_value());
    auto bad_alpn = tls_context::server(cert->certificate_pem, cert->private_key_pem, {""});
    CHECK(!bad_alpn.has_value());
}
