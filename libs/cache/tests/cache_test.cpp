// The in-process caches: S3-FIFO eviction order, weights, TTL with an
// injected clock, invalidation by key/tag/prefix/predicate, statistics, and
// the shared flavour under concurrent use.
#include <covet/cache/cache.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

namespace cache = covet::cache;
using namespace std::chrono_literals;

TEST_CASE("get/put/erase and statistics")
{
    cache::local_cache<int, std::string> c({.capacity = 100});
    CHECK_FALSE(c.get(1));
    CHECK(c.put(1, "one"));
    CHECK(c.put(2, "two"));
    CHECK(c.get(1) == "one");
    CHECK(c.put(1, "uno"));
    CHECK(c.get(1) == "uno");
    CHECK(c.erase(2));
    CHECK_FALSE(c.erase(2));
    CHECK_FALSE(c.get(2));
    const auto s = c.stats();
    CHECK(s.hits == 2);
    CHECK(s.misses == 2);
    CHECK(s.invalidations == 1);
    CHECK(s.size == 1);
    CHECK(s.hit_ratio() == doctest::Approx(0.5));
}

TEST_CASE("eviction: one-hit wonders leave through the small queue, keys read again stay")
{
    // Capacity 10 → small queue target 1. Keys 0..9 are read once each, then
    // a scan of 100 keys read never: S3-FIFO moves 0..9 to main, evicts the
    // oldest of them (0) to make room for the first scan key, and from then on
    // every scan key pushes out the previous one. An LRU would keep only the
    // last 10 scan keys.
    cache::local_cache<int, int> c({.capacity = 10});
    for (int k = 0; k < 10; ++k) {
        c.put(k, k);
    }
    for (int k = 0; k < 10; ++k) {
        REQUIRE(c.get(k) == k);
    }
    for (int k = 100; k < 200; ++k) {
        c.put(k, k);
    }
    CHECK_FALSE(c.get(0));
    for (int k = 1; k < 10; ++k) {
        CHECK(c.get(k) == k);
    }
    for (int k = 100; k < 199; ++k) {
        CHECK_FALSE(c.get(k));
    }
    CHECK(c.get(199) == 199);
    CHECK(c.stats().size == 10);
    CHECK(c.stats().evictions == 100);
}

TEST_CASE("eviction: a key evicted recently (ghost) comes back into the main queue")
{
    cache::local_cache<int, int> c({.capacity = 10});
    for (int k = 0; k < 10; ++k) {
        c.put(k, k);
    }
    c.put(10, 10);  // evicts 0 from the small queue into the ghost queue
    CHECK_FALSE(c.get(0));
    c.put(0, 0);  // remembered: straight to main
    // A scan now only churns the small queue; 0 is never read again yet stays.
    for (int k = 100; k < 130; ++k) {
        c.put(k, k);
    }
    CHECK(c.get(0) == 0);
}

TEST_CASE("eviction: main queue gives read entries a second chance (oldest unread goes first)")
{
    cache::local_cache<int, int> c({.capacity = 10});
    for (int k = 0; k < 10; ++k) {
        c.put(k, k);
        c.get(k);
    }
    c.put(100, 100);  // all of 0..9 move to main; 0 (oldest, unread in main) leaves
    CHECK_FALSE(c.get(0));
    c.get(1);         // 1 read in main: survives the next main eviction
    c.get(100);       // 100 read in small: promoted on the next eviction
    c.put(101, 101);  // small tail 100 → main; small empty → main evicts: 1 gets a second chance, 2 goes
    CHECK(c.get(1) == 1);
    CHECK_FALSE(c.get(2));
    CHECK(c.get(100) == 100);
    CHECK(c.get(101) == 101);
}

TEST_CASE("capacity in bytes with a size function")
{
    cache::local_cache<std::string, std::string> c(
        {.capacity = 100,
         .size_of = [](const std::string& k, const std::string& v) { return k.size() + v.size(); }});
    CHECK(c.put("a", std::string(40, 'x')));
    CHECK(c.put("b", std::string(40, 'y')));
    CHECK(c.stats().weight == 82);
    CHECK(c.put("c", std::string(40, 'z')));  // 123 > 100: one goes
    CHECK(c.stats().weight <= 100);
    CHECK(c.stats().evictions == 1);
    CHECK(c.get("c"));
    CHECK_FALSE(c.put("huge", std::string(200, 'h')));  // heavier than the whole cache
    CHECK_FALSE(c.get("huge"));
    CHECK(c.put("c", "small"));  // replacing adjusts the weight
    CHECK(c.stats().weight <= 100);
    CHECK(c.get("c") == "small");
}

TEST_CASE("TTL: per entry and default, read against an injected clock")
{
    cache::manual_clock clock;
    cache::local_cache<int, int> c({.capacity = 100, .default_ttl = 10s, .clock = clock.fn()});
    c.put(1, 1);                // default 10 s
    c.put(2, 2, {.ttl = 30s});  // its own
    c.put(3, 3, {.ttl = 0s});   // never expires
    clock.advance(9s);
    CHECK(c.get(1) == 1);
    clock.advance(2s);
    CHECK_FALSE(c.get(1));
    CHECK(c.get(2) == 2);
    clock.advance(20s);
    CHECK_FALSE(c.get(2));
    clock.advance(1000h);
    CHECK(c.get(3) == 3);
    const auto s = c.stats();
    CHECK(s.expirations == 2);
    CHECK(s.size == 1);
    c.put(1, 1);  // a put restarts the TTL
    clock.advance(5s);
    CHECK(c.get(1) == 1);
}

TEST_CASE("invalidation by tag, prefix, predicate, and clear")
{
    cache::shared_cache<std::string, int> c({.capacity = 1000, .shards = 4});
    c.put("user:1:name", 1, {.tags = {"user:1"}});
    c.put("user:1:posts", 2, {.tags = {"user:1", "posts"}});
    c.put("user:2:name", 3, {.tags = {"user:2"}});
    c.put("user:2:posts", 4, {.tags = {"user:2", "posts"}});
    c.put("config", 5);
    CHECK(c.invalidate_tag("user:1") == 2);
    CHECK_FALSE(c.get("user:1:name"));
    CHECK_FALSE(c.get("user:1:posts"));
    CHECK(c.invalidate_tag("user:1") == 0);
    CHECK(c.invalidate_tag("posts") == 1);
    CHECK(c.get("user:2:name") == 3);
    c.put("user:2:posts", 4, {.tags = {"posts"}});
    CHECK(c.invalidate_prefix("user:2:") == 2);
    CHECK(c.size() == 1);
    c.put("a", 10);
    c.put("b", 11);
    CHECK(c.invalidate_if([](const std::string&, int v) { return v >= 10; }) == 2);
    CHECK(c.get("config") == 5);
    c.clear();
    CHECK(c.size() == 0);
    CHECK(c.stats().invalidations == 8);
    // A re-tagged entry loses its old tags.
    c.put("k", 1, {.tags = {"old"}});
    c.put("k", 2, {.tags = {"new"}});
    CHECK(c.invalidate_tag("old") == 0);
    CHECK(c.invalidate_tag("new") == 1);
}

TEST_CASE("shared_cache: 4 threads reading and writing overlapping keys")
{
    cache::shared_cache<int, int> c({.capacity = 512, .shards = 8});
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&c, &wrong, t] {
            for (int i = 0; i < 20'000; ++i) {
                const int k = (i * 7 + t) % 1024;
                if (auto v = c.get(k); v && *v != k * 3) {
                    ++wrong;
                }
                c.put(k, k * 3);
                if (i % 1000 == 0) {
                    c.erase(k);
                }
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(wrong == 0);
    const auto s = c.stats();
    CHECK(s.size <= 512);
    CHECK(s.hits + s.misses == 80'000);
}
