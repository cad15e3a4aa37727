#pragma once
// covet::http::server: HTTP/1.1 on the covet::net runtime. One SO_REUSEPORT
// acceptor per worker; a connection lives on one worker; the handler is a
// coroutine `task<response>(request&)`.
//
// What the server does for every connection: keep-alive and HTTP/1.0 rules,
// pipelining (responses in order; all responses to requests already received
// go out in one gather write), Expect: 100-continue, HEAD without a body,
// precise error statuses for malformed input (then close), limits and
// timeouts (slowloris), max connections with a 503, and a graceful stop that
// closes idle keep-alive connections and lets in-flight requests finish.

#include <covet/base/result.hpp>
#include <covet/http/compression.hpp>
#include <covet/http/parser.hpp>
#include <covet/http/request.hpp>
#include <covet/http/response.hpp>
#include <covet/net/listener.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/task.hpp>
#include <covet/net/tls.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace covet::http {

/// HTTP/2 (RFC 9113) settings and limits. Cleartext connections that start
/// with the connection preface ("prior knowledge") speak HTTP/2.
struct http2_options {
    bool enabled = true;
    /// SETTINGS_MAX_CONCURRENT_STREAMS announced to the client.
    std::uint32_t max_concurrent_streams = 100;
    /// SETTINGS_INITIAL_WINDOW_SIZE: request body bytes a stream may send
    /// before the handler consumed them.
    std::uint32_t initial_window_size = 256 * 1024;
    /// Receive window of the whole connection (sum over its streams).
    std::uint32_t connection_window_size = 1024 * 1024;
    /// SETTINGS_MAX_FRAME_SIZE (16 KiB to 16 MiB - 1).
    std::uint32_t max_frame_size = 16 * 1024;
    /// SETTINGS_MAX_HEADER_LIST_SIZE: decoded request header bytes (RFC 9113
    /// 6.5.2 counting: name + value + 32 per field); larger → stream reset.
    std::uint32_t max_header_list_size = 64 * 1024;
    /// SETTINGS_HEADER_TABLE_SIZE: the HPACK dynamic table the client may use.
    std::uint32_t header_table_size = 4096;

    // Abuse limits; past one the connection ends with GOAWAY(ENHANCE_YOUR_CALM).
    // Rates are token buckets: `burst` at once, then `per_second` on average.
    /// Streams reset by the client, or by the server for exceeding a limit
    /// (rapid reset, CVE-2023-44487; HPACK bombs).
    std::uint32_t reset_burst = 1000;
    std::uint32_t resets_per_second = 33;
    /// PING and SETTINGS frames (ping/settings flood).
    std::uint32_t control_frame_burst = 1000;
    std::uint32_t control_frames_per_second = 100;
    /// CONTINUATION frames after one HEADERS frame (CONTINUATION flood, CVE-2024-27316).
    std::uint32_t max_continuations = 8;
    /// Entries in one SETTINGS frame.
    std::uint32_t max_settings_entries = 32;
    /// Request content buffered by one connection (over all its streams)
    /// before the server stops acknowledging more with WINDOW_UPDATE (except
    /// for the oldest incomplete body); beyond it each stream is held to its
    /// initial window.
    std::size_t max_buffered_body_per_connection = 16 * 1024 * 1024;
};

struct server_options {
    net::listen_options listen{};
    parser_limits limits{};
    /// Time to receive a whole request head once its first byte arrived (slowloris) → 408.
    std::chrono::milliseconds header_timeout{10'000};
    /// Longest pause while receiving a request body → 408.
    std::chrono::milliseconds body_timeout{30'000};
    /// Idle time between requests on a keep-alive connection before it is closed.
    std::chrono::milliseconds keep_alive_timeout{60'000};
    /// Longest time to write one batch of responses.
    std::chrono::milliseconds write_timeout{30'000};
    /// Open connections per worker; more are answered 503 and closed.
    std::size_t max_connections_per_worker = 10'000;
    /// Server header value; empty omits the header.
    std::string server_name = "covet";
    /// gzip/deflate for compressible responses when the client accepts it (off by default).
    compression_options compression{};
    /// Called once the head of a request with a body has arrived (its body()
    /// is still empty); true hands the body to the handler as a stream
    /// (request::read_body), limited by limits.max_streamed_body, instead of
    /// buffering it up to limits.max_body. Unset: every body is buffered.
    std::function<bool(const request&)> stream_body_if{};
    /// HTTP/2 settings and limits.
    http2_options http2{};
    /// Optional synchronous fast path, tried before the handler: true when it
    /// answered the request (`out` set) without suspending, false (nothing
    /// set) to run the handler as usual. covet::web sets it for endpoints
    /// that are plain functions without middleware: no coroutine frames.
    std::function<bool(request&, std::optional<response>& out)> handle_now{};
    /// Serve HTTPS on this port: every connection starts with a TLS
    /// handshake; ALPN "h2" selects HTTP/2, anything else HTTP/1.1. Make the
    /// context with tls_context::server(cert, key, {"h2", "http/1.1"}).
    std::optional<net::tls_context> tls{};
};

/// Handles one request. Called on the connection's worker thread.
using handler = std::function<task<response>(request&)>;

class server {
public:
    /// Binds (errors returned here) and starts serving on every worker of `rt`.
    static result<server> start(net::runtime& rt, server_options options, handler h);

    std::uint16_t port() const noexcept;
    /// Stops accepting; open connections are served until they close.
    void stop();

    /// Counters over all workers (relaxed atomics; for tests and metrics).
    std::uint64_t connections_accepted() const noexcept;
    std::uint64_t requests_handled() const noexcept;

    struct state;  // implementation detail

private:
    // The listener's handler owns the state; the state does not own the
    // listener, so there is no cycle.
    server(std::shared_ptr<state> s, net::listener l) noexcept : state_(std::move(s)), listener_(std::move(l))
    {
    }
    std::shared_ptr<state> state_;
    net::listener listener_;
};

}  // namespace covet::http
