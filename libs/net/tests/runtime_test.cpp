#include "net_test_support.hpp"

#include <covet/net/listener.hpp>
#include <covet/net/offload.hpp>
#include <covet/net/per_thread.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>

#include <doctest/doctest.h>

#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include <signal.h>
#include <unistd.h>

using namespace std::chrono_literals;
using covet::task;
using covet::net::runtime;
using covet::net::testing::background_runtime;
using covet::net::testing::eventually;

TEST_CASE("runtime has the requested number of workers, each on its own thread")
{
    background_runtime bg;
    REQUIRE(bg.rt.size() == 2);
    std::mutex m;
    std::set<std::thread::id> threads;
    std::set<std::size_t> indices;
    std::atomic<int> done{0};
    bg.rt.spawn_on_each([&](std::size_t i) -> task<void> {
        std::lock_guard lock(m);
        threads.insert(std::this_thread::get_id());
        indices.insert(i);
        CHECK(runtime::current() == &bg.rt);
        CHECK(runtime::current_worker() == i);
        ++done;
        co_return;
    });
    REQUIRE(eventually([&] { return done == 2; }));
    CHECK(threads.size() == 2);
    CHECK(threads.count(std::this_thread::get_id()) == 0);
    CHECK(indices == std::set<std::size_t>{0, 1});
}

TEST_CASE("graceful stop waits for in-flight tracked tasks")
{
    auto options = background_runtime::default_options();
    runtime rt(options);
    std::atomic<bool> finished{false};
    rt.spawn(1, [](std::atomic<bool>& flag) -> task<void> {
        co_await covet::net::sleep_for(150ms);
        flag = true;
    }(finished));
    rt.start();
    std::this_thread::sleep_for(20ms);
    const auto before = std::chrono::steady_clock::now();
    rt.request_stop();
    rt.join();
    CHECK(finished.load());
    CHECK(std::chrono::steady_clock::now() - before >= 100ms);
}

TEST_CASE("spawn keeps keep_alive until the task has finished, then releases it")
{
    background_runtime bg;
    // A coroutine lambda reading its capture: safe while its owner is kept alive.
    auto owner =
        std::make_shared<std::function<task<void>()>>([value = std::make_shared<int>(42)]() -> task<void> {
            co_await covet::net::sleep_for(50ms);
            CHECK(*value == 42);
        });
    std::weak_ptr<std::function<task<void>()>> watch = owner;
    task<void> t = (*owner)();
    bg.rt.spawn(0, std::move(t), std::move(owner));
    std::this_thread::sleep_for(10ms);
    CHECK_FALSE(watch.expired());  // the task is still running
    REQUIRE(eventually([&] { return watch.expired(); }));
}

TEST_CASE("stop deadline cancels tasks that would run forever")
{
    auto options = background_runtime::default_options();
    options.stop_timeout = 100ms;
    runtime rt(options);
    std::atomic<bool> saw_cancel{false};
    rt.spawn(0, [](std::atomic<bool>& flag) -> task<void> {
        auto ec = co_await covet::net::sleep_for(1h);
        flag = (ec == std::errc::operation_canceled);
    }(saw_cancel));
    rt.start();
    const auto before = std::chrono::steady_clock::now();
    rt.request_stop();
    rt.join();
    const auto took = std::chrono::steady_clock::now() - before;
    CHECK(saw_cancel.load());
    CHECK(took >= 90ms);
    CHECK(took < 5s);
}

TEST_CASE("stop callbacks run on their worker when a stop is requested")
{
    background_runtime bg;
    std::atomic<int> ran{0};
    std::atomic<bool> right_thread{true};
    auto reg0 = bg.rt.on_stop(0, [&] {
        right_thread = right_thread && runtime::current_worker() == 0;
        ++ran;
    });
    auto reg1 = bg.rt.on_stop(1, [&] {
        right_thread = right_thread && runtime::current_worker() == 1;
        ++ran;
    });
    auto dropped = bg.rt.on_stop(1, [&] { ran += 100; });
    dropped.reset();  // unregistered: must not run
    bg.rt.request_stop();
    bg.rt.join();
    CHECK(ran == 2);
    CHECK(right_thread.load());
}

TEST_CASE("exceptions escaping a task are reported and the worker keeps serving")
{
    auto options = background_runtime::default_options();
    std::atomic<int> reported{0};
    options.on_unhandled_exception = [&](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::runtime_error& err) {
            CHECK(std::string(err.what()) == "boom");
            ++reported;
        }
    };
    background_runtime bg(options);
    bg.rt.spawn(0, []() -> task<void> {
        throw std::runtime_error("boom");
        co_return;
    }());
    REQUIRE(eventually([&] { return reported == 1; }));
    std::atomic<bool> still_alive{false};
    bg.rt.spawn(0, [](std::atomic<bool>& flag) -> task<void> {
        flag = true;
        co_return;
    }(still_alive));
    CHECK(eventually([&] { return still_alive.load(); }));
}

namespace {
struct offload_probe {
    std::atomic<bool> done{false};
    std::thread::id worker_before, worker_after, in_pool;
    int value = 0;
    std::size_t worker_index_after = 99;
};

task<void> offload_and_record(offload_probe& p)
{
    p.worker_before = std::this_thread::get_id();
    p.value = co_await covet::net::offload([&p] {
        p.in_pool = std::this_thread::get_id();
        std::this_thread::sleep_for(20ms);  // blocking work
        return 42;
    });
    p.worker_after = std::this_thread::get_id();
    p.worker_index_after = runtime::current_worker();
    p.done = true;
}

task<void> offload_throwing(std::atomic<bool>& caught)
{
    try {
        co_await covet::net::offload([]() -> int { throw std::invalid_argument("bad input"); });
    } catch (const std::invalid_argument& e) {
        caught = std::string(e.what()) == "bad input";
    }
}

task<void> offload_blocking(std::atomic<bool>& done)
{
    co_await covet::net::offload([] { std::this_thread::sleep_for(200ms); });
    done = true;
}

task<void> tick_until(std::atomic<bool>& done, std::atomic<int>& ticks)
{
    while (!done) {
        co_await covet::net::sleep_for(5ms);
        ++ticks;
    }
}
}  // namespace

TEST_CASE("offload runs on the pool and resumes on the calling worker")
{
    background_runtime bg;
    offload_probe probe;
    bg.rt.spawn(1, offload_and_record(probe));
    REQUIRE(eventually([&] { return probe.done.load(); }));
    CHECK(probe.value == 42);
    CHECK(probe.worker_before == probe.worker_after);
    CHECK(probe.worker_index_after == 1);
    CHECK(probe.in_pool != probe.worker_before);
}

TEST_CASE("offload rethrows the blocking function's exception in the caller")
{
    background_runtime bg;
    std::atomic<bool> caught{false};
    bg.rt.spawn(0, offload_throwing(caught));
    CHECK(eventually([&] { return caught.load(); }));
}

TEST_CASE("offload does not block the worker's event loop")
{
    background_runtime bg;
    std::atomic<bool> blocking_done{false};
    std::atomic<int> ticks{0};
    bg.rt.spawn(0, offload_blocking(blocking_done));
    bg.rt.spawn(0, tick_until(blocking_done, ticks));
    REQUIRE(eventually([&] { return blocking_done.load(); }));
    CHECK(ticks > 5);
}

TEST_CASE("block_on returns the value of a task")
{
    int v = covet::net::block_on([]() -> task<int> {
        co_await covet::net::sleep_for(1ms);
        co_return 7;
    }());
    CHECK(v == 7);
    CHECK_THROWS_AS(covet::net::block_on([]() -> task<void> {
                        throw std::logic_error("x");
                        co_return;
                    }()),
                    std::logic_error);
}

TEST_CASE("per_thread gives each worker its own instance")
{
    background_runtime bg;
    covet::net::per_thread<std::size_t> counters(bg.rt, [](std::size_t i) { return i * 10; });
    std::atomic<int> checked{0};
    bg.rt.spawn_on_each([&](std::size_t i) -> task<void> {
        CHECK(counters.local() == i * 10);
        ++counters.local();
        ++checked;
        co_return;
    });
    REQUIRE(eventually([&] { return checked == 2; }));
    bg.rt.request_stop();
    bg.rt.join();
    CHECK(counters[0] == 1);
    CHECK(counters[1] == 11);
}

TEST_CASE("SIGTERM triggers a graceful stop")
{
    auto options = background_runtime::default_options();
    options.handle_signals = true;
    runtime rt(options);
    std::atomic<bool> stop_seen{false};
    auto reg = rt.on_stop(0, [&] { stop_seen = true; });
    rt.start();
    // The signal set is installed by worker 0 once it runs.
    std::atomic<bool> ready{false};
    rt.spawn(0, [](std::atomic<bool>& r) -> task<void> {
        r = true;
        co_return;
    }(ready));
    REQUIRE(eventually([&] { return ready.load(); }));
    ::kill(::getpid(), SIGTERM);
    rt.join();
    CHECK(stop_seen.load());
    CHECK(rt.stop_requested());
}

namespace {
bool has_fd_of_kind(const std::string& kind)
{
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        auto target = std::filesystem::read_symlink(entry.path(), ec);
        if (!ec && target.string() == kind) {
            return true;
        }
    }
    return false;
}
}  // namespace

TEST_CASE("the configured I/O backend is the one in use")
{
    background_runtime bg;
    // The reactor is created with the first I/O object.
    auto l = covet::net::listener::start(bg.rt, {.address = "127.0.0.1"},
                                         [](covet::net::tcp_stream) -> task<void> { co_return; });
    REQUIRE(l.has_value());
#if defined(COVET_NET_IO_URING)
    CHECK(has_fd_of_kind("anon_inode:[io_uring]"));
#else
    CHECK(has_fd_of_kind("anon_inode:[eventpoll]"));
    CHECK_FALSE(has_fd_of_kind("anon_inode:[io_uring]"));
#endif
}
