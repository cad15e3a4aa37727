#pragma once
// Template definitions of basic_stream. Included by the library for the stream
// types it instantiates; include it yourself only for other stream types.

#include <covet/base/error.hpp>
#include <covet/net/stream.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/error.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <tuple>
#include <type_traits>

namespace covet::net {

namespace detail {

// The timer and cancellation signal of one direction (read or write) of a
// stream. Shared with the timer's handler so that a handler already queued when
// the stream dies touches live memory; `generation` tells stale expiries apart.
struct op_deadline {
    explicit op_deadline(const asio::any_io_executor& executor) : timer(executor) {}
    asio::steady_timer timer;
    asio::cancellation_signal signal;
    std::uint64_t generation = 0;
    bool armed = false;
    bool expired = false;
};

// Byte count of an (error_code, size_t) completion; 0 for a bare (error_code).
template <class Tuple>
std::size_t transferred(const Tuple& outcome) noexcept
{
    if constexpr (std::tuple_size_v<Tuple> >= 2) {
        return std::get<1>(outcome);
    } else {
        return 0;
    }
}

template <class S>
asio::ip::tcp::socket& lowest_socket(S& stream) noexcept
{
    if constexpr (std::is_same_v<S, asio::ip::tcp::socket>) {
        return stream;
    } else {
        return stream.next_layer();
    }
}

template <class S>
const asio::ip::tcp::socket& lowest_socket(const S& stream) noexcept
{
    if constexpr (std::is_same_v<S, asio::ip::tcp::socket>) {
        return stream;
    } else {
        return stream.next_layer();
    }
}

}  // namespace detail

template <class AsyncStream>
basic_stream<AsyncStream>::basic_stream(AsyncStream stream) : stream_(std::move(stream))
{
}

template <class AsyncStream>
basic_stream<AsyncStream>::~basic_stream() = default;

template <class AsyncStream>
asio::ip::tcp::socket& basic_stream<AsyncStream>::socket() noexcept
{
    return detail::lowest_socket(stream_);
}

template <class AsyncStream>
template <class Operation>
task<result<std::size_t>> basic_stream<AsyncStream>::run_timed(Operation op, std::chrono::milliseconds limit,
                                                               std::shared_ptr<detail::op_deadline>& deadline)
{
    if (limit.count() <= 0) {
        auto outcome = co_await op(nothrow);
        if (std::get<0>(outcome)) {
            co_return detail::normalize_error(std::get<0>(outcome));
        }
        co_return detail::transferred(outcome);
    }
    if (!deadline) {
        deadline = std::make_shared<detail::op_deadline>(get_executor());
    }
    std::shared_ptr<detail::op_deadline> state = deadline;
    const std::uint64_t generation = ++state->generation;
    state->armed = true;
    state->expired = false;
    state->timer.expires_after(limit);
    state->timer.async_wait([state, generation](std::error_code ec) {
        if (!ec && state->armed && state->generation == generation) {
            state->expired = true;
            state->signal.emit(asio::cancellation_type::terminal);
        }
    });
    auto outcome = co_await op(asio::bind_cancellation_slot(state->signal.slot(), nothrow));
    state->armed = false;
    state->timer.cancel();
    if (const std::error_code ec = std::get<0>(outcome)) {
        if (state->expired) {
            co_return errc::timed_out;
        }
        co_return detail::normalize_error(ec);
    }
    co_return detail::transferred(outcome);
}

template <class AsyncStream>
task<result<std::size_t>> basic_stream<AsyncStream>::read_some(asio::mutable_buffer buffer)
{
    return run_timed([this, buffer](auto token) { return stream_.async_read_some(buffer, std::move(token)); },
                     timeouts_.read, read_deadline_);
}

template <class AsyncStream>
task<result<std::size_t>> basic_stream<AsyncStream>::read_exactly(asio::mutable_buffer buffer)
{
    return run_timed(
        [this, buffer](auto token) { return asio::async_read(stream_, buffer, std::move(token)); },
        timeouts_.read, read_deadline_);
}

template <class AsyncStream>
task<result<std::size_t>> basic_stream<AsyncStream>::write(asio::const_buffer buffer)
{
    return run_timed(
        [this, buffer](auto token) { return asio::async_write(stream_, buffer, std::move(token)); },
        timeouts_.write, write_deadline_);
}

template <class AsyncStream>
task<result<std::size_t>> basic_stream<AsyncStream>::write(std::span<const asio::const_buffer> buffers)
{
    return run_timed(
        [this, buffers](auto token) { return asio::async_write(stream_, buffers, std::move(token)); },
        timeouts_.write, write_deadline_);
}

template <class AsyncStream>
result<asio::ip::tcp::endpoint> basic_stream<AsyncStream>::remote_endpoint() const
{
    std::error_code ec;
    auto endpoint = detail::lowest_socket(stream_).remote_endpoint(ec);
    if (ec) {
        return ec;
    }
    return endpoint;
}

template <class AsyncStream>
result<asio::ip::tcp::endpoint> basic_stream<AsyncStream>::local_endpoint() const
{
    std::error_code ec;
    auto endpoint = detail::lowest_socket(stream_).local_endpoint(ec);
    if (ec) {
        return ec;
    }
    return endpoint;
}

template <class AsyncStream>
bool basic_stream<AsyncStream>::is_open() const noexcept
{
    return detail::lowest_socket(stream_).is_open();
}

template <class AsyncStream>
void basic_stream<AsyncStream>::close() noexcept
{
    std::error_code ignored;
    socket().close(ignored);
}

}  // namespace covet::net
