#include <covet/net/offload.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstdio>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace covet::net {

namespace {
thread_local runtime* current_runtime = nullptr;
thread_local std::size_t current_index = 0;
}  // namespace

struct runtime::worker {
    explicit worker(std::size_t i) : index(i) {}

    struct tracked_task {
        asio::cancellation_signal signal;
        std::shared_ptr<const void> keep_alive;  // released once the task has finished
    };

    std::size_t index;
    // Declared before the io_context so that they outlive it: destroying the
    // io_context destroys suspended coroutine frames, whose cancellation slots
    // point into these signals.
    std::list<tracked_task> tracked;
    std::mutex stop_mutex;
    std::map<std::uint64_t, std::function<void()>> stop_callbacks;
    bool stopping = false;

    asio::io_context context{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> keep_running{
        asio::make_work_guard(context)};
    std::optional<asio::steady_timer> stop_timer;
    std::optional<asio::signal_set> signals;
};

// ---------------------------------------------------------------------------
// stop_registration

stop_registration::stop_registration(stop_registration&& other) noexcept
    : runtime_(std::exchange(other.runtime_, nullptr)), worker_(other.worker_), id_(other.id_)
{
}

stop_registration& stop_registration::operator=(stop_registration&& other) noexcept
{
    if (this != &other) {
        reset();
        runtime_ = std::exchange(other.runtime_, nullptr);
        worker_ = other.worker_;
        id_ = other.id_;
    }
    return *this;
}

stop_registration::~stop_registration()
{
    reset();
}

void stop_registration::reset() noexcept
{
    if (runtime_ != nullptr) {
        runtime_->unregister_stop(worker_, id_);
        runtime_ = nullptr;
    }
}

// ---------------------------------------------------------------------------
// runtime

runtime::runtime(runtime_options options) : options_(std::move(options))
{
    const std::size_t hardware = std::max(1u, std::thread::hardware_concurrency());
    const std::size_t threads = options_.threads == 0 ? hardware : options_.threads;
    const std::size_t offload_threads =
        options_.offload_threads == 0 ? std::max<std::size_t>(2, hardware) : options_.offload_threads;
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) {
        workers_.push_back(std::make_unique<worker>(i));
    }
    offload_pool_ = std::make_unique<asio::thread_pool>(offload_threads);
}

runtime::~runtime()
{
    if (started_.load() && !threads_.empty()) {
        request_stop();
        join();
    }
    // Blocking jobs finish before the io_contexts they resume on go away.
    offload_pool_->join();
    for (auto& w : workers_) {
        w->signals.reset();
        w->stop_timer.reset();
        w->keep_running.reset();
    }
    // Destroying an io_context destroys suspended frames, which may unregister
    // stop callbacks of workers already gone.
    destroying_ = true;
    workers_.clear();
}

asio::io_context& runtime::context(std::size_t index)
{
    return workers_.at(index)->context;
}

runtime::executor_type runtime::executor(std::size_t index)
{
    return workers_.at(index)->context.get_executor();
}

runtime* runtime::current() noexcept
{
    return current_runtime;
}
std::size_t runtime::current_worker() noexcept
{
    return current_index;
}

void runtime::report(std::exception_ptr error) const
{
    if (options_.on_unhandled_exception) {
        options_.on_unhandled_exception(error);
    } else {
        detail::report_unhandled(error);
    }
}

void runtime::worker_main(std::size_t index)
{
    worker& w = *workers_[index];
    current_runtime = this;
    current_index = index;
    if (options_.pin_threads) {
        cpu_set_t allowed;
        CPU_ZERO(&allowed);
        if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0) {
            std::size_t nth = index % static_cast<std::size_t>(CPU_COUNT(&allowed));
            for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
                if (CPU_ISSET(cpu, &allowed) && nth-- == 0) {
                    cpu_set_t one;
                    CPU_ZERO(&one);
                    CPU_SET(cpu, &one);
                    pthread_setaffinity_np(pthread_self(), sizeof(one), &one);
                    break;
                }
            }
        }
    }
    if (index == 0 && options_.handle_signals) {
        w.signals.emplace(w.context, SIGINT, SIGTERM);
        w.signals->async_wait([this](std::error_code ec, int) {
            if (!ec) {
                request_stop();
            }
        });
    }
    for (;;) {
        try {
            w.context.run();
            break;
        } catch (...) {
            // Handlers of covet never throw; something foreign did. Keep serving.
            report(std::current_exception());
        }
    }
    current_runtime = nullptr;
}

void runtime::start()
{
    if (started_.exchange(true)) {
        throw std::logic_error("covet::net::runtime: a runtime runs once");
    }
    threads_.reserve(workers_.size());
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        threads_.emplace_back([this, i] { worker_main(i); });
    }
}

void runtime::run()
{
    if (started_.exchange(true)) {
        throw std::logic_error("covet::net::runtime: a runtime runs once");
    }
    threads_.reserve(workers_.size() - 1);
    for (std::size_t i = 1; i < workers_.size(); ++i) {
        threads_.emplace_back([this, i] { worker_main(i); });
    }
    worker_main(0);
    join();
}

void runtime::join()
{
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

void runtime::request_stop()
{
    if (stop_requested_.exchange(true, std::memory_order_acq_rel)) {
        return;
    }
    for (auto& w : workers_) {
        asio::post(w->context, [this, wp = w.get()] { begin_stop(*wp); });
    }
}

void runtime::begin_stop(worker& w)
{
    w.stopping = true;
    if (w.signals) {
        std::error_code ignored;
        w.signals->cancel(ignored);
    }
    std::map<std::uint64_t, std::function<void()>> callbacks;
    {
        std::lock_guard lock(w.stop_mutex);
        callbacks.swap(w.stop_callbacks);
    }
    for (auto& [id, fn] : callbacks) {
        try {
            fn();
        } catch (...) {
            report(std::current_exception());
        }
    }
    w.stop_timer.emplace(w.context, options_.stop_timeout);
    w.stop_timer->async_wait([this, &w](std::error_code ec) {
        if (ec) {
            return;
        }
        cancel_tracked(w);
        w.stop_timer->expires_after(options_.stop_grace);
        w.stop_timer->async_wait([&w](std::error_code ec2) {
            if (!ec2) {
                w.context.stop();  // tasks that ignore cancellation are abandoned
            }
        });
    });
    finish_if_idle(w);
}

void runtime::cancel_tracked(worker& w)
{
    for (auto& t : w.tracked) {
        t.signal.emit(asio::cancellation_type::terminal);
    }
}

void runtime::finish_if_idle(worker& w)
{
    if (w.stopping && w.tracked.empty()) {
        w.context.stop();
    }
}

void runtime::spawn(std::size_t index, task<void> t, std::shared_ptr<const void> keep_alive)
{
    worker& w = *workers_.at(index);
    if (current_runtime == this && current_index == index) {
        spawn_here(w, std::move(t), std::move(keep_alive));
    } else {
        asio::post(w.context, [this, &w, t = std::move(t), keep = std::move(keep_alive)]() mutable {
            spawn_here(w, std::move(t), std::move(keep));
        });
    }
}

void runtime::spawn_here(worker& w, task<void> t, std::shared_ptr<const void> keep_alive)
{
    w.tracked.emplace_front();
    auto it = w.tracked.begin();
    it->keep_alive = std::move(keep_alive);
    asio::co_spawn(w.context, std::move(t),
                   asio::bind_cancellation_slot(it->signal.slot(), [this, &w, it](std::exception_ptr error) {
                       if (error) {
                           report(error);
                       }
                       w.tracked.erase(it);
                       finish_if_idle(w);
                   }));
}

namespace {
// Keeps the factory (and so the captures of a coroutine lambda) alive until the
// task it produced has finished.
task<void> keep_alive(std::shared_ptr<std::function<task<void>(std::size_t)>> factory, task<void> t)
{
    (void)factory;
    co_await std::move(t);
}
}  // namespace

void runtime::spawn_on_each(std::function<task<void>(std::size_t)> factory)
{
    auto shared = std::make_shared<std::function<task<void>(std::size_t)>>(std::move(factory));
    for (auto& w : workers_) {
        asio::post(w->context, [this, wp = w.get(), shared] {
            spawn_here(*wp, keep_alive(shared, (*shared)(wp->index)));
        });
    }
}

stop_registration runtime::on_stop(std::size_t index, std::function<void()> fn)
{
    worker& w = *workers_.at(index);
    const std::uint64_t id = next_stop_id_.fetch_add(1);
    {
        std::lock_guard lock(w.stop_mutex);
        w.stop_callbacks.emplace(id, std::move(fn));
    }
    if (stop_requested()) {
        // begin_stop may already have taken the callbacks: run late ones too.
        asio::post(w.context, [&w, id] {
            std::function<void()> late;
            {
                std::lock_guard lock(w.stop_mutex);
                auto found = w.stop_callbacks.find(id);
                if (found == w.stop_callbacks.end()) {
                    return;
                }
                late = std::move(found->second);
                w.stop_callbacks.erase(found);
            }
            late();
        });
    }
    return stop_registration(this, index, id);
}

void runtime::unregister_stop(std::size_t index, std::uint64_t id) noexcept
{
    if (destroying_ || index >= workers_.size()) {
        return;
    }
    worker& w = *workers_[index];
    std::lock_guard lock(w.stop_mutex);
    w.stop_callbacks.erase(id);
}

std::size_t runtime::tracked_tasks(std::size_t index) const
{
    return workers_.at(index)->tracked.size();
}

// ---------------------------------------------------------------------------

namespace detail {

void report_unhandled(std::exception_ptr error) noexcept
{
    try {
        std::rethrow_exception(error);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet: unhandled exception in a task: %s\n", e.what());
    } catch (...) {
        std::fprintf(stderr, "covet: unhandled non-standard exception in a task\n");
    }
}

asio::thread_pool& current_offload_pool()
{
    if (runtime* rt = runtime::current()) {
        return rt->offload_pool();
    }
    static asio::thread_pool fallback(std::max(2u, std::thread::hardware_concurrency()));
    return fallback;
}

}  // namespace detail
}  // namespace covet::net
