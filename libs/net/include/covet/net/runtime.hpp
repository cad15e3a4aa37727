#pragma once
// covet::net::runtime: N worker threads, each running its own io_context with
// concurrency hint 1 (shared-nothing: a connection lives and dies on one
// thread), an offload pool for blocking work, signal handling and a graceful
// stop with a deadline.
//
// Graceful stop (request_stop(), SIGINT, SIGTERM):
//  1. every worker runs its on_stop() callbacks (listeners close their
//     acceptors, so new connections are refused);
//  2. tracked tasks (runtime::spawn) keep running until they finish;
//  3. after options.stop_timeout the remaining tracked tasks receive a terminal
//     cancellation (their pending I/O completes with operation_aborted);
//  4. a worker returns from run() as soon as it has no tracked task left, or
//     options.stop_grace after the cancellation at the latest.
// Work started with plain asio::co_spawn is not tracked and not waited for.

#include <covet/net/task.hpp>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

namespace covet::net {

struct runtime_options {
    /// Worker threads, one io_context each. 0 = std::thread::hardware_concurrency().
    std::size_t threads = 0;
    /// Threads of the offload() pool. 0 = max(2, hardware threads).
    std::size_t offload_threads = 0;
    /// Catch SIGINT and SIGTERM and turn them into request_stop().
    bool handle_signals = true;
    /// How long a graceful stop lets tracked tasks finish before cancelling them.
    std::chrono::milliseconds stop_timeout{10'000};
    /// How long a worker waits for cancelled tasks to unwind before it stops anyway.
    std::chrono::milliseconds stop_grace{1'000};
    /// Pin worker i to CPU i (modulo the CPUs this process may use).
    bool pin_threads = false;
    /// Called with every exception that escapes a spawned task. Default: print to stderr.
    std::function<void(std::exception_ptr)> on_unhandled_exception{};
};

class runtime;

/// RAII registration of an on_stop() callback; destroying it unregisters.
class [[nodiscard]] stop_registration {
public:
    stop_registration() = default;
    stop_registration(stop_registration&& other) noexcept;
    stop_registration& operator=(stop_registration&& other) noexcept;
    stop_registration(const stop_registration&) = delete;
    stop_registration& operator=(const stop_registration&) = delete;
    ~stop_registration();

    void reset() noexcept;

private:
    friend class runtime;
    stop_registration(runtime* rt, std::size_t worker, std::uint64_t id) noexcept
        : runtime_(rt), worker_(worker), id_(id)
    {
    }
    runtime* runtime_ = nullptr;
    std::size_t worker_ = 0;
    std::uint64_t id_ = 0;
};

class runtime {
public:
    using executor_type = asio::io_context::executor_type;

    explicit runtime(runtime_options options = {});
    /// Requests a stop if still running, joins every thread, then destroys the
    /// io_contexts (and with them any coroutine frame still suspended there).
    ~runtime();
    runtime(const runtime&) = delete;
    runtime& operator=(const runtime&) = delete;

    std::size_t size() const noexcept { return workers_.size(); }
    asio::io_context& context(std::size_t worker);
    executor_type executor(std::size_t worker);

    /// Runs every worker, worker 0 on the calling thread; returns once all
    /// have stopped. A runtime runs once.
    void run();
    /// Starts every worker on a thread of its own and returns.
    void start();
    /// Waits for the workers started by start().
    void join();

    /// Starts a graceful stop (see the top of this header). Thread-safe, idempotent.
    void request_stop();
    bool stop_requested() const noexcept { return stop_requested_.load(std::memory_order_acquire); }

    /// Runs `t` on `worker` as a tracked task. Thread-safe. `keep_alive` is
    /// released once `t` has finished: the owner of what `t` refers to (e.g.
    /// the coroutine lambda whose captures it reads), at no extra frame.
    void spawn(std::size_t worker, task<void> t, std::shared_ptr<const void> keep_alive = nullptr);
    /// Calls `factory(i)` on worker i's thread for every worker and spawns the
    /// result there. The factory lives until every task it made has finished,
    /// so it may be a coroutine lambda with captures.
    void spawn_on_each(std::function<task<void>(std::size_t)> factory);

    /// Registers `fn` to run on `worker`'s thread when a stop is requested
    /// (immediately, posted to that worker, if one already was). Thread-safe.
    stop_registration on_stop(std::size_t worker, std::function<void()> fn);

    /// Tracked tasks alive on `worker`; call it on that worker's thread.
    std::size_t tracked_tasks(std::size_t worker) const;

    /// The pool that offload() uses on this runtime's threads.
    asio::thread_pool& offload_pool() noexcept { return *offload_pool_; }

    /// The runtime whose worker is the calling thread, or nullptr.
    static runtime* current() noexcept;
    /// The calling worker's index; precondition: current() != nullptr.
    static std::size_t current_worker() noexcept;

private:
    struct worker;
    friend class stop_registration;

    void worker_main(std::size_t index);
    void spawn_here(worker& w, task<void> t, std::shared_ptr<const void> keep_alive = nullptr);
    void begin_stop(worker& w);
    void cancel_tracked(worker& w);
    void finish_if_idle(worker& w);
    void unregister_stop(std::size_t worker, std::uint64_t id) noexcept;
    void report(std::exception_ptr error) const;

    runtime_options options_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::unique_ptr<asio::thread_pool> offload_pool_;
    std::vector<std::thread> threads_;
    std::atomic<bool> stop_requested_{false};
    std::atomic<bool> started_{false};
    bool destroying_ = false;
    std::atomic<std::uint64_t> next_stop_id_{1};
};

}  // namespace covet::net
