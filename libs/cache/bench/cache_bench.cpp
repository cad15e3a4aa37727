// covet::cache against the usual std::unordered_map + std::list LRU, in one
// binary: hit latency (integer keys), shared-flavour throughput with 2
// threads, and hit ratio on a Zipf(0.99) trace at several cache sizes.
#include <covet/cache/cache.hpp>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <random>
#include <unordered_map>
#include <vector>

namespace {

/// The peer: an LRU written the usual way (map to list iterators, splice to
/// the front on a hit, evict the back).
template <class K, class V>
class std_lru {
public:
    explicit std_lru(std::size_t capacity) : capacity_(capacity) {}
    std::optional<V> get(const K& key)
    {
        auto it = map_.find(key);
        if (it == map_.end()) {
            return std::nullopt;
        }
        order_.splice(order_.begin(), order_, it->second);
        return it->second->second;
    }
    void put(const K& key, V value)
    {
        auto it = map_.find(key);
        if (it != map_.end()) {
            it->second->second = std::move(value);
            order_.splice(order_.begin(), order_, it->second);
            return;
        }
        if (map_.size() >= capacity_) {
            map_.erase(order_.back().first);
            order_.pop_back();
        }
        order_.emplace_front(key, std::move(value));
        map_.emplace(key, order_.begin());
    }

private:
    std::size_t capacity_;
    std::list<std::pair<K, V>> order_;
    std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator> map_;
};

/// The peer made thread-safe the usual way: one mutex.
template <class K, class V>
class locked_lru {
public:
    explicit locked_lru(std::size_t capacity) : lru_(capacity) {}
    std::optional<V> get(const K& key)
    {
        std::lock_guard lock(mutex_);
        return lru_.get(key);
    }
    void put(const K& key, V value)
    {
        std::lock_guard lock(mutex_);
        lru_.put(key, std::move(value));
    }

private:
    std::mutex mutex_;
    std_lru<K, V> lru_;
};

constexpr std::uint64_t hot_keys = 10'000;

std::vector<std::uint64_t> random_keys(std::size_t n, std::uint64_t range, std::uint64_t seed)
{
    std::mt19937_64 rng(seed);
    std::vector<std::uint64_t> keys(n);
    for (auto& k : keys) {
        k = rng() % range;
    }
    return keys;
}

template <class Cache>
void hit_loop(benchmark::State& state, Cache& c)
{
    const auto keys = random_keys(4096, hot_keys, 42 + static_cast<std::uint64_t>(state.thread_index()));
    std::size_t i = 0;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        auto v = c.get(keys[i++ & 4095]);
        sum += *v;
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

template <class Cache>
void fill(Cache& c)
{
    for (std::uint64_t k = 0; k < hot_keys; ++k) {
        c.put(k, k);
    }
}

void BM_hit_covet_local(benchmark::State& state)
{
    covet::cache::local_cache<std::uint64_t, std::uint64_t> c({.capacity = 2 * hot_keys});
    fill(c);
    hit_loop(state, c);
}
BENCHMARK(BM_hit_covet_local);

void BM_hit_std_lru(benchmark::State& state)
{
    std_lru<std::uint64_t, std::uint64_t> c(2 * hot_keys);
    fill(c);
    hit_loop(state, c);
}
BENCHMARK(BM_hit_std_lru);

// 1M entries and 1M random keys: every hit misses the CPU caches (the
// latency a big cache sees), unlike the 10 000-entry rows above.
constexpr std::uint64_t big_keys = 1u << 20;

template <class Cache>
void big_hit_loop(benchmark::State& state, Cache& c)
{
    for (std::uint64_t k = 0; k < big_keys; ++k) {
        c.put(k, k);
    }
    const auto keys = random_keys(big_keys, big_keys, 99);
    std::size_t i = 0;
    std::uint64_t sum = 0;
    for (auto _ : state) {
        auto v = c.get(keys[i++ & (big_keys - 1)]);
        sum += *v;
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations());
}

void BM_hit_1M_covet_local(benchmark::State& state)
{
    covet::cache::local_cache<std::uint64_t, std::uint64_t> c({.capacity = 2 * big_keys});
    big_hit_loop(state, c);
}
BENCHMARK(BM_hit_1M_covet_local);

void BM_hit_1M_std_lru(benchmark::State& state)
{
    std_lru<std::uint64_t, std::uint64_t> c(2 * big_keys);
    big_hit_loop(state, c);
}
BENCHMARK(BM_hit_1M_std_lru);

covet::cache::shared_cache<std::uint64_t, std::uint64_t>& shared_instance()
{
    static covet::cache::shared_cache<std::uint64_t, std::uint64_t> c({.capacity = 2 * hot_keys});
    static const bool filled = (fill(c), true);
    (void)filled;
    return c;
}

void BM_hit_covet_shared(benchmark::State& state)
{
    hit_loop(state, shared_instance());
}
BENCHMARK(BM_hit_covet_shared)->Threads(1)->Threads(2)->UseRealTime();

locked_lru<std::uint64_t, std::uint64_t>& locked_instance()
{
    static locked_lru<std::uint64_t, std::uint64_t> c(2 * hot_keys);
    static const bool filled = (fill(c), true);
    (void)filled;
    return c;
}

void BM_hit_std_lru_mutex(benchmark::State& state)
{
    hit_loop(state, locked_instance());
}
BENCHMARK(BM_hit_std_lru_mutex)->Threads(1)->Threads(2)->UseRealTime();

/// 90% reads that hit, 10% writes, on the shared flavour.
void BM_mixed_covet_shared(benchmark::State& state)
{
    auto& c = shared_instance();
    const auto keys = random_keys(4096, hot_keys, 7 + static_cast<std::uint64_t>(state.thread_index()));
    std::size_t i = 0;
    for (auto _ : state) {
        const auto k = keys[i++ & 4095];
        if ((i & 15) == 0) {
            c.put(k, k);
        } else {
            benchmark::DoNotOptimize(c.get(k));
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_mixed_covet_shared)->Threads(1)->Threads(2)->UseRealTime();

void BM_mixed_std_lru_mutex(benchmark::State& state)
{
    auto& c = locked_instance();
    const auto keys = random_keys(4096, hot_keys, 7 + static_cast<std::uint64_t>(state.thread_index()));
    std::size_t i = 0;
    for (auto _ : state) {
        const auto k = keys[i++ & 4095];
        if ((i & 15) == 0) {
            c.put(k, k);
        } else {
            benchmark::DoNotOptimize(c.get(k));
        }
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_mixed_std_lru_mutex)->Threads(1)->Threads(2)->UseRealTime();

// Zipf(0.99) over 1M keys, 2M requests: the skewed workload caches meet.
constexpr std::uint64_t zipf_keys = 1'000'000;
constexpr std::size_t zipf_requests = 2'000'000;

const std::vector<std::uint64_t>& zipf_trace()
{
    static const std::vector<std::uint64_t> trace = [] {
        std::vector<double> cdf(zipf_keys);
        double sum = 0;
        for (std::uint64_t k = 0; k < zipf_keys; ++k) {
            sum += 1.0 / std::pow(static_cast<double>(k + 1), 0.99);
            cdf[k] = sum;
        }
        std::mt19937_64 rng(2026);
        std::uniform_real_distribution<double> u(0, sum);
        // Rank r maps to a scattered key, so hot keys are not neighbours.
        std::vector<std::uint64_t> out(zipf_requests);
        for (auto& k : out) {
            const auto rank =
                static_cast<std::uint64_t>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
            k = covet::cache::detail::mix_hash(rank);
        }
        return out;
    }();
    return trace;
}

/// Cache-aside on the trace; reports the hit ratio (the time is secondary).
template <class Cache>
void zipf_run(benchmark::State& state, Cache& c)
{
    const auto& trace = zipf_trace();
    std::uint64_t hits = 0;
    for (auto _ : state) {
        hits = 0;
        for (const auto k : trace) {
            if (c.get(k)) {
                ++hits;
            } else {
                c.put(k, k);
            }
        }
    }
    state.counters["hit_ratio"] = static_cast<double>(hits) / static_cast<double>(trace.size());
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(trace.size()));
}

void BM_zipf_covet_s3fifo(benchmark::State& state)
{
    covet::cache::local_cache<std::uint64_t, std::uint64_t> c(
        {.capacity = static_cast<std::size_t>(state.range(0))});
    zipf_run(state, c);
}
BENCHMARK(BM_zipf_covet_s3fifo)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

void BM_zipf_std_lru(benchmark::State& state)
{
    std_lru<std::uint64_t, std::uint64_t> c(static_cast<std::size_t>(state.range(0)));
    zipf_run(state, c);
}
BENCHMARK(BM_zipf_std_lru)
    ->Arg(1'000)
    ->Arg(10'000)
    ->Arg(100'000)
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
