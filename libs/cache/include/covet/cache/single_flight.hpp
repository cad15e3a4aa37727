#pragma once
// covet::cache::single_flight<K, V>: runs one load per key at a time; callers
// that ask for a key while its load runs wait for it and share its value, its
// error result or its exception. Thread-safe (one mutex); waiters resume on
// their own executors. The caches' get_or_load has this built in; this is for
// other backends (covet::redis::cache) and for plain deduplication.

#include <covet/cache/detail/flight.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

namespace covet::cache {

template <class K, class V, class Hash = std::hash<K>, class Eq = std::equal_to<K>>
class single_flight {
    using flight_type = detail::flight<V>;

public:
    /// `make()` returns task<V> or task<result<V>>; it runs only if no load of
    /// `key` is in progress. Returns the same kind as `make()`'s task.
    template <class Make>
    auto run(K key, Make make)
    {
        using loaded = typename decltype(make())::value_type;
        static_assert(std::is_same_v<loaded, V> || std::is_same_v<loaded, covet::result<V>>,
                      "covet::cache::single_flight::run: make() must return task<V> or task<result<V>>");
        return run_impl<loaded>(std::move(key), std::move(make));
    }

    /// Loads in progress right now.
    std::size_t in_flight() const
    {
        std::lock_guard lock(mutex_);
        return flights_.size();
    }

private:
    struct completer {
        single_flight* owner;
        const K* key;
        std::shared_ptr<flight_type> f;
        bool completed = false;

        void complete()
        {
            completed = true;
            std::vector<std::unique_ptr<detail::waiter_base>> waiters;
            {
                std::lock_guard lock(owner->mutex_);
                if (auto it = owner->flights_.find(*key); it != owner->flights_.end() && it->second == f) {
                    owner->flights_.erase(it);
                }
                f->done = true;
                waiters.swap(f->waiters);
            }
            for (auto& w : waiters) {
                w->resume();
            }
        }
        ~completer()
        {
            if (!completed) {
                f->error = std::make_exception_ptr(load_abandoned{});
                complete();
            }
        }
    };

    template <class R, class Make>
    task<R> run_impl(K key, Make make)
    {
        std::shared_ptr<flight_type> f;
        bool lead = false;
        {
            std::lock_guard lock(mutex_);
            if (auto it = flights_.find(key); it != flights_.end()) {
                f = it->second;
            } else {
                f = std::make_shared<flight_type>();
                flights_.emplace(key, f);
                lead = true;
            }
        }
        if (lead) {
            completer done{this, &key, f};
            co_await detail::run_into<R>(make(), f.get());
            done.complete();
        } else {
            co_await detail::wait_for_flight(mutex_, f);
        }
        co_return detail::flight_outcome<R>(*f);
    }

    mutable std::mutex mutex_;
    std::unordered_map<K, std::shared_ptr<flight_type>, Hash, Eq> flights_;
};

}  // namespace covet::cache
