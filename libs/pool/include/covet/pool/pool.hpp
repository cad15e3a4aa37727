#pragma once
// covet::pool::pool<T>: a generic async resource pool (database and Redis
// connections, sockets, anything expensive to make).
//
//   covet::pool::pool<conn> p(make_conn, {.max_size = 8});
//   auto h = co_await p.acquire();          // result<handle>
//   if (!h) co_return h.error();            // timed_out, shutting_down, factory error
//   (*h)->query(...);                       // T via -> and *
//   if (broken) h->mark_broken();           // destroyed instead of returned
//   // ~handle returns the resource (validated) to the pool
//
// - An async factory (task<result<T>>) makes resources, up to max_size; min_size
//   are made by fill() / maintain().
// - acquire() waits FIFO when every resource is in use, with a timeout
//   (options.acquire_timeout or the argument); the timeout covers the factory too.
// - Validation hooks run on acquire (of an idle resource) and on release; a
//   failing one destroys the resource.
// - Idle eviction (idle_timeout) and max lifetime (max_lifetime): checked on
//   acquire/release for lifetime, and by evict_expired() (which maintain() runs
//   periodically) for both. Times come from the coarse monotonic clock (a few ns).
// - mode::per_thread (default, the shared-nothing runtime: one pool per worker,
//   e.g. in a covet::net::per_thread<pool<T>>) takes no locks: every call must
//   come from one thread. mode::shared takes a mutex and can be used from many
//   threads; a waiter is woken on its own executor (which must not run its
//   handlers on several threads at once, as runtime workers do not).
// - close(): refuses new acquires (shutting_down), wakes every waiter with
//   shutting_down, destroys idle resources; handles still out destroy theirs on
//   release.
//
// Lifetimes: the pool must outlive its handles and any acquire() in progress
// other than waiters woken by close().

#include <covet/base/error.hpp>
#include <covet/base/result.hpp>
#include <covet/net/task.hpp>
#include <covet/net/timer.hpp>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <utility>
#include <vector>

#include <time.h>

namespace covet::pool {

enum class mode {
    /// No locks; every call from one thread (the default: one pool per worker).
    per_thread,
    /// A mutex guards the pool; acquire and release from any thread.
    shared,
};

struct options {
    /// Resources fill() and maintain() keep made (idle or in use).
    std::size_t min_size = 0;
    /// Upper bound of resources alive at once (idle + in use + being made).
    std::size_t max_size = 16;
    /// acquire()'s default deadline: waiting for a free resource plus making one.
    std::chrono::milliseconds acquire_timeout{5'000};
    /// An idle resource older than this (since its last release) is destroyed
    /// by evict_expired(). 0 = never.
    std::chrono::milliseconds idle_timeout{0};
    /// A resource older than this (since it was made) is destroyed on its next
    /// acquire, release or evict_expired(). 0 = never.
    std::chrono::milliseconds max_lifetime{0};
    pool::mode mode = pool::mode::per_thread;
};

struct metrics {
    std::size_t in_use = 0;    ///< handed out right now
    std::size_t idle = 0;      ///< ready in the pool
    std::size_t waiting = 0;   ///< acquire() calls queued for a resource
    std::size_t creating = 0;  ///< factory calls in progress
    std::uint64_t acquired = 0;
    std::uint64_t timeouts = 0;
    std::uint64_t created = 0;
    std::uint64_t destroyed = 0;
    std::uint64_t create_failures = 0;
};

namespace detail {

/// CLOCK_MONOTONIC_COARSE: a few ns per read (no syscall), tick of a few ms,
/// plenty for idle and lifetime limits counted in seconds.
inline std::chrono::nanoseconds coarse_now() noexcept
{
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

// A lock that is a no-op in per-thread mode.
class maybe_lock {
public:
    maybe_lock(std::mutex& m, bool enabled) : mutex_(enabled ? &m : nullptr)
    {
        if (mutex_ != nullptr) {
            mutex_->lock();
        }
    }
    ~maybe_lock()
    {
        if (mutex_ != nullptr) {
            mutex_->unlock();
        }
    }
    void unlock()
    {
        if (mutex_ != nullptr) {
            mutex_->unlock();
        }
    }
    void lock()
    {
        if (mutex_ != nullptr) {
            mutex_->lock();
        }
    }
    maybe_lock(const maybe_lock&) = delete;
    maybe_lock& operator=(const maybe_lock&) = delete;

private:
    std::mutex* mutex_;
};

}  // namespace detail

template <class T>
class pool {
    struct slot {
        template <class U>
        slot(U&& v, std::chrono::nanoseconds now)
            : value(std::forward<U>(v)), created_at(now), idle_since(now)
        {
        }
        T value;
        std::chrono::nanoseconds created_at;
        std::chrono::nanoseconds idle_since;
    };

public:
    using value_type = T;
    using factory_type = std::function<task<result<T>>()>;
    using validator_type = std::function<bool(T&)>;

    /// RAII ownership of one pooled resource; returns it on destruction (or
    /// destroys it when marked broken). Move-only.
    class handle {
    public:
        handle() = default;
        handle(handle&& other) noexcept
            : owner_(std::exchange(other.owner_, nullptr)),
              slot_(std::move(other.slot_)),
              broken_(std::exchange(other.broken_, false))
        {
        }
        handle& operator=(handle&& other) noexcept
        {
            if (this != &other) {
                reset();
                owner_ = std::exchange(other.owner_, nullptr);
                slot_ = std::move(other.slot_);
                broken_ = std::exchange(other.broken_, false);
            }
            return *this;
        }
        handle(const handle&) = delete;
        handle& operator=(const handle&) = delete;
        ~handle() { reset(); }

        explicit operator bool() const noexcept { return slot_ != nullptr; }
        T& get() noexcept { return slot_->value; }
        const T& get() const noexcept { return slot_->value; }
        T& operator*() noexcept { return slot_->value; }
        T* operator->() noexcept { return &slot_->value; }
        const T* operator->() const noexcept { return &slot_->value; }

        /// The resource is unusable (connection lost, protocol error): it is
        /// destroyed on release instead of returning to the pool.
        void mark_broken() noexcept { broken_ = true; }
        bool broken() const noexcept { return broken_; }

        /// Returns (or destroys) the resource now.
        void reset() noexcept
        {
            if (slot_) {
                owner_->release(std::move(slot_), broken_);
                broken_ = false;
            }
        }

    private:
        friend class pool;
        handle(pool* owner, std::unique_ptr<slot> s) noexcept : owner_(owner), slot_(std::move(s)) {}

        pool* owner_ = nullptr;
        std::unique_ptr<slot> slot_;
        bool broken_ = false;
    };

    explicit pool(factory_type factory, options opts = {}) : factory_(std::move(factory)), options_(opts)
    {
        assert(options_.max_size > 0);
        assert(options_.min_size <= options_.max_size);
        idle_.reserve(options_.max_size);
    }
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;
    ~pool() { close(); }

    /// Called on an idle resource before it is handed out; false destroys it
    /// (and acquire() moves on to the next one). Set before the first acquire.
    void validate_on_acquire(validator_type fn) { validate_acquire_ = std::move(fn); }
    /// Called when a handle returns its resource; false destroys it.
    void validate_on_release(validator_type fn) { validate_release_ = std::move(fn); }

    const options& config() const noexcept { return options_; }

    /// A resource within options.acquire_timeout.
    task<result<handle>> acquire() { return acquire(options_.acquire_timeout); }

    /// An idle resource, a new one from the factory (below max_size), or the
    /// next one released, FIFO among waiters. Errors: covet::errc::timed_out,
    /// errc::shutting_down (close()), errc::cancelled (the caller's coroutine
    /// was cancelled), or the factory's error.
    task<result<handle>> acquire(std::chrono::milliseconds timeout)
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        result<handle> outcome{errc::no_result};
        bool may_create = false;
        {
            detail::maybe_lock lock(mutex_, shared());
            if (closed_) {
                co_return errc::shutting_down;
            }
            if (auto s = take_idle_locked(lock)) {
                ++metrics_.acquired;
                ++in_use_;
                co_return handle(this, std::move(s));
            }
            if (size_ < options_.max_size) {
                ++size_;
                ++creating_;
                may_create = true;
            }
        }
        if (!may_create) {
            auto wait = co_await wait_for_release(deadline);
            if (wait.kind == wait_outcome::resource) {
                co_return handle(this, std::move(wait.granted));
            }
            if (wait.kind != wait_outcome::permit) {
                co_return wait.error;
            }
            may_create = true;  // a broken resource freed a place for us to fill
        }
        outcome = co_await create(deadline);
        co_return outcome;
    }

    /// An idle resource now, or nothing (never makes or waits). The fast path
    /// for callers that can fall back to acquire().
    std::optional<handle> try_acquire()
    {
        detail::maybe_lock lock(mutex_, shared());
        if (closed_) {
            return std::nullopt;
        }
        if (auto s = take_idle_locked(lock)) {
            ++metrics_.acquired;
            ++in_use_;
            return handle(this, std::move(s));
        }
        return std::nullopt;
    }

    /// Makes resources until min_size are alive. Returns the first factory error.
    task<result<void>> fill()
    {
        for (;;) {
            {
                detail::maybe_lock lock(mutex_, shared());
                if (closed_ || size_ >= options_.min_size) {
                    break;
                }
                ++size_;
                ++creating_;
            }
            auto op = factory_();
            auto made = co_await net::with_timeout(std::move(op), options_.acquire_timeout);
            detail::maybe_lock lock(mutex_, shared());
            --creating_;
            if (!made) {
                --size_;
                ++metrics_.create_failures;
                auto woken = grant_permit_locked();
                lock.unlock();
                if (woken) {
                    wake(woken);
                }
                co_return made.error();
            }
            ++metrics_.created;
            auto s = std::make_unique<slot>(std::move(*made), detail::coarse_now());
            if (closed_) {
                --size_;
                ++metrics_.destroyed;
                lock.unlock();
                s.reset();
                break;
            }
            auto woken = hand_over_or_park_locked(std::move(s));
            lock.unlock();
            if (woken) {
                wake(woken);
            }
        }
        co_return result<void>{};
    }

    /// Destroys idle resources past idle_timeout or max_lifetime. Returns how many.
    std::size_t evict_expired()
    {
        std::vector<std::unique_ptr<slot>> doomed;
        std::vector<std::shared_ptr<waiter>> woken;
        {
            detail::maybe_lock lock(mutex_, shared());
            const auto now = detail::coarse_now();
            auto keep = std::partition(idle_.begin(), idle_.end(), [&](const std::unique_ptr<slot>& s) {
                return !expired(*s, now, true);
            });
            for (auto it = keep; it != idle_.end(); ++it) {
                doomed.push_back(std::move(*it));
            }
            idle_.erase(keep, idle_.end());
            size_ -= doomed.size();
            metrics_.destroyed += doomed.size();
            for (std::size_t i = 0; i < doomed.size(); ++i) {
                if (auto w = grant_permit_locked()) {
                    woken.push_back(std::move(w));
                }
            }
        }
        for (auto& w : woken) {
            wake(w);
        }
        return doomed.size();  // destroyed here, outside the lock
    }

    /// Every `every`: evict_expired() and fill() up to min_size, until close()
    /// (or the caller's cancellation). Spawn it next to the pool.
    task<void> maintain(std::chrono::milliseconds every)
    {
        while (!is_closed()) {
            (void)evict_expired();
            auto filled = co_await fill();
            (void)filled;  // a failing factory is retried on the next round
            auto ec = co_await net::sleep_for(every);
            if (ec) {
                break;
            }
        }
    }

    /// Stops the pool: see the top of this header. Idempotent.
    void close()
    {
        std::vector<std::unique_ptr<slot>> doomed;
        std::deque<std::shared_ptr<waiter>> woken;
        {
            detail::maybe_lock lock(mutex_, shared());
            if (closed_) {
                return;
            }
            closed_ = true;
            doomed.swap(idle_);
            size_ -= doomed.size();
            metrics_.destroyed += doomed.size();
            woken.swap(waiters_);
            for (auto& w : woken) {
                w->outcome.store(wait_outcome::closed, std::memory_order_release);
            }
        }
        for (auto& w : woken) {
            wake(w);
        }
    }

    bool is_closed() const
    {
        detail::maybe_lock lock(mutex_, shared());
        return closed_;
    }

    metrics stats() const
    {
        detail::maybe_lock lock(mutex_, shared());
        metrics m = metrics_;
        m.in_use = in_use_;
        m.idle = idle_.size();
        m.waiting = waiters_.size();
        m.creating = creating_;
        return m;
    }

    /// Resources alive: idle + in use + being made.
    std::size_t size() const
    {
        detail::maybe_lock lock(mutex_, shared());
        return size_;
    }

private:
    enum wait_outcome : int { waiting, resource, permit, closed, timed_out, cancelled };

    struct waiter {
        explicit waiter(const asio::any_io_executor& ex) : timer(ex) {}
        asio::steady_timer timer;
        std::atomic<int> outcome{wait_outcome::waiting};
        std::unique_ptr<slot> granted;
    };

    struct waited {
        int kind = wait_outcome::waiting;
        std::unique_ptr<slot> granted;
        std::error_code error;
    };

    bool shared() const noexcept { return options_.mode == mode::shared; }

    bool expired(const slot& s, std::chrono::nanoseconds now, bool check_idle) const noexcept
    {
        if (options_.max_lifetime.count() > 0 && now - s.created_at >= options_.max_lifetime) {
            return true;
        }
        return check_idle && options_.idle_timeout.count() > 0 && now - s.idle_since >= options_.idle_timeout;
    }

    // Pops the most recently used idle resource that is alive and valid;
    // destroys the others on the way (after dropping the lock briefly).
    std::unique_ptr<slot> take_idle_locked(detail::maybe_lock& lock)
    {
        while (!idle_.empty()) {
            std::unique_ptr<slot> s = std::move(idle_.back());
            idle_.pop_back();
            bool ok = true;
            if (options_.max_lifetime.count() > 0 && expired(*s, detail::coarse_now(), false)) {
                ok = false;
            } else if (validate_acquire_) {
                lock.unlock();
                ok = validate_acquire_(s->value);
                lock.lock();
            }
            if (ok) {
                return s;
            }
            --size_;
            ++metrics_.destroyed;
            lock.unlock();
            s.reset();
            lock.lock();
            if (closed_) {
                return nullptr;
            }
        }
        return nullptr;
    }

    void release(std::unique_ptr<slot> s, bool broken) noexcept
    {
        bool keep = !broken;
        if (keep && validate_release_) {
            try {
                keep = validate_release_(s->value);
            } catch (...) {
                keep = false;
            }
        }
        std::shared_ptr<waiter> woken;
        {
            detail::maybe_lock lock(mutex_, shared());
            --in_use_;
            const bool timed = options_.max_lifetime.count() > 0 || options_.idle_timeout.count() > 0;
            const auto now = timed ? detail::coarse_now() : std::chrono::nanoseconds{};
            if (keep && !closed_ && !expired(*s, now, false)) {
                s->idle_since = now;
                woken = hand_over_or_park_locked(std::move(s));
            } else {
                --size_;
                ++metrics_.destroyed;
                if (!closed_) {
                    woken = grant_permit_locked();
                }
            }
        }
        s.reset();  // a destroyed resource goes outside the lock
        if (woken) {
            wake(woken);
        }
    }

    // A live resource goes to the first waiter, or else to the idle stack.
    std::shared_ptr<waiter> hand_over_or_park_locked(std::unique_ptr<slot> s)
    {
        if (!waiters_.empty()) {
            auto w = std::move(waiters_.front());
            waiters_.pop_front();
            w->granted = std::move(s);
            ++metrics_.acquired;
            ++in_use_;
            w->outcome.store(wait_outcome::resource, std::memory_order_release);
            if (!shared()) {
                w->timer.cancel();
                return nullptr;
            }
            return w;
        }
        idle_.push_back(std::move(s));
        return nullptr;
    }

    // A place freed up below max_size: the first waiter may make a resource.
    std::shared_ptr<waiter> grant_permit_locked()
    {
        if (waiters_.empty() || size_ >= options_.max_size) {
            return nullptr;
        }
        auto w = std::move(waiters_.front());
        waiters_.pop_front();
        ++size_;
        ++creating_;
        w->outcome.store(wait_outcome::permit, std::memory_order_release);
        if (!shared()) {
            w->timer.cancel();
            return nullptr;
        }
        return w;
    }

    void wake(const std::shared_ptr<waiter>& w)
    {
        if (!shared()) {
            w->timer.cancel();
            return;
        }
        asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
    }

    task<waited> wait_for_release(std::chrono::steady_clock::time_point deadline)
    {
        auto w = std::make_shared<waiter>(co_await asio::this_coro::executor);
        w->timer.expires_at(deadline);
        {
            detail::maybe_lock lock(mutex_, shared());
            if (closed_) {
                waited refused;
                refused.kind = wait_outcome::closed;
                refused.error = make_error_code(errc::shutting_down);
                co_return refused;
            }
            waiters_.push_back(w);
        }
        auto [ec] = co_await w->timer.async_wait(net::nothrow);
        waited out;
        // Read before touching the pool: close() may have been followed by its destruction.
        out.kind = w->outcome.load(std::memory_order_acquire);
        if (out.kind == wait_outcome::closed) {
            out.error = make_error_code(errc::shutting_down);
            co_return out;
        }
        detail::maybe_lock lock(mutex_, shared());
        out.kind = w->outcome.load(std::memory_order_acquire);  // a grant may have raced the timer
        if (out.kind == wait_outcome::resource) {
            out.granted = std::move(w->granted);
        } else if (out.kind == wait_outcome::waiting) {
            auto it = std::find(waiters_.begin(), waiters_.end(), w);
            if (it != waiters_.end()) {
                waiters_.erase(it);
            }
            if (!ec) {
                ++metrics_.timeouts;
                out.kind = wait_outcome::timed_out;
                out.error = make_error_code(errc::timed_out);
            } else {
                out.kind = wait_outcome::cancelled;
                out.error = make_error_code(errc::cancelled);
            }
        } else if (out.kind == wait_outcome::closed) {
            out.error = make_error_code(errc::shutting_down);
        }
        co_return out;
    }

    // Precondition: a place was reserved (size_ and creating_ counted).
    task<result<handle>> create(std::chrono::steady_clock::time_point deadline)
    {
        auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (remaining.count() < 1) {
            remaining = std::chrono::milliseconds(1);
        }
        auto op = factory_();
        auto made = co_await net::with_timeout(std::move(op), remaining);
        result<handle> out{errc::no_result};
        std::shared_ptr<waiter> woken;
        {
            detail::maybe_lock lock(mutex_, shared());
            --creating_;
            if (!made) {
                --size_;
                ++metrics_.create_failures;
                if (made.error() == errc::timed_out) {
                    ++metrics_.timeouts;
                }
                woken = grant_permit_locked();
                out = made.error();
            } else if (closed_) {
                --size_;
                ++metrics_.created;
                ++metrics_.destroyed;
                out = errc::shutting_down;
            } else {
                ++metrics_.created;
                ++metrics_.acquired;
                ++in_use_;
                out = handle(this, std::make_unique<slot>(std::move(*made), detail::coarse_now()));
            }
        }
        if (woken) {
            wake(woken);
        }
        co_return out;
    }

    factory_type factory_;
    options options_;
    validator_type validate_acquire_;
    validator_type validate_release_;
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<slot>> idle_;  // a stack: the warmest resource on top
    std::deque<std::shared_ptr<waiter>> waiters_;
    std::size_t size_ = 0;
    std::size_t in_use_ = 0;
    std::size_t creating_ = 0;
    bool closed_ = false;
    metrics metrics_;
};

}  // namespace covet::pool
