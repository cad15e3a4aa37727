#pragma once
// Options, per-entry settings and statistics shared by covet::cache's
// in-process flavours (local_cache, shared_cache).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace covet::cache {

using clock_type = std::chrono::steady_clock;
/// Where the cache reads "now". Empty = std::chrono::steady_clock::now. Tests
/// inject a manual_clock; the clock is read only for entries that have a TTL.
using clock_fn = std::function<clock_type::time_point()>;

template <class K, class V>
struct cache_options {
    /// Capacity in the units of `size_of`: entries by default, bytes (or any
    /// weight) with a size function. A shared_cache splits it evenly over its
    /// shards, so one entry may weigh at most capacity / shards.
    std::size_t capacity = 10'000;
    /// Weight of one entry; empty = 1 per entry.
    std::function<std::size_t(const K&, const V&)> size_of{};
    /// TTL of entries stored without one; zero = they never expire.
    std::chrono::nanoseconds default_ttl{0};
    /// get_or_load serves an entry this long past its expiry (a hit) and
    /// reloads it in the background, once. Zero = off.
    std::chrono::nanoseconds stale_while_revalidate{0};
    /// shared_cache only: number of shards (rounded up to a power of two);
    /// 0 = 16. local_cache has one.
    std::size_t shards = 0;
    clock_fn clock{};
};

/// Settings of one put().
struct put_options {
    /// This entry's TTL; nullopt = the cache's default_ttl; zero = never expires.
    std::optional<std::chrono::nanoseconds> ttl{};
    /// Tags for invalidate_tag() ("user:42", "products").
    std::vector<std::string> tags{};
};

struct cache_stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    /// Entries removed to make room.
    std::uint64_t evictions = 0;
    /// Entries found expired (and removed).
    std::uint64_t expirations = 0;
    /// Entries removed by erase / invalidate_* / clear.
    std::uint64_t invalidations = 0;
    /// Entries and their total weight right now.
    std::size_t size = 0;
    std::size_t weight = 0;

    double hit_ratio() const noexcept
    {
        const auto total = hits + misses;
        return total == 0 ? 0.0 : static_cast<double>(hits) / static_cast<double>(total);
    }
    cache_stats& operator+=(const cache_stats& o) noexcept
    {
        hits += o.hits;
        misses += o.misses;
        evictions += o.evictions;
        expirations += o.expirations;
        invalidations += o.invalidations;
        size += o.size;
        weight += o.weight;
        return *this;
    }
};

/// A clock for tests: starts at an arbitrary point and moves only when told.
/// Copies share the same time. Thread-safe.
class manual_clock {
public:
    manual_clock() : now_(std::make_shared<std::atomic<std::int64_t>>(1'000'000'000)) {}
    void advance(std::chrono::nanoseconds d) noexcept { now_->fetch_add(d.count()); }
    clock_type::time_point now() const noexcept
    {
        return clock_type::time_point(std::chrono::nanoseconds(now_->load()));
    }
    /// For cache_options::clock.
    clock_fn fn() const
    {
        return [now = now_] { return clock_type::time_point(std::chrono::nanoseconds(now->load())); };
    }

private:
    std::shared_ptr<std::atomic<std::int64_t>> now_;
};

}  // namespace covet::cache
