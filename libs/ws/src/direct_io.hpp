#pragma once

// System calls made by covet::ws's hot path straight on a plain TCP socket,
// around Asio's asynchronous operations (internal to the library).
//
// Per echoed message Asio costs a receive, a send and a speculative receive
// that finds nothing (Asio tries to receive before waiting for readiness),
// and the send goes through a reactor operation and a posted completion.
// covet::net::send_now() sends without an operation; input_watch lets a
// receive that is known to have emptied the socket go straight to waiting
// for readiness.

#include <covet/base/result.hpp>
#include <covet/net/task.hpp>

#include <asio/buffer.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/version.hpp>

#include <cstddef>
#include <span>

namespace covet::ws::detail {

/// Asio's epoll reactor registers a socket once, edge-triggered, and before
/// queueing a receive it tries one unless the socket's "try first" switch is
/// off (it turns it on at every readiness event). Once a receive returned less
/// than it asked for, the socket is empty and any byte arriving later raises a
/// new edge, so the switch may be turned off: the next receive waits for that
/// edge instead of costing a system call that finds nothing.
///
/// That is only sound when nothing can run between the receive and turning the
/// switch off: the socket's io_context must be run by this thread alone (a
/// covet::net::runtime worker), and the receive must be one made here
/// (try_receive) or completed by the reactor right before its handler runs
/// (a queued receive, when no write operation was queued on the socket to
/// complete first). Other builds (io_uring, other Asio versions) do nothing.
class input_watch {
public:
    /// Whether this socket qualifies: epoll backend of a known Asio, and the
    /// socket's io_context is the current runtime worker's.
    static bool usable(asio::ip::tcp::socket& socket) noexcept;

    /// Whether Asio's next receive on `socket` would try the socket first.
    static bool would_try_first(asio::ip::tcp::socket& socket) noexcept;

    /// The receive Asio would try first, made here: bytes received, 0 when the
    /// socket is empty (the next Asio receive then waits for readiness), or
    /// the error (end of stream included).
    static result<std::size_t> try_receive(asio::ip::tcp::socket& socket,
                                           asio::mutable_buffer buffer) noexcept;

    /// After a queued receive completed with `received` of `capacity` bytes:
    /// a short receive emptied the socket, so the next one waits for readiness.
    static void received(asio::ip::tcp::socket& socket, std::size_t got, std::size_t capacity) noexcept;
};

// Asio 1.22's awaitable internals, checked for Debian 12 (see await_receive).
#if ASIO_VERSION >= 102200 && ASIO_VERSION < 102300
#define COVET_WS_AWAIT_RECEIVE 1
#else
#define COVET_WS_AWAIT_RECEIVE 0
#endif

/// What a receive awaited with await_receive completed with.
struct receive_outcome {
    std::error_code error;
    std::size_t bytes = 0;
};

#if COVET_WS_AWAIT_RECEIVE
/// `co_await await_receive{socket, buffer, outcome}` inside a covet::task:
/// one async_read_some whose completion resumes the awaiting coroutine
/// directly. co_await socket.async_read_some(buffer, use_awaitable) runs
/// Asio's initiation as a coroutine of its own (one more frame made, pushed,
/// popped and freed per receive) and passes the result through it; this
/// hands the coroutine's awaitable thread to the operation as use_awaitable's
/// handler does (its cancellation slot, so cancelling the task or stopping
/// the runtime still aborts the receive; it completes on the coroutine's
/// executor) and stores the outcome in `outcome`. Name it in a variable
/// before co_await (GCC 12 and braced temporaries in co_await).
struct await_receive {
    asio::ip::tcp::socket& socket;
    asio::mutable_buffer buffer;
    receive_outcome& outcome;

    using frame = asio::detail::awaitable_frame_base<asio::any_io_executor>;
    using thread = asio::detail::awaitable_thread<asio::any_io_executor>;
    /// Called by the awaitable machinery once the coroutine is suspended.
    thread* operator()(frame* suspended) const;
};
#endif

}  // namespace covet::ws::detail
