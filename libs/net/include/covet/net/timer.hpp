#pragma once
// Timers: sleep_for() and with_timeout(), composed from awaitables (Asio's
// awaitable operators) and a steady timer rather than from ad-hoc flags.

#include <covet/base/error.hpp>
#include <covet/base/result.hpp>
#include <covet/net/detail/error.hpp>
#include <covet/net/task.hpp>

#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/version.hpp>

#include <asio/experimental/awaitable_operators.hpp>

#include <chrono>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace covet::net {

/// Suspends for `duration`. Returns an empty code, or one equal to
/// std::errc::operation_canceled when the wait was cancelled (e.g. by a
/// graceful stop's deadline).
template <class Rep, class Period>
task<std::error_code> sleep_for(std::chrono::duration<Rep, Period> duration)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, duration);
    auto [ec] = co_await timer.async_wait(nothrow);
    co_return detail::normalize_error(ec);
}

namespace detail {

// A timer wait that never throws, so that the losing side of with_timeout's
// race (the cancelled timer) costs no exception.
inline task<void> wait_quietly(asio::steady_timer& timer)
{
    auto [ec] = co_await timer.async_wait(nothrow);
    (void)ec;
}

template <class T>
struct flatten_result {
    using type = result<T>;
};
template <class T>
struct flatten_result<result<T>> {
    using type = result<T>;
};

}  // namespace detail

/// The result type of with_timeout(task<T>): result<T>, or result<U> when T is
/// already result<U> (so a timed out read and a failed read look alike).
template <class T>
using timeout_result_t = typename detail::flatten_result<T>::type;

/// Runs `op`; if it has not completed after `limit`, cancels it (terminal
/// cancellation), waits for it to unwind and returns covet::errc::timed_out.
/// Exceptions thrown by `op` propagate. `op` must react to cancellation (Asio
/// operations do), or the timeout waits for it.
template <class T, class Rep, class Period>
task<timeout_result_t<T>> with_timeout(task<T> op, std::chrono::duration<Rep, Period> limit)
{
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, limit);
    auto outcome = co_await (std::move(op) || detail::wait_quietly(timer));
    if (outcome.index() == 1) {
        co_return timeout_result_t<T>(errc::timed_out);
    }
    if constexpr (std::is_void_v<T>) {
        co_return result<void>{};
    } else {
        co_return timeout_result_t<T>(std::get<0>(std::move(outcome)));
    }
}

}  // namespace covet::net
