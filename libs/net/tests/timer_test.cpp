#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>

#include <doctest/doctest.h>

#include <chrono>

using namespace std::chrono_literals;
using covet::task;
using covet::net::block_on;

namespace {

task<int> slow_value(std::chrono::milliseconds delay, int value)
{
    co_await covet::net::sleep_for(delay);
    co_return value;
}

task<covet::result<int>> slow_result(std::chrono::milliseconds delay)
{
    auto ec = co_await covet::net::sleep_for(delay);
    if (ec) {
        co_return ec;  // cancelled by with_timeout
    }
    co_return 5;
}

task<void> slow_void(std::chrono::milliseconds delay, bool& finished)
{
    auto ec = co_await covet::net::sleep_for(delay);
    finished = !ec;
}

}  // namespace

TEST_CASE("sleep_for waits at least the duration")
{
    const auto start = std::chrono::steady_clock::now();
    auto ec = block_on(covet::net::sleep_for(30ms));
    CHECK(!ec);
    CHECK(std::chrono::steady_clock::now() - start >= 30ms);
}

TEST_CASE("with_timeout returns the value when the operation is fast enough")
{
    auto r = block_on(covet::net::with_timeout(slow_value(1ms, 9), 2s));
    REQUIRE(r.has_value());
    CHECK(*r == 9);
}

TEST_CASE("with_timeout returns timed_out and cancels a slow operation")
{
    const auto start = std::chrono::steady_clock::now();
    auto r = block_on(covet::net::with_timeout(slow_value(10s, 9), 50ms));
    const auto took = std::chrono::steady_clock::now() - start;
    REQUIRE(!r.has_value());
    CHECK(r.error() == covet::errc::timed_out);
    CHECK(took >= 50ms);
    CHECK(took < 5s);  // the slow operation was cancelled, not waited for
}

TEST_CASE("with_timeout flattens an operation that already returns a result")
{
    covet::result<int> fast = block_on(covet::net::with_timeout(slow_result(1ms), 1s));
    REQUIRE(fast);
    CHECK(*fast == 5);
    covet::result<int> slow = block_on(covet::net::with_timeout(slow_result(10s), 20ms));
    CHECK(slow.error() == covet::errc::timed_out);
}

TEST_CASE("with_timeout on a void operation")
{
    bool finished = false;
    auto ok = block_on(covet::net::with_timeout(slow_void(1ms, finished), 1s));
    CHECK(ok.has_value());
    CHECK(finished);
    finished = false;
    auto late = block_on(covet::net::with_timeout(slow_void(10s, finished), 20ms));
    CHECK(late.error() == covet::errc::timed_out);
    CHECK(!finished);
}
