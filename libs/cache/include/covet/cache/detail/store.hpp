#pragma once
// detail::store: one single-threaded cache shard with the S3-FIFO policy
// (Yang et al., SOSP'23): a small FIFO that new keys enter (10% of the
// capacity), a main FIFO with lazy promotion, and a ghost FIFO of recently
// evicted key hashes that admits a returning key straight to main.
//
// Why S3-FIFO and not LRU: a hit only bumps a 2-bit counter (no list surgery,
// so hits are cheap and touch one cache line), one-hit wonders leave through
// the small queue without pushing hot keys out, and on the Zipf workload of
// libs/cache/bench it hits more often than an LRU of the same size (numbers in
// docs/benchmarks.md).

#include <covet/cache/options.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace covet::cache::detail {

/// A strong 64-bit mix of std::hash (which is the identity for integers):
/// picks shards and keys the ghost queue.
inline std::uint64_t mix_hash(std::uint64_t h) noexcept
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

inline constexpr std::int64_t never = std::numeric_limits<std::int64_t>::max();

enum class found { absent, fresh, stale };

template <class K, class V, class Hash, class Eq>
class store {
public:
    struct entry;
    using map_type = std::unordered_map<K, entry, Hash, Eq>;
    using node = typename map_type::value_type;

    struct entry {
        V value;
        std::int64_t expires = never;      // clock ns; never = no TTL
        std::int64_t stale_until = never;  // expires + stale_while_revalidate
        std::size_t weight = 1;
        node* prev = nullptr;  // towards the head (newer)
        node* next = nullptr;  // towards the tail (older)
        std::uint8_t freq = 0;
        bool in_main = false;
        std::vector<std::string> tags{};
    };

    store(std::size_t capacity, const cache_options<K, V>* opts)
        : capacity_(std::max<std::size_t>(capacity, 1)), opts_(opts)
    {
        small_target_ = std::max<std::size_t>(capacity_ / 10, 1);
    }
    store(const store&) = delete;
    store& operator=(const store&) = delete;

    std::int64_t now() const
    {
        const auto t = opts_->clock ? opts_->clock() : clock_type::now();
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    }

    /// Finds `key`. fresh: counts a hit. stale: expired but inside the
    /// stale-while-revalidate window (kept, not counted). absent: counts a
    /// miss (an entry past its window is removed).
    std::pair<node*, found> lookup(const K& key)
    {
        auto it = map_.find(key);
        if (it == map_.end()) {
            ++stats_.misses;
            return {nullptr, found::absent};
        }
        node* n = &*it;
        entry& e = n->second;
        if (e.expires != never) {
            const std::int64_t t = now();
            if (t >= e.expires) {
                if (t < e.stale_until) {
                    return {n, found::stale};
                }
                ++stats_.expirations;
                ++stats_.misses;
                remove(n);
                return {nullptr, found::absent};
            }
        }
        if (e.freq < 3) {
            ++e.freq;
        }
        ++stats_.hits;
        return {n, found::fresh};
    }

    void count_hit() noexcept { ++stats_.hits; }
    void count_miss() noexcept { ++stats_.misses; }

    /// Inserts or replaces. False (and the key is gone) when the entry alone
    /// weighs more than the capacity.
    bool put(const K& key, V value, const put_options& po)
    {
        const std::size_t w = opts_->size_of ? opts_->size_of(key, value) : 1;
        const auto ttl = po.ttl ? *po.ttl : opts_->default_ttl;
        std::int64_t expires = never;
        std::int64_t stale_until = never;
        if (ttl.count() > 0) {
            expires = now() + ttl.count();
            stale_until = expires + opts_->stale_while_revalidate.count();
        }
        auto it = map_.find(key);
        if (w > capacity_) {
            if (it != map_.end()) {
                remove(&*it);
            }
            return false;
        }
        node* n = nullptr;
        if (it != map_.end()) {
            n = &*it;
            entry& e = n->second;
            untag(n);
            queue_of(e).weight -= e.weight;
            weight_ -= e.weight;
            e.value = std::move(value);
            e.weight = w;
            queue_of(e).weight += w;
            weight_ += w;
            e.expires = expires;
            e.stale_until = stale_until;
            e.tags = po.tags;
            tag(n);
            while (weight_ > capacity_) {
                evict_one(n);
            }
            return true;
        }
        while (weight_ + w > capacity_ && weight_ > 0) {
            evict_one(nullptr);
        }
        const bool returning = ghost_take(Hash{}(key));
        auto [pos, inserted] = map_.try_emplace(key, entry{std::move(value), expires, stale_until, w});
        (void)inserted;
        n = &*pos;
        n->second.tags = po.tags;
        n->second.in_main = returning;
        push_head(queue_of(n->second), n);
        weight_ += w;
        tag(n);
        return true;
    }

    bool erase(const K& key)
    {
        auto it = map_.find(key);
        if (it == map_.end()) {
            return false;
        }
        ++stats_.invalidations;
        remove(&*it);
        return true;
    }

    template <class Pred>
    std::size_t erase_if(Pred&& pred)
    {
        std::vector<node*> doomed;
        for (auto& kv : map_) {
            if (pred(kv.first, kv.second.value)) {
                doomed.push_back(&kv);
            }
        }
        for (node* n : doomed) {
            remove(n);
        }
        stats_.invalidations += doomed.size();
        return doomed.size();
    }

    std::size_t erase_tag(std::string_view t)
    {
        auto it = tags_.find(std::string(t));
        if (it == tags_.end()) {
            return 0;
        }
        const std::vector<node*> doomed(it->second.begin(), it->second.end());
        for (node* n : doomed) {
            remove(n);
        }
        stats_.invalidations += doomed.size();
        return doomed.size();
    }

    void clear()
    {
        stats_.invalidations += map_.size();
        map_.clear();
        tags_.clear();
        small_ = {};
        main_ = {};
        ghost_order_.clear();
        ghost_.clear();
        weight_ = 0;
    }

    cache_stats stats() const noexcept
    {
        cache_stats s = stats_;
        s.size = map_.size();
        s.weight = weight_;
        return s;
    }
    std::size_t size() const noexcept { return map_.size(); }

private:
    struct fifo {
        node* head = nullptr;
        node* tail = nullptr;
        std::size_t weight = 0;
    };

    fifo& queue_of(const entry& e) noexcept { return e.in_main ? main_ : small_; }

    static void push_head(fifo& q, node* n) noexcept
    {
        entry& e = n->second;
        e.prev = nullptr;
        e.next = q.head;
        if (q.head) {
            q.head->second.prev = n;
        } else {
            q.tail = n;
        }
        q.head = n;
        q.weight += e.weight;
    }

    static void unlink(fifo& q, node* n) noexcept
    {
        entry& e = n->second;
        (e.prev ? e.prev->second.next : q.head) = e.next;
        (e.next ? e.next->second.prev : q.tail) = e.prev;
        e.prev = e.next = nullptr;
        q.weight -= e.weight;
    }

    void tag(node* n)
    {
        for (const auto& t : n->second.tags) {
            tags_[t].insert(n);
        }
    }
    void untag(node* n)
    {
        for (const auto& t : n->second.tags) {
            auto it = tags_.find(t);
            if (it != tags_.end()) {
                it->second.erase(n);
                if (it->second.empty()) {
                    tags_.erase(it);
                }
            }
        }
    }

    void remove(node* n)
    {
        unlink(queue_of(n->second), n);
        untag(n);
        weight_ -= n->second.weight;
        map_.erase(n->first);
    }

    /// Makes room by one entry. `keep` (an entry being replaced) is skipped
    /// by the queues' walk only in the sense that it may be evicted last.
    void evict_one(node* keep)
    {
        if (small_.weight >= small_target_ || main_.head == nullptr) {
            if (evict_small(keep)) {
                return;
            }
        }
        evict_main(keep);
    }

    /// The small queue's tail leaves: to main if it was read since it came
    /// in, else out (its hash to the ghost queue). True once one entry left
    /// the cache.
    bool evict_small(node* keep)
    {
        while (node* t = small_.tail) {
            entry& e = t->second;
            if (e.freq > 0 || t == keep) {
                unlink(small_, t);
                e.freq = 0;
                e.in_main = true;
                push_head(main_, t);
                continue;
            }
            ghost_put(Hash{}(t->first));
            ++stats_.evictions;
            remove(t);
            return true;
        }
        return false;
    }

    /// The main queue's tail leaves unless it was read: then it goes back to
    /// the head with one read fewer (a CLOCK-like second chance).
    void evict_main(node* keep)
    {
        while (node* t = main_.tail) {
            entry& e = t->second;
            if (e.freq > 0 && t != main_.head) {
                unlink(main_, t);
                --e.freq;
                push_head(main_, t);
                continue;
            }
            if (t == keep && t != main_.head) {
                unlink(main_, t);
                push_head(main_, t);
                continue;
            }
            ++stats_.evictions;
            remove(t);
            return;
        }
    }

    // The ghost queue remembers as many evicted keys as the cache holds.
    void ghost_put(std::size_t h)
    {
        const std::uint64_t g = mix_hash(h);
        ghost_order_.push_back(g);
        ++ghost_[g];
        const std::size_t limit = std::max<std::size_t>(map_.size(), 16);
        while (ghost_order_.size() > limit) {
            const std::uint64_t old = ghost_order_.front();
            ghost_order_.pop_front();
            auto it = ghost_.find(old);
            if (it != ghost_.end() && --it->second == 0) {
                ghost_.erase(it);
            }
        }
    }
    bool ghost_take(std::size_t h)
    {
        if (ghost_.empty()) {
            return false;
        }
        auto it = ghost_.find(mix_hash(h));
        if (it == ghost_.end()) {
            return false;
        }
        // The stale entry in ghost_order_ ages out by itself.
        if (--it->second == 0) {
            ghost_.erase(it);
        }
        return true;
    }

    map_type map_;
    fifo small_;
    fifo main_;
    std::size_t capacity_;
    std::size_t small_target_;
    std::size_t weight_ = 0;
    const cache_options<K, V>* opts_;
    std::unordered_map<std::string, std::unordered_set<node*>> tags_;
    std::deque<std::uint64_t> ghost_order_;
    std::unordered_map<std::uint64_t, std::uint32_t> ghost_;
    cache_stats stats_;
};

}  // namespace covet::cache::detail
