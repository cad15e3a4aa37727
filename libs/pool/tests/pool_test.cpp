#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/pool/pool.hpp>

#include <doctest/doctest.h>
#include <asio/this_coro.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using covet::result;
using covet::task;
using covet::net::block_on;
using covet::pool::pool;

namespace {

// A fake connection that counts how many are alive.
struct counters {
    std::atomic<int> made{0};
    std::atomic<int> alive{0};
    std::atomic<int> fail_next{0};
};

struct conn {
    conn(int id_, counters* c_) : id(id_), c(c_) { ++c->alive; }
    conn(conn&& o) noexcept : id(o.id), c(std::exchange(o.c, nullptr)), healthy(o.healthy) {}
    conn& operator=(conn&&) = delete;
    ~conn()
    {
        if (c != nullptr) {
            --c->alive;
        }
    }
    int id;
    counters* c;
    bool healthy = true;
};

using conn_pool = pool<conn>;

conn_pool::factory_type factory(counters& c, std::chrono::milliseconds delay = 0ms)
{
    return [&c, delay]() -> task<result<conn>> {
        if (delay.count() > 0) {
            co_await covet::net::sleep_for(delay);
        }
        if (c.fail_next > 0) {
            --c.fail_next;
            co_return covet::errc::invalid_argument;
        }
        co_return conn(++c.made, &c);
    };
}

// Holds an acquired handle for `hold`, recording the order of acquisition.
task<void> hold_for(conn_pool& p, std::chrono::milliseconds hold, std::vector<int>* order, int tag,
                    std::vector<std::error_code>* errors)
{
    auto h = co_await p.acquire();
    if (!h) {
        if (errors != nullptr) {
            errors->push_back(h.error());
        }
        co_return;
    }
    if (order != nullptr) {
        order->push_back(tag);
    }
    co_await covet::net::sleep_for(hold);
}

}  // namespace

TEST_CASE("acquire makes a resource and release returns it for reuse")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 4});
    block_on([&]() -> task<void> {
        {
            auto h = co_await p.acquire();
            REQUIRE(h);
            CHECK((*h)->id == 1);
            CHECK(p.stats().in_use == 1);
        }
        auto again = co_await p.acquire();
        REQUIRE(again);
        CHECK((*again)->id == 1);  // reused, not remade
    }());
    auto m = p.stats();
    CHECK(m.created == 1);
    CHECK(m.acquired == 2);
    CHECK(m.in_use == 0);
    CHECK(m.idle == 1);
    CHECK(c.alive == 1);
    p.close();
    CHECK(c.alive == 0);
}

TEST_CASE("try_acquire takes only an idle resource")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 1});
    CHECK(!p.try_acquire());
    block_on([&]() -> task<void> { auto h = co_await p.acquire(); }());
    auto h = p.try_acquire();
    REQUIRE(h);
    CHECK((*h)->id == 1);
    CHECK(!p.try_acquire());
}

TEST_CASE("exhaustion: waiters are served FIFO as resources return")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 2});
    std::vector<int> order;
    block_on([&]() -> task<void> {
        auto ex = co_await asio::this_coro::executor;
        for (int tag = 1; tag <= 5; ++tag) {
            covet::net::spawn(ex, hold_for(p, 30ms, &order, tag, nullptr));
        }
        co_await covet::net::sleep_for(10ms);
        auto m = p.stats();
        CHECK(m.in_use == 2);
        CHECK(m.waiting == 3);
        co_await covet::net::sleep_for(200ms);
    }());
    CHECK(order == std::vector<int>{1, 2, 3, 4, 5});
    CHECK(c.made == 2);  // never more than max_size
    auto m = p.stats();
    CHECK(m.waiting == 0);
    CHECK(m.in_use == 0);
    CHECK(m.acquired == 5);
}

TEST_CASE("acquire times out when every resource stays in use")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 1});
    block_on([&]() -> task<void> {
        auto held = co_await p.acquire();
        REQUIRE(held);
        const auto start = std::chrono::steady_clock::now();
        auto second = co_await p.acquire(50ms);
        CHECK(std::chrono::steady_clock::now() - start >= 45ms);
        REQUIRE(!second);
        CHECK(second.error() == covet::errc::timed_out);
    }());
    auto m = p.stats();
    CHECK(m.timeouts == 1);
    CHECK(m.waiting == 0);
}

TEST_CASE("the acquire timeout also bounds a slow factory")
{
    counters c;
    conn_pool p(factory(c, 10s), {.max_size = 1});
    block_on([&]() -> task<void> {
        auto h = co_await p.acquire(50ms);
        REQUIRE(!h);
        CHECK(h.error() == covet::errc::timed_out);
    }());
    CHECK(p.size() == 0);  // the reserved place is given back
    CHECK(p.stats().create_failures == 1);
}

TEST_CASE("a factory error reaches the caller and frees the place")
{
    counters c;
    c.fail_next = 1;
    conn_pool p(factory(c), {.max_size = 1});
    block_on([&]() -> task<void> {
        auto h = co_await p.acquire();
        REQUIRE(!h);
        CHECK(h.error() == covet::errc::invalid_argument);
        auto retry = co_await p.acquire();
        CHECK(retry);
    }());
    CHECK(p.stats().create_failures == 1);
}

TEST_CASE("a broken resource is destroyed and a waiter gets a fresh one")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 1});
    block_on([&]() -> task<void> {
        auto h = co_await p.acquire();
        REQUIRE(h);
        std::vector<int> order;
        auto ex = co_await asio::this_coro::executor;
        covet::net::spawn(ex, hold_for(p, 1ms, &order, 7, nullptr));
        co_await covet::net::sleep_for(5ms);
        CHECK(p.stats().waiting == 1);
        h->mark_broken();
        h->reset();  // destroyed, and the waiter may make a new one
        CHECK(c.alive == 0);
        co_await covet::net::sleep_for(30ms);
        CHECK(order == std::vector<int>{7});
        auto next = co_await p.acquire();
        REQUIRE(next);
        CHECK((*next)->id == 2);
    }());
    auto m = p.stats();
    CHECK(m.created == 2);
    CHECK(m.destroyed == 1);
}

TEST_CASE("validation on acquire and on release destroys failing resources")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 2});
    p.validate_on_release([](conn& x) { return x.healthy; });
    int acquire_checks = 0;
    p.validate_on_acquire([&acquire_checks](conn& x) {
        ++acquire_checks;
        return x.id != 2;
    });
    block_on([&]() -> task<void> {
        {
            auto a = co_await p.acquire();
            auto b = co_await p.acquire();
            REQUIRE(a);
            REQUIRE(b);
            (*a)->healthy = false;  // fails release validation
        }
        CHECK(c.alive == 1);  // a destroyed, b (id 2) parked
        auto h = co_await p.acquire();
        REQUIRE(h);
        CHECK((*h)->id == 3);  // id 2 failed acquire validation, so a new one
    }());
    CHECK(acquire_checks == 1);
    CHECK(p.stats().destroyed == 2);
}

TEST_CASE("idle resources past idle_timeout are evicted")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 2, .idle_timeout = 40ms});
    block_on([&]() -> task<void> {
        auto a = co_await p.acquire();
        auto b = co_await p.acquire();
    }());
    CHECK(p.stats().idle == 2);
    CHECK(p.evict_expired() == 0);
    std::this_thread::sleep_for(80ms);
    CHECK(p.evict_expired() == 2);
    CHECK(c.alive == 0);
    CHECK(p.size() == 0);
}

TEST_CASE("resources past max_lifetime are replaced on acquire and release")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 1, .max_lifetime = 40ms});
    block_on([&]() -> task<void> {
        {
            auto h = co_await p.acquire();
        }
        co_await covet::net::sleep_for(80ms);
        {
            auto h = co_await p.acquire();  // the idle one expired: a new one
            REQUIRE(h);
            CHECK((*h)->id == 2);
            co_await covet::net::sleep_for(80ms);
        }  // expired while in use: destroyed on release
        CHECK(p.stats().idle == 0);
    }());
    CHECK(c.alive == 0);
    CHECK(p.stats().destroyed == 2);
}

TEST_CASE("fill and maintain keep min_size resources")
{
    counters c;
    conn_pool p(factory(c), {.min_size = 2, .max_size = 4, .idle_timeout = 30ms});
    block_on([&]() -> task<void> {
        auto filled = co_await p.fill();
        CHECK(filled);
        CHECK(p.stats().idle == 2);
        auto ex = co_await asio::this_coro::executor;
        covet::net::spawn(ex, p.maintain(20ms));
        co_await covet::net::sleep_for(150ms);  // idle ones expire and are remade
        // A maintain() round may be between evicting and remaking (fill awaits
        // each factory call), so wait a bounded time for the round to finish.
        for (int i = 0; i < 200 && (p.size() != 2 || p.stats().creating != 0); ++i) {
            co_await covet::net::sleep_for(5ms);
        }
        CHECK(p.size() == 2);
        CHECK(p.stats().idle == 2);
        p.close();
        co_await covet::net::sleep_for(40ms);  // maintain() notices and ends
    }());
    CHECK(c.made > 2);
    CHECK(c.alive == 0);
}

TEST_CASE("close wakes every waiter with shutting_down and refuses new acquires")
{
    counters c;
    auto p = std::make_unique<conn_pool>(factory(c), covet::pool::options{.max_size = 1});
    std::vector<std::error_code> errors;
    block_on([&]() -> task<void> {
        auto held = co_await p->acquire();
        REQUIRE(held);
        auto ex = co_await asio::this_coro::executor;
        for (int i = 0; i < 3; ++i) {
            covet::net::spawn(ex, hold_for(*p, 1ms, nullptr, i, &errors));
        }
        co_await covet::net::sleep_for(5ms);
        CHECK(p->stats().waiting == 3);
        p->close();
        auto late = co_await p->acquire();
        REQUIRE(!late);
        CHECK(late.error() == covet::errc::shutting_down);
        held->reset();  // released after close: destroyed
        CHECK(c.alive == 0);
        p.reset();  // the woken waiters must not touch the destroyed pool
        co_await covet::net::sleep_for(10ms);
    }());
    REQUIRE(errors.size() == 3);
    for (auto& e : errors) {
        CHECK(e == covet::errc::shutting_down);
    }
}

TEST_CASE("a cancelled acquire leaves the queue")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 1});
    block_on([&]() -> task<void> {
        auto held = co_await p.acquire();
        auto slow = p.acquire(10s);
        auto r = co_await covet::net::with_timeout(std::move(slow), 30ms);
        REQUIRE(!r);
        CHECK(r.error() == covet::errc::timed_out);
        CHECK(p.stats().waiting == 0);
        held->reset();
        auto again = co_await p.acquire(100ms);
        CHECK(again);
    }());
}

TEST_CASE("shared mode: workers on several threads share one pool")
{
    counters c;
    conn_pool p(factory(c), {.max_size = 3, .acquire_timeout = 10s, .mode = covet::pool::mode::shared});
    std::atomic<int> done{0};
    std::atomic<int> failures{0};
    std::atomic<int> overlap_violations{0};
    std::atomic<int> holding{0};
    {
        covet::net::runtime rt({.threads = 4, .handle_signals = false});
        for (std::size_t w = 0; w < rt.size(); ++w) {
            rt.spawn(w,
                     [](conn_pool& shared_pool, std::atomic<int>& finished, std::atomic<int>& failed,
                        std::atomic<int>& held, std::atomic<int>& violations) -> task<void> {
                         for (int i = 0; i < 200; ++i) {
                             auto h = co_await shared_pool.acquire();
                             if (!h) {
                                 ++failed;
                                 continue;
                             }
                             if (++held > 3) {
                                 ++violations;
                             }
                             if (i % 50 == 0) {
                                 co_await covet::net::sleep_for(1ms);
                             }
                             --held;
                         }
                         ++finished;
                     }(p, done, failures, holding, overlap_violations));
        }
        std::thread stopper([&rt, &done] {
            for (int i = 0; i < 1000 && done < 4; ++i) {
                std::this_thread::sleep_for(10ms);
            }
            rt.request_stop();
        });
        rt.run();
        stopper.join();
    }
    CHECK(done == 4);
    CHECK(failures == 0);
    CHECK(overlap_violations == 0);
    CHECK(c.made <= 3);
    auto m = p.stats();
    CHECK(m.acquired == 800);
    CHECK(m.in_use == 0);
    CHECK(m.waiting == 0);
}
