// get_or_load: single flight on one thread and across threads, loader
// exceptions and error results reaching every waiter, nothing cached on
// failure, invalidation during a load, stale-while-revalidate.
#include <covet/cache/cache.hpp>
#include <covet/cache/single_flight.hpp>
#include <covet/net/spawn.hpp>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace cache = covet::cache;
using covet::task;
using namespace std::chrono_literals;

namespace {

task<void> pause(std::chrono::milliseconds d)
{
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    co_await timer.async_wait(asio::use_awaitable);
}

/// A loader that counts its calls and takes `delay` to answer key * 10.
struct slow_loader {
    std::atomic<int>* calls;
    std::chrono::milliseconds delay;
    task<int> operator()(int key) const
    {
        ++*calls;
        co_await pause(delay);
        co_return key * 10;
    }
};

template <class Cache>
task<void> get_into(Cache* c, int key, slow_loader loader, std::vector<int>* out)
{
    const int v = co_await c->get_or_load(key, loader);
    out->push_back(v);
}

}  // namespace

TEST_CASE("single flight on one thread: 20 concurrent misses run the loader once")
{
    cache::local_cache<int, int> c({.capacity = 100});
    std::atomic<int> calls{0};
    std::vector<int> got;
    asio::io_context io{1};
    for (int i = 0; i < 20; ++i) {
        asio::co_spawn(io, get_into(&c, 7, slow_loader{&calls, 20ms}, &got), asio::detached);
    }
    asio::co_spawn(io, get_into(&c, 8, slow_loader{&calls, 5ms}, &got), asio::detached);
    io.run_for(5s);
    CHECK(calls == 2);
    REQUIRE(got.size() == 21);
    CHECK(std::count(got.begin(), got.end(), 70) == 20);
    CHECK(got.front() == 80);  // the other key did not wait for key 7
    CHECK(c.get(7) == 70);
    // Now cached: no loader call.
    const int again = covet::net::block_on(c.get_or_load(7, slow_loader{&calls, 1ms}));
    CHECK(again == 70);
    CHECK(calls == 2);
}

TEST_CASE("single flight across threads: shared_cache, two io_contexts on two threads")
{
    cache::shared_cache<int, int> c({.capacity = 1000});
    std::atomic<int> calls{0};
    std::vector<int> got_a;
    std::vector<int> got_b;
    asio::io_context a{1};
    asio::io_context b{1};
    for (int i = 0; i < 10; ++i) {
        for (int key = 0; key < 5; ++key) {
            asio::co_spawn(a, get_into(&c, key, slow_loader{&calls, 50ms}, &got_a), asio::detached);
            asio::co_spawn(b, get_into(&c, key, slow_loader{&calls, 50ms}, &got_b), asio::detached);
        }
    }
    std::thread tb([&b] { b.run_for(10s); });
    a.run_for(10s);
    tb.join();
    CHECK(calls == 5);
    CHECK(got_a.size() == 50);
    CHECK(got_b.size() == 50);
    for (int v : got_a) {
        CHECK(v % 10 == 0);
    }
    CHECK(c.stats().size == 5);
}

namespace {

task<void> expect_throw(cache::local_cache<int, int>* c, int key, std::atomic<int>* calls,
                        std::vector<std::string>* out)
{
    try {
        (void)co_await c->get_or_load(key, [calls]() -> task<int> {
            ++*calls;
            co_await pause(10ms);
            throw std::runtime_error("database down");
        });
        out->push_back("value");
    } catch (const std::runtime_error& e) {
        out->push_back(e.what());
    }
}

task<void> expect_error(cache::local_cache<int, int>* c, int key, std::atomic<int>* calls,
                        std::vector<std::error_code>* out)
{
    covet::result<int> r = co_await c->get_or_load(key, [calls](int) -> task<covet::result<int>> {
        ++*calls;
        co_await pause(10ms);
        co_return covet::errc::timed_out;
    });
    out->push_back(r.error());
}

}  // namespace

TEST_CASE("a loader's exception reaches every waiter and nothing is cached")
{
    cache::local_cache<int, int> c;
    std::atomic<int> calls{0};
    std::vector<std::string> got;
    asio::io_context io{1};
    for (int i = 0; i < 5; ++i) {
        asio::co_spawn(io, expect_throw(&c, 1, &calls, &got), asio::detached);
    }
    io.run_for(5s);
    CHECK(calls == 1);
    CHECK(got == std::vector<std::string>(5, "database down"));
    CHECK_FALSE(c.get(1));
    // The next call runs the loader again.
    const int v = covet::net::block_on(c.get_or_load(1, []() -> task<int> { co_return 11; }));
    CHECK(v == 11);
}

TEST_CASE("a loader's error result reaches every waiter and nothing is cached")
{
    cache::local_cache<int, int> c;
    std::atomic<int> calls{0};
    std::vector<std::error_code> got;
    asio::io_context io{1};
    for (int i = 0; i < 4; ++i) {
        asio::co_spawn(io, expect_error(&c, 2, &calls, &got), asio::detached);
    }
    io.run_for(5s);
    CHECK(calls == 1);
    REQUIRE(got.size() == 4);
    for (const auto& ec : got) {
        CHECK(ec == covet::errc::timed_out);
    }
    CHECK(c.stats().size == 0);
    auto ok = covet::net::block_on(
        c.get_or_load(2, [](int k) -> task<covet::result<int>> { co_return covet::result<int>(k + 1); }));
    REQUIRE(ok);
    CHECK(*ok == 3);
    CHECK(c.get(2) == 3);
}

TEST_CASE("erase during a load: waiters get the value, the cache does not keep it")
{
    cache::local_cache<int, int> c;
    std::atomic<int> calls{0};
    std::vector<int> got;
    asio::io_context io{1};
    asio::co_spawn(io, get_into(&c, 3, slow_loader{&calls, 30ms}, &got), asio::detached);
    asio::co_spawn(
        io,
        [](cache::local_cache<int, int>* cp) -> task<void> {
            co_await pause(5ms);
            cp->erase(3);
        }(&c),
        asio::detached);
    io.run_for(5s);
    CHECK(got == std::vector<int>{30});
    CHECK_FALSE(c.get(3));
}

TEST_CASE("a leader destroyed mid-load wakes its waiters with load_abandoned")
{
    cache::local_cache<int, int> c;
    std::atomic<int> calls{0};
    std::vector<std::string> got;
    {
        auto leader_io = std::make_unique<asio::io_context>(1);
        asio::co_spawn(*leader_io, get_into(&c, 4, slow_loader{&calls, 10s}, nullptr), asio::detached);
        leader_io->run_for(20ms);  // the leader is now suspended inside its loader
        asio::io_context waiter_io{1};
        asio::co_spawn(
            waiter_io,
            [](cache::local_cache<int, int>* cp, std::vector<std::string>* out) -> task<void> {
                try {
                    (void)co_await cp->get_or_load(4, []() -> task<int> { co_return 1; });
                    out->push_back("value");
                } catch (const cache::load_abandoned&) {
                    out->push_back("abandoned");
                }
            }(&c, &got),
            asio::detached);
        waiter_io.run_for(20ms);
        CHECK(got.empty());
        // leader_io dies here: its frames are destroyed, the flight completes.
        leader_io.reset();
        waiter_io.restart();
        waiter_io.run_for(1s);
    }
    CHECK(calls == 1);
    CHECK(got == std::vector<std::string>{"abandoned"});
}

TEST_CASE("stale-while-revalidate: an expired entry is served once while one background load refreshes it")
{
    cache::manual_clock clock;
    cache::local_cache<int, int> c(
        {.capacity = 100, .default_ttl = 10s, .stale_while_revalidate = 5s, .clock = clock.fn()});
    std::atomic<int> calls{0};
    c.put(1, 100);
    clock.advance(12s);     // expired, inside the window
    CHECK_FALSE(c.get(1));  // plain get does not serve stale entries
    std::vector<int> got;
    asio::io_context io{1};
    for (int i = 0; i < 3; ++i) {
        asio::co_spawn(io, get_into(&c, 1, slow_loader{&calls, 10ms}, &got), asio::detached);
    }
    io.run_for(5s);
    CHECK(got == std::vector<int>{100, 100, 100});
    CHECK(calls == 1);
    CHECK(c.get(1) == 10);  // refreshed
    clock.advance(16s);     // past expiry + window: a real miss
    const int v = covet::net::block_on(c.get_or_load(1, slow_loader{&calls, 1ms}));
    CHECK(v == 10);
    CHECK(calls == 2);
}

TEST_CASE("single_flight: concurrent runs of one key share one load, other keys run their own")
{
    cache::single_flight<std::string, int> flights;
    std::atomic<int> calls{0};
    std::vector<int> got;
    asio::io_context io{1};
    auto one = [](cache::single_flight<std::string, int>* sf, std::string key, std::atomic<int>* c,
                  std::vector<int>* out) -> task<void> {
        const int v = co_await sf->run(key, [c, n = static_cast<int>(key.size())]() -> task<int> {
            ++*c;
            co_await pause(10ms);
            co_return n;
        });
        out->push_back(v);
    };
    for (int i = 0; i < 5; ++i) {
        asio::co_spawn(io, one(&flights, "abc", &calls, &got), asio::detached);
    }
    asio::co_spawn(io, one(&flights, "abcdef", &calls, &got), asio::detached);
    io.run_for(5s);
    CHECK(calls == 2);
    CHECK(got.size() == 6);
    CHECK(std::count(got.begin(), got.end(), 3) == 5);
    CHECK(flights.in_flight() == 0);
}
