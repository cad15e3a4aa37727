#pragma once
// offload(fn): run blocking work (a SQLite call on a file, bcrypt, a big
// compression) on a worker pool and resume on the caller's executor, so the
// io_context thread is never blocked.

#include <covet/net/runtime.hpp>
#include <covet/net/task.hpp>

#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/thread_pool.hpp>

#include <concepts>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

namespace covet::net {

namespace detail {

/// The current runtime's offload pool, or a process-wide pool outside a runtime.
asio::thread_pool& current_offload_pool();

template <class R>
struct offload_outcome {
    std::optional<R> value;
    std::exception_ptr error;

    template <class F>
    void run(F& fn) noexcept
    {
        try {
            value.emplace(fn());
        } catch (...) {
            error = std::current_exception();
        }
    }
    R take()
    {
        if (error) {
            std::rethrow_exception(error);
        }
        return std::move(*value);
    }
};

template <>
struct offload_outcome<void> {
    std::exception_ptr error;

    template <class F>
    void run(F& fn) noexcept
    {
        try {
            fn();
        } catch (...) {
            error = std::current_exception();
        }
    }
    void take()
    {
        if (error) {
            std::rethrow_exception(error);
        }
    }
};

}  // namespace detail

/// Runs `fn()` on `pool` and resumes the calling coroutine on its own executor
/// with fn's value; an exception thrown by fn is rethrown in the caller.
template <class F>
requires std::invocable<F&> task<std::invoke_result_t<F&>> offload(asio::thread_pool& pool, F fn)
{
    using R = std::invoke_result_t<F&>;
    detail::offload_outcome<R> outcome;
    // The coroutine stays suspended until the handler runs, so the pool job
    // may refer to fn and outcome in the coroutine frame.
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&fn, &outcome, &pool](auto handler) {
            auto work = asio::make_work_guard(asio::get_associated_executor(handler));
            asio::post(pool, [&fn, &outcome, handler = std::move(handler), work = std::move(work)]() mutable {
                outcome.run(fn);
                auto resume_on = work.get_executor();
                asio::post(resume_on, std::move(handler));
                work.reset();
            });
        },
        asio::use_awaitable);
    co_return outcome.take();
}

/// offload() on the current runtime's pool (or a process-wide pool when the
/// caller is not a runtime worker).
template <class F>
requires std::invocable<F&> task<std::invoke_result_t<F&>> offload(F fn)
{
    return offload(detail::current_offload_pool(), std::move(fn));
}

}  // namespace covet::net
