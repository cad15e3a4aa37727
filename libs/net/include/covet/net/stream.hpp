#pragma once
// Byte streams over TCP (and, in tls.hpp, TLS): coroutine reads into
// caller-owned buffers, gather writes, errors as values, optional
// per-operation timeouts.
//
// Error values: end of stream is covet::errc::end_of_stream, an expired
// per-operation timeout is covet::errc::timed_out, anything else is the
// system/Asio code (connection_reset, broken_pipe, operation_aborted...).
//
// A stream allows one read and one write in flight at a time (full duplex);
// the stream must outlive its operations.

#include <covet/base/result.hpp>
#include <covet/net/detail/error.hpp>
#include <covet/net/task.hpp>

#include <asio/buffer.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace covet::net {

/// Per-operation time limits; zero means none.
struct stream_timeouts {
    std::chrono::milliseconds read{0};
    std::chrono::milliseconds write{0};
};

namespace detail {
struct op_deadline;
}  // namespace detail

/// A coroutine stream over any Asio AsyncStream (a TCP socket, an SSL stream).
/// Instantiated in the library for asio::ip::tcp::socket and
/// asio::ssl::stream<asio::ip::tcp::socket>; include <covet/net/impl/stream.hpp>
/// to use it with another stream type.
template <class AsyncStream>
class basic_stream {
public:
    using next_layer_type = AsyncStream;

    explicit basic_stream(AsyncStream stream);
    basic_stream(basic_stream&&) noexcept = default;
    basic_stream& operator=(basic_stream&&) noexcept = default;
    ~basic_stream();

    /// Reads at least one byte into `buffer`; returns the byte count.
    task<result<std::size_t>> read_some(asio::mutable_buffer buffer);
    /// Reads exactly buffer.size() bytes (end_of_stream if the peer closes first).
    task<result<std::size_t>> read_exactly(asio::mutable_buffer buffer);
    /// Writes all of `buffer`.
    task<result<std::size_t>> write(asio::const_buffer buffer);
    /// Writes all of `buffers` with gather writes (writev / sendmsg).
    task<result<std::size_t>> write(std::span<const asio::const_buffer> buffers);

    /// A zero limit also releases the timer kept from earlier timed operations
    /// (a long-lived idle connection, e.g. after a protocol upgrade, keeps none).
    void set_timeouts(stream_timeouts timeouts) noexcept
    {
        timeouts_ = timeouts;
        if (timeouts.read.count() <= 0) {
            read_deadline_.reset();
        }
        if (timeouts.write.count() <= 0) {
            write_deadline_.reset();
        }
    }
    stream_timeouts timeouts() const noexcept { return timeouts_; }

    AsyncStream& next_layer() noexcept { return stream_; }
    asio::ip::tcp::socket& socket() noexcept;
    asio::any_io_executor get_executor() noexcept { return socket().get_executor(); }

    result<asio::ip::tcp::endpoint> remote_endpoint() const;
    result<asio::ip::tcp::endpoint> local_endpoint() const;
    bool is_open() const noexcept;
    /// Closes the socket; pending operations complete with operation_aborted.
    void close() noexcept;

protected:
    template <class Operation>
    task<result<std::size_t>> run_timed(Operation op, std::chrono::milliseconds limit,
                                        std::shared_ptr<detail::op_deadline>& deadline);

    AsyncStream stream_;
    stream_timeouts timeouts_{};
    std::shared_ptr<detail::op_deadline> read_deadline_;
    std::shared_ptr<detail::op_deadline> write_deadline_;
};

using tcp_stream = basic_stream<asio::ip::tcp::socket>;
extern template class basic_stream<asio::ip::tcp::socket>;

struct connect_options {
    /// Limit for name resolution plus connecting; zero means none.
    std::chrono::milliseconds timeout{0};
    bool no_delay = true;
};

/// Resolves `host` and connects to the first address that accepts.
task<result<tcp_stream>> connect(std::string host, std::uint16_t port, connect_options options = {});

}  // namespace covet::net
