#pragma once
// Single-flight machinery shared by the caches: a load in progress (flight),
// its parked waiters (resumed on their own executors), and helpers.

#include <covet/base/result.hpp>
#include <covet/net/task.hpp>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

namespace covet::cache {

namespace detail {
/// Calls a get_or_load loader with the key, or without it if it takes none.
template <class Loader, class K>
auto call_loader(Loader& loader, const K& key)
{
    if constexpr (std::is_invocable_v<Loader&, const K&>) {
        return loader(key);
    } else {
        return loader();
    }
}
}  // namespace detail

/// What a cache gives to the waiters of a load whose leader was destroyed
/// before its loader finished (e.g. its io_context stopped).
class load_abandoned : public std::runtime_error {
public:
    load_abandoned() : std::runtime_error("covet::cache: the coroutine running the loader was destroyed") {}
};

namespace detail {

struct null_mutex {
    void lock() noexcept {}
    void unlock() noexcept {}
};

template <class T>
struct is_result : std::false_type {
};
template <class T>
struct is_result<covet::result<T>> : std::true_type {
};

/// A suspended get_or_load waiting for another coroutine's load.
struct waiter_base {
    virtual ~waiter_base() = default;
    virtual void resume() = 0;
};

template <class Handler>
struct waiter final : waiter_base {
    explicit waiter(Handler h) : handler(std::move(h)), work(asio::get_associated_executor(handler)) {}
    void resume() override
    {
        // Resume on the waiter's own executor (it may be another thread's).
        auto executor = work.get_executor();
        asio::post(executor, std::move(handler));
        work.reset();
    }
    Handler handler;
    asio::executor_work_guard<asio::associated_executor_t<Handler>> work;
};

/// One load in progress; its fields are guarded by the shard's mutex until
/// `done`, then read-only.
template <class V>
struct flight {
    bool done = false;
    bool invalidated = false;  // erased/invalidated while loading: do not cache
    std::optional<V> value;
    std::error_code error_code;
    std::exception_ptr error;
    std::vector<std::unique_ptr<waiter_base>> waiters;
};

/// The flight's outcome as the caller's type: R = V rethrows (an error code
/// as std::system_error), R = result<V> carries the error code.
template <class R, class V>
R flight_outcome(const flight<V>& f)
{
    if (f.error) {
        std::rethrow_exception(f.error);
    }
    if constexpr (std::is_same_v<R, V>) {
        if (f.error_code) {
            throw std::system_error(f.error_code);
        }
        return *f.value;
    } else {
        if (f.error_code) {
            return R(f.error_code);
        }
        return R(*f.value);
    }
}

/// Stores a loader's outcome (value, error result or exception) in `f`.
template <class R, class V, class Task>
task<void> run_into(Task pending, flight<V>* f)
{
    try {
        R loaded = co_await std::move(pending);
        if constexpr (std::is_same_v<R, V>) {
            f->value.emplace(std::move(loaded));
        } else if (loaded) {
            f->value.emplace(std::move(*loaded));
        } else {
            f->error_code = loaded.error();
        }
    } catch (...) {
        f->error = std::current_exception();
    }
}

/// Suspends until `f` is done; `mutex` guards f's fields.
template <class Mutex, class V>
task<void> wait_for_flight(Mutex& mutex, std::shared_ptr<flight<V>> f)
{
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>(
        [&mutex, &f](auto handler) {
            std::unique_lock lock(mutex);
            if (f->done) {
                lock.unlock();
                auto executor = asio::get_associated_executor(handler);
                asio::post(executor, std::move(handler));
                return;
            }
            f->waiters.push_back(std::make_unique<waiter<decltype(handler)>>(std::move(handler)));
        },
        asio::use_awaitable);
}

}  // namespace detail

}  // namespace covet::cache
