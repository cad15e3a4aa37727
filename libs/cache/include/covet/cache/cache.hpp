#pragma once
// covet::cache: in-process key/value caches with the S3-FIFO eviction policy,
// capacity in entries or weight, per-entry and default TTL, invalidation by
// key, tag, prefix or predicate, statistics, and a single-flight
// `co_await get_or_load(key, loader)` with optional stale-while-revalidate.
//
// Two flavours with one interface:
//   local_cache<K, V>   one thread (a runtime worker's own cache): no locks.
//   shared_cache<K, V>  any threads: N shards, each behind its own mutex.
//
//   covet::cache::shared_cache<std::int64_t, user> users({.capacity = 100'000,
//                                                        .default_ttl = 30s});
//   user u = co_await users.get_or_load(id, [&db](std::int64_t id) { return db.find_user(id); });
//
// Values are returned by copy (store a shared_ptr<const T> for big values).
// The cache must outlive every get_or_load on it.

#include <covet/base/result.hpp>
#include <covet/cache/detail/flight.hpp>
#include <covet/cache/detail/store.hpp>
#include <covet/cache/options.hpp>
#include <covet/net/task.hpp>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>
#include <asio/this_coro.hpp>

#include <bit>
#include <concepts>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace covet::cache {

template <class K, class V, bool Shared, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
class basic_cache {
    using store_type = detail::store<K, V, Hash, Eq>;
    using flight_type = detail::flight<V>;
    using mutex_type = std::conditional_t<Shared, std::mutex, detail::null_mutex>;

    struct alignas(64) shard {
        shard(std::size_t capacity, const cache_options<K, V>* opts) : store(capacity, opts) {}
        mutex_type mutex;
        store_type store;
        std::unordered_map<K, std::shared_ptr<flight_type>, Hash, Eq> loading;
    };

public:
    using key_type = K;
    using mapped_type = V;

    explicit basic_cache(cache_options<K, V> options = {}) : options_(std::move(options))
    {
        std::size_t n = 1;
        if constexpr (Shared) {
            n = std::bit_ceil(options_.shards == 0 ? std::size_t{16} : options_.shards);
            mask_ = n - 1;
        }
        const std::size_t per_shard = (options_.capacity + n - 1) / n;
        shards_.reserve(n);
        for (std::size_t i = 0; i < n; ++i) {
            shards_.push_back(std::make_unique<shard>(per_shard, &options_));
        }
    }
    basic_cache(const basic_cache&) = delete;
    basic_cache& operator=(const basic_cache&) = delete;

    /// The fresh value of `key` (a hit), or nullopt (a miss; an expired entry
    /// inside its stale-while-revalidate window is a miss here, only
    /// get_or_load serves it).
    std::optional<V> get(const K& key)
    {
        shard& s = shard_for(key);
        std::lock_guard lock(s.mutex);
        auto [n, state] = s.store.lookup(key);
        if (state == detail::found::fresh) {
            return n->second.value;
        }
        if (state == detail::found::stale) {
            s.store.count_miss();
        }
        return std::nullopt;
    }

    /// Stores `value` (replacing any entry). False when the entry alone weighs
    /// more than the (shard's) capacity: it is not stored.
    bool put(const K& key, V value, const put_options& options = {})
    {
        shard& s = shard_for(key);
        std::lock_guard lock(s.mutex);
        return s.store.put(key, std::move(value), options);
    }

    /// Removes `key`; a load of it in progress will not be cached.
    bool erase(const K& key)
    {
        shard& s = shard_for(key);
        std::lock_guard lock(s.mutex);
        if (auto it = s.loading.find(key); it != s.loading.end()) {
            it->second->invalidated = true;
        }
        return s.store.erase(key);
    }

    /// Removes every entry stored with tag `tag`. Loads in progress are not
    /// cached. Cost: the tagged entries.
    std::size_t invalidate_tag(std::string_view tag)
    {
        return for_each_shard([tag](store_type& st) { return st.erase_tag(tag); });
    }

    /// Removes every entry whose key starts with `prefix` (string-like keys).
    /// Cost: a scan of the whole cache.
    std::size_t invalidate_prefix(
        std::string_view prefix) requires std::convertible_to<const K&, std::string_view>
    {
        return invalidate_if(
            [prefix](const K& k, const V&) { return std::string_view(k).starts_with(prefix); });
    }

    /// Removes every entry for which pred(key, value) is true. Cost: a scan.
    template <class Pred>
    std::size_t invalidate_if(Pred pred)
    {
        return for_each_shard([&pred](store_type& st) { return st.erase_if(pred); });
    }

    void clear()
    {
        for_each_shard([](store_type& st) {
            st.clear();
            return std::size_t{0};
        });
    }

    cache_stats stats() const
    {
        cache_stats total;
        for (const auto& s : shards_) {
            std::lock_guard lock(s->mutex);
            total += s->store.stats();
        }
        return total;
    }

    std::size_t size() const { return stats().size; }

    /// The value of `key`; on a miss, runs `loader` and caches its value with
    /// the default TTL. Single flight: while a load of `key` runs, other
    /// get_or_load calls for it (from any thread, for shared_cache) wait for
    /// it and all get its value, its error or its exception.
    ///
    /// `loader` is called as loader(key) or loader() and returns task<V> (an
    /// exception reaches every waiter and nothing is cached) or
    /// task<result<V>> (an error reaches every waiter and nothing is cached).
    /// get_or_load returns the same kind. With stale_while_revalidate, an
    /// expired entry inside the window is returned at once and one background
    /// load (spawned on the caller's executor, owning `loader`) refreshes it.
    template <class Loader>
    auto get_or_load(K key, Loader loader)
    {
        using loaded = typename decltype(detail::call_loader(loader, key))::value_type;
        static_assert(std::is_same_v<loaded, V> || std::is_same_v<loaded, covet::result<V>>,
                      "covet::cache::get_or_load: the loader must return task<V> or task<result<V>>");
        return load<loaded>(std::move(key), std::move(loader));
    }

private:
    template <class R, class Loader>
    task<R> load(K key, Loader loader)
    {
        shard& s = shard_for(key);
        std::optional<V> cached;
        std::shared_ptr<flight_type> f;
        bool lead = false;
        bool refresh = false;
        {
            std::lock_guard lock(s.mutex);
            auto [n, state] = s.store.lookup(key);
            if (state != detail::found::absent) {
                cached = n->second.value;
                if (state == detail::found::stale) {
                    s.store.count_hit();
                    if (!s.loading.contains(key)) {
                        f = std::make_shared<flight_type>();
                        s.loading.emplace(key, f);
                        refresh = true;
                    }
                }
            } else if (auto it = s.loading.find(key); it != s.loading.end()) {
                f = it->second;
            } else {
                f = std::make_shared<flight_type>();
                s.loading.emplace(key, f);
                lead = true;
            }
        }
        if (cached) {
            if (refresh) {
                auto executor = co_await asio::this_coro::executor;
                asio::co_spawn(executor, run_load<R>(key, std::move(loader), f), asio::detached);
            }
            co_return R(std::move(*cached));
        }
        if (lead) {
            co_await run_load<R>(key, std::move(loader), f);
        } else {
            co_await detail::wait_for_flight(s.mutex, f);
        }
        co_return detail::flight_outcome<R>(*f);
    }

    /// Completes a flight exactly once: with the loader's outcome, or, if the
    /// leader's frame dies first, with load_abandoned.
    struct flight_completer {
        basic_cache* cache;
        K key;
        std::shared_ptr<flight_type> f;
        bool completed = false;

        void complete()
        {
            completed = true;
            shard& s = cache->shard_for(key);
            std::vector<std::unique_ptr<detail::waiter_base>> waiters;
            {
                std::lock_guard lock(s.mutex);
                if (f->value && !f->invalidated) {
                    s.store.put(key, *f->value, {});
                }
                if (auto it = s.loading.find(key); it != s.loading.end() && it->second == f) {
                    s.loading.erase(it);
                }
                f->done = true;
                waiters.swap(f->waiters);
            }
            for (auto& w : waiters) {
                w->resume();
            }
        }
        ~flight_completer()
        {
            if (!completed) {
                f->error = std::make_exception_ptr(load_abandoned{});
                complete();
            }
        }
    };

    template <class R, class Loader>
    task<void> run_load(K key, Loader loader, std::shared_ptr<flight_type> f)
    {
        flight_completer completer{this, key, f};
        co_await detail::run_into<R>(detail::call_loader(loader, key), f.get());
        completer.complete();
    }

    template <class Fn>
    std::size_t for_each_shard(Fn&& fn)
    {
        std::size_t total = 0;
        for (auto& s : shards_) {
            std::lock_guard lock(s->mutex);
            for (auto& [k, f] : s->loading) {
                f->invalidated = true;
            }
            total += fn(s->store);
        }
        return total;
    }

    shard& shard_for(const K& key)
    {
        if constexpr (Shared) {
            return *shards_[detail::mix_hash(Hash{}(key)) & mask_];
        } else {
            return *shards_.front();
        }
    }

    cache_options<K, V> options_;
    std::vector<std::unique_ptr<shard>> shards_;
    std::size_t mask_ = 0;
};

/// For one thread (or one runtime worker): no locks. Not thread-safe.
template <class K, class V, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
using local_cache = basic_cache<K, V, false, Hash, Eq>;

/// Safe from any number of threads: sharded, one mutex per shard.
template <class K, class V, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
using shared_cache = basic_cache<K, V, true, Hash, Eq>;

}  // namespace covet::cache
