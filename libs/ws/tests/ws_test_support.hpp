#pragma once
// A covet::http server with WebSocket endpoints for the tests, and raw-socket
// helpers to send exactly the bytes a test wants.

#include <covet/http/server.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/timer.hpp>
#include <covet/ws/client.hpp>
#include <covet/ws/handshake.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>

namespace covet::ws::testing {

using namespace std::chrono_literals;

// Reads into one message (read(message&)); the clients of the tests read()
// by value, so both ways are exercised.
inline task<void> echo_loop(connection conn)
{
    message msg;
    for (;;) {
        auto got = co_await conn.read(msg);
        if (!got) {
            break;
        }
        auto sent = co_await conn.send(msg.type, msg.data);
        if (!sent) {
            break;
        }
    }
}

/// Fragment `part` of the /stream-deflate message: repetitive, so it compresses well.
inline std::string streamed_part(int part)
{
    std::string text;
    for (int i = 0; i < 500; ++i) {
        text += "fragment " + std::to_string(part) + " of one streamed message, ";
    }
    return text;
}

/// Messages of /burst: 20 MiB in all, more than the sockets' buffers hold.
constexpr int burst_count = 2000;

/// Message `i` of /burst: 10 KiB, different for every i.
inline std::string burst_message(int i)
{
    std::string text = "burst " + std::to_string(i) + " ";
    text.resize(10 * 1024, static_cast<char>('a' + i % 26));
    return text;
}

struct server_counters {
    std::atomic<int> closed_with{0};
    std::atomic<int> dead_peers{0};
    std::atomic<int> dropped{0};
    std::atomic<int> ended{0};
};

inline task<http::response> route(http::request& req, std::shared_ptr<server_counters> counters)
{
    const std::string_view path = req.path();
    accept_options options;
    if (path == "/echo") {
        co_return accept(req, options, echo_loop);
    }
    if (path == "/deflate") {
        options.deflate.enabled = true;
        options.deflate.min_size = 0;
        co_return accept(req, options, echo_loop);
    }
    if (path == "/proto") {
        options.subprotocols = {"chat.v2", "chat.v1"};
        co_return accept(req, options, [](connection conn) -> task<void> {
            auto sent = co_await conn.send_text(std::string(conn.subprotocol()));
            (void)sent;
            co_await echo_loop(conn);
        });
    }
    if (path == "/eof") {
        // A short close_timeout makes the sweeper run every 100 ms.
        options.connection.close_timeout = 400ms;
        co_return accept(req, options, [counters](connection conn) -> task<void> {
            co_await echo_loop(conn);
            counters->ended++;
        });
    }
    if (path == "/burst") {
        // send() of 10 KiB messages to a client that reads late: the socket
        // fills, sends go out in part and the rest waits its turn.
        co_return accept(req, options, [counters](connection conn) -> task<void> {
            for (int i = 0; i < burst_count; ++i) {
                const std::string payload = burst_message(i);
                auto sent = co_await conn.send_binary(payload);
                if (!sent) {
                    break;
                }
            }
            co_await echo_loop(conn);
            counters->ended++;
        });
    }
    if (path == "/origin") {
        options.check_origin = [](std::string_view origin) { return origin == "https://good.example"; };
        co_return accept(req, options, echo_loop);
    }
    if (path == "/small") {
        options.connection.max_message_size = 100;
        co_return accept(req, options, echo_loop);
    }
    if (path == "/server-closes") {
        co_return accept(req, options, [counters](connection conn) -> task<void> {
            auto closed = co_await conn.close(4001, "server says bye");
            (void)closed;
            counters->closed_with = conn.close_code();
            counters->ended++;
        });
    }
    if (path == "/ping") {
        options.connection.ping_interval = 100ms;
        co_return accept(req, options, [counters](connection conn) -> task<void> {
            auto msg = co_await conn.read();
            if (!msg && msg.error() == make_error_code(error::dead_peer)) {
                counters->dead_peers++;
            }
            counters->ended++;
        });
    }
    if (path == "/flood") {
        // Posts 1 KiB messages to a client that does not read; the queue is small.
        options.connection.send_queue_limit = 64 * 1024;
        options.connection.when_full = full_queue_policy::drop;
        co_return accept(req, options, [counters](connection conn) -> task<void> {
            auto payload = std::make_shared<const std::string>(1024, 'f');
            int dropped = 0;
            for (int i = 0; i < 20000 && dropped == 0; ++i) {
                auto posted = conn.post(message_type::binary, payload);
                if (!posted && posted.error() == make_error_code(error::queue_full)) {
                    ++dropped;
                }
                if (i % 64 == 0) {
                    co_await net::sleep_for(1ms);
                }
            }
            counters->dropped = dropped;
            CHECK(conn.queued_bytes() <= 64 * 1024 + 1024);
            auto closed = co_await conn.close(1001, "done");
            (void)closed;
            counters->ended++;
        });
    }
    if (path == "/flood-close") {
        // The same flood under the close policy: the first post that does not
        // fit fails the connection with 1008, and later sends find it closed.
        options.connection.send_queue_limit = 64 * 1024;
        options.connection.when_full = full_queue_policy::close;
        co_return accept(req, options, [counters](connection conn) -> task<void> {
            auto payload = std::make_shared<const std::string>(1024, 'f');
            for (int i = 0; i < 20000; ++i) {
                auto posted = conn.post(message_type::binary, payload);
                if (!posted) {
                    if (posted.error() == make_error_code(error::policy_violation)) {
                        counters->dropped++;
                    }
                    break;
                }
                if (i % 64 == 0) {
                    co_await net::sleep_for(1ms);
                }
            }
            CHECK_FALSE(conn.is_open());
            CHECK(conn.close_code() == close_code::policy_violation);
            auto late = co_await conn.send_binary("too late");
            CHECK(late.error() == make_error_code(error::not_open));
            auto msg = co_await conn.read();  // ends with the failed connection
            CHECK_FALSE(msg.has_value());
            counters->ended++;
        });
    }
    if (path == "/stream") {
        co_return accept(req, options, [](connection conn) -> task<void> {
            auto a = co_await conn.send_fragment(message_type::text, "part one, ", false);
            auto mixed = co_await conn.send_text("not now");
            CHECK(mixed.error() == make_error_code(error::invalid_argument));
            auto b = co_await conn.send_fragment(message_type::text, "part two, ", false);
            auto c = co_await conn.send_fragment(message_type::text, "end", true);
            CHECK((a && b && c));
            co_await echo_loop(conn);
        });
    }
    if (path == "/stream-deflate") {
        // A streamed message under permessage-deflate: one compressed stream over three fragments.
        options.deflate.enabled = true;
        co_return accept(req, options, [](connection conn) -> task<void> {
            for (int part = 0; part < 3; ++part) {
                auto sent = co_await conn.send_fragment(message_type::text, streamed_part(part), part == 2);
                CHECK(sent.has_value());
            }
            co_await echo_loop(conn);
        });
    }
    co_return http::response::text("not a websocket endpoint", http::status::not_found);
}

struct ws_server {
    explicit ws_server(std::size_t threads = 1) : rt(runtime_options(threads))
    {
        http::server_options options;
        options.listen.address = "127.0.0.1";
        auto c = counters;
        auto s = http::server::start(rt, options, [c](http::request& req) { return route(req, c); });
        REQUIRE(s.has_value());
        srv.emplace(std::move(*s));
        rt.start();
    }
    ~ws_server()
    {
        rt.request_stop();
        rt.join();
    }
    static net::runtime_options runtime_options(std::size_t threads)
    {
        net::runtime_options o;
        o.threads = threads;
        o.offload_threads = 1;
        o.handle_signals = false;
        o.stop_timeout = 2s;
        return o;
    }
    std::uint16_t port() const { return srv->port(); }
    std::string url(std::string_view path) const
    {
        return "ws://127.0.0.1:" + std::to_string(port()) + std::string(path);
    }

    std::shared_ptr<server_counters> counters = std::make_shared<server_counters>();
    net::runtime rt;
    std::optional<http::server> srv;
};

/// Runs a test body coroutine to completion (bounded by `limit`).
template <class F>
void run_client(F body, std::chrono::milliseconds limit = 10s)
{
    net::block_on([](F b, std::chrono::milliseconds l) -> task<void> {
        auto outcome = co_await net::with_timeout(b(), l);
        REQUIRE_MESSAGE(outcome.has_value(), "client coroutine timed out");
    }(std::move(body), limit));
}

/// Sends `request` on a fresh TCP connection and returns everything read until
/// the server closes or `quiet` passes without data.
inline task<std::string> raw_exchange(std::uint16_t port, std::string request,
                                      std::chrono::milliseconds quiet = 500ms)
{
    auto stream = co_await net::connect("127.0.0.1", port);
    REQUIRE(stream.has_value());
    stream->set_timeouts({quiet, 2s});
    auto written = co_await stream->write(asio::buffer(request));
    REQUIRE(written.has_value());
    std::string received;
    std::array<char, 4096> chunk;
    for (;;) {
        auto n = co_await stream->read_some(asio::buffer(chunk));
        if (!n) {
            break;
        }
        received.append(chunk.data(), *n);
    }
    co_return received;
}

inline std::string upgrade_request(std::string_view path, std::string_view extra = {})
{
    std::string r = "GET ";
    r += path;
    r += " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    r += extra;
    r += "\r\n";
    return r;
}

/// A client frame (masked) as raw bytes.
inline std::string client_frame(opcode op, std::string_view payload, bool fin = true, bool rsv1 = false)
{
    frame_header h;
    h.fin = fin;
    h.op = op;
    h.rsv1 = rsv1;
    h.masked = true;
    h.mask = {0x11, 0x22, 0x33, 0x44};
    h.payload_length = payload.size();
    std::string out(max_header_size, '\0');
    out.resize(write_header(reinterpret_cast<std::uint8_t*>(out.data()), h));
    const std::size_t at = out.size();
    out.append(payload);
    apply_mask(reinterpret_cast<std::uint8_t*>(out.data()) + at, payload.size(), h.mask);
    return out;
}

}  // namespace covet::ws::testing
