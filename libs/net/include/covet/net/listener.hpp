#pragma once
// Listening for TCP connections on every worker of a runtime.
//
// With reuse_port (the default) each worker owns an SO_REUSEPORT acceptor on
// the same port and the kernel spreads connections over them; a connection
// then lives on the worker that accepted it. Without reuse_port one acceptor on
// worker 0 hands accepted sockets to the workers round-robin.

#include <covet/base/result.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/task.hpp>

#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace covet::net {

struct listen_options {
    /// "0.0.0.0", "127.0.0.1", "::" (dual-stack unless v6_only), "::1", ...
    std::string address = "0.0.0.0";
    /// 0 picks a free port; see listener::port().
    std::uint16_t port = 0;
    /// listen(2) backlog; the kernel caps it at net.core.somaxconn.
    int backlog = 4096;
    /// One SO_REUSEPORT acceptor per worker (true) or one shared acceptor (false).
    bool reuse_port = true;
    /// Disable Nagle on accepted sockets.
    bool no_delay = true;
    /// For IPv6 addresses: accept only IPv6 (no v4-mapped connections).
    bool v6_only = false;
    /// Timeouts set on every accepted stream.
    stream_timeouts timeouts{};
};

/// Handles one accepted connection; runs as a tracked task on the accepting worker.
using connection_handler = std::function<task<void>(tcp_stream)>;

/// A running listener. Copies refer to the same listener; it keeps accepting
/// until stop() or the runtime's graceful stop, even if every copy is gone.
class listener {
public:
    /// Binds and listens on every worker (errors such as address_in_use are
    /// returned here, synchronously), then starts the accept loops.
    static result<listener> start(runtime& rt, listen_options options, connection_handler handler);

    /// The bound port (useful with options.port == 0).
    std::uint16_t port() const noexcept;
    asio::ip::tcp::endpoint local_endpoint() const;
    /// Connections accepted so far (all workers).
    std::uint64_t accepted() const noexcept;
    /// Closes the acceptors: new connections are refused, accepted ones go on.
    /// Thread-safe, idempotent.
    void stop();

    struct state;  // implementation detail, defined in listener.cpp

private:
    explicit listener(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
    std::shared_ptr<state> state_;
};

}  // namespace covet::net
