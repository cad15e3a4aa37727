#pragma once
// Starting coroutines. Every spawn takes its task by value and owns it until it
// completes: never hand a coroutine references to locals of the spawner.

#include <covet/net/runtime.hpp>
#include <covet/net/task.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace covet::net {

namespace detail {
void report_unhandled(std::exception_ptr error) noexcept;
}

/// Runs `t` as a tracked task on the calling worker of the current runtime
/// (see runtime::spawn; `keep_alive` is released once `t` has finished).
/// Precondition: called on a runtime worker thread.
inline void spawn(task<void> t, std::shared_ptr<const void> keep_alive = nullptr)
{
    runtime::current()->spawn(runtime::current_worker(), std::move(t), std::move(keep_alive));
}

/// Runs `t` detached on `executor`. Not tracked by any runtime's graceful
/// stop; an escaping exception is reported on stderr.
template <class Executor>
void spawn(const Executor& executor, task<void> t)
{
    asio::co_spawn(executor, std::move(t), [](std::exception_ptr error) {
        if (error) {
            detail::report_unhandled(error);
        }
    });
}

/// Runs `t` to completion on a private io_context on the calling thread and
/// returns its value (rethrowing its exception). For tests, tools and main().
/// The io_context is gone when this returns: T must not hold sockets, timers
/// or streams made inside `t`.
template <class T>
T block_on(task<T> t)
{
    asio::io_context context{1};
    std::exception_ptr error;
    if constexpr (std::is_void_v<T>) {
        asio::co_spawn(context, std::move(t), [&](std::exception_ptr e) -> void { error = e; });
        context.run();
        if (error) {
            std::rethrow_exception(error);
        }
    } else {
        std::optional<T> value;
        asio::co_spawn(context, std::move(t), [&](std::exception_ptr e, T v) -> void {
            error = e;
            if (!e) {
                value.emplace(std::move(v));
            }
        });
        context.run();
        if (error) {
            std::rethrow_exception(error);
        }
        return std::move(*value);
    }
}

}  // namespace covet::net
