#pragma once
// covet::redis::cache<K, V>: covet::cache's interface over Redis, for apps
// that run as many instances. Values are stored as JSON (covet::json: V must
// be reflected with COVET_REFLECT or be a type covet::json reads and writes);
// keys are strings, integers, or JSON of K, behind a prefix.
//
//   redis::client r({.port = 6379});
//   redis::cache<std::int64_t, user> users(r, {.prefix = "app:users:", .default_ttl = 30s});
//   user u = co_await users.get_or_load(id, [&db](std::int64_t id) { return db.find_user(id); });
//
// Every operation is a coroutine returning result<...>: Redis can be down.
// get_or_load treats an unreachable Redis as a miss (the loader still runs,
// its value is returned) and is single-flight per process (concurrent misses
// for one key in this process run the loader once; other instances may load
// the same key at the same time).
//
// Tags: put(k, v, {.tags = {"user:1"}}) adds the key to a Redis set per tag;
// invalidate_tag deletes the set's keys and the set in one Lua script
// (atomic on the server). invalidate_prefix SCANs (not KEYS) and UNLINKs.
// The cache and its client belong to one thread (see client.hpp).

#include <covet/cache/options.hpp>
#include <covet/cache/single_flight.hpp>
#include <covet/json/read.hpp>
#include <covet/json/write.hpp>
#include <covet/redis/client.hpp>

#include <atomic>
#include <chrono>
#include <concepts>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace covet::redis {

struct cache_options {
    /// Prepended to every key (and to the tag sets: prefix + "tag:" + tag).
    std::string prefix = "covet:cache:";
    /// TTL of entries put without one; zero = no expiry.
    std::chrono::milliseconds default_ttl{0};
};

namespace detail {

std::string escape_glob(std::string_view s);
/// The Lua script of invalidate_tag.
extern const char* const invalidate_tag_script;

}  // namespace detail

template <class K, class V>
class cache {
public:
    cache(client& c, cache_options opts = {}) : client_(&c), options_(std::move(opts)) {}

    /// The value, nullopt on a miss; errors: transport, protocol, or
    /// errc::server_error / json errors as errc::unexpected_reply.
    task<result<std::optional<V>>> get(K key)
    {
        std::vector<std::string> args{"GET", full_key(key)};
        auto reply = co_await client_->command(std::move(args));
        result<std::optional<V>> outcome{std::optional<V>{}};
        if (!reply) {
            outcome = reply.error();
        } else if (reply->is_null()) {
            ++misses_;
        } else if (reply->is_error()) {
            outcome = errc::server_error;
        } else {
            auto parsed = json::parse<V>(reply->text);
            if (parsed) {
                ++hits_;
                outcome = std::optional<V>(std::move(*parsed));
            } else {
                outcome = errc::unexpected_reply;
            }
        }
        co_return outcome;
    }

    /// SET with PX (the entry's TTL, else the default) and the tag sets, in
    /// one pipeline.
    task<result<void>> put(K key, V value, covet::cache::put_options po = {})
    {
        const std::string k = full_key(key);
        const auto ttl =
            po.ttl ? std::chrono::duration_cast<std::chrono::milliseconds>(*po.ttl) : options_.default_ttl;
        std::vector<std::string> set{"SET", k, json::to_string(value)};
        if (ttl.count() > 0) {
            set.push_back("PX");
            set.push_back(std::to_string(ttl.count()));
        }
        pipeline p;
        p.add(set);
        for (const auto& t : po.tags) {
            p.add({"SADD", tag_key(t), k});
        }
        auto replies = co_await client_->execute(std::move(p));
        co_return check(replies);
    }

    task<result<bool>> erase(K key)
    {
        std::vector<std::string> args{"UNLINK", full_key(key)};
        auto reply = co_await client_->command(std::move(args));
        result<bool> outcome{false};
        if (!reply) {
            outcome = reply.error();
        } else if (reply->type != type::integer) {
            outcome = errc::unexpected_reply;
        } else {
            ++invalidations_;
            outcome = reply->integer > 0;
        }
        co_return outcome;
    }

    /// Deletes every key put with `tag`; returns how many existed.
    task<result<std::size_t>> invalidate_tag(std::string tag)
    {
        std::vector<std::string> args{"EVAL", detail::invalidate_tag_script, "1", tag_key(tag)};
        auto reply = co_await client_->command(std::move(args));
        co_return count_reply(reply);
    }

    /// Deletes every key (of this cache's prefix) that starts with `prefix`.
    task<result<std::size_t>> invalidate_prefix(std::string prefix)
    {
        const std::string pattern = detail::escape_glob(options_.prefix + prefix) + "*";
        std::string cursor = "0";
        std::size_t removed = 0;
        result<std::size_t> outcome{std::size_t{0}};
        do {
            std::vector<std::string> scan{"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"};
            auto page = co_await client_->command(std::move(scan));
            if (!page) {
                outcome = page.error();
                break;
            }
            if (page->type != type::array || page->elements.size() != 2) {
                outcome = errc::unexpected_reply;
                break;
            }
            cursor = page->elements[0].text;
            const auto& keys = page->elements[1].elements;
            if (!keys.empty()) {
                std::vector<std::string> unlink{"UNLINK"};
                for (const auto& k : keys) {
                    unlink.push_back(k.text);
                }
                auto n = co_await client_->command(std::move(unlink));
                if (!n || n->type != type::integer) {
                    outcome =
                        n ? result<std::size_t>(errc::unexpected_reply) : result<std::size_t>(n.error());
                    break;
                }
                removed += static_cast<std::size_t>(n->integer);
            }
            outcome = removed;
        } while (cursor != "0");
        if (outcome) {
            invalidations_ += removed;
        }
        co_return outcome;
    }

    /// Hits and misses seen by this process (evictions/expirations are Redis's).
    covet::cache::cache_stats stats() const noexcept
    {
        covet::cache::cache_stats s;
        s.hits = hits_.load();
        s.misses = misses_.load();
        s.invalidations = invalidations_.load();
        return s;
    }

    /// The cached value, or the loader's (stored with the default TTL). The
    /// loader returns task<V> or task<result<V>>, and so does this.
    template <class Loader>
    auto get_or_load(K key, Loader loader)
    {
        using loaded = typename decltype(covet::cache::detail::call_loader(loader, key))::value_type;
        static_assert(std::is_same_v<loaded, V> || std::is_same_v<loaded, covet::result<V>>,
                      "covet::redis::cache::get_or_load: the loader must return task<V> or task<result<V>>");
        return load<loaded>(std::move(key), std::move(loader));
    }

private:
    template <class R, class Loader>
    task<R> load(K key, Loader loader)
    {
        std::optional<V> cached;
        auto got = co_await get(key);
        if (got && *got) {
            cached = std::move(**got);
        }
        if (cached) {
            co_return R(std::move(*cached));
        }
        const std::string k = full_key(key);
        auto make = [this, key, loader]() mutable { return load_and_store<R>(key, std::move(loader)); };
        auto pending = flights_.run(k, std::move(make));
        R out = co_await std::move(pending);
        co_return out;
    }

    template <class R, class Loader>
    task<R> load_and_store(K key, Loader loader)
    {
        auto pending = covet::cache::detail::call_loader(loader, key);
        R loaded = co_await std::move(pending);
        bool store = true;
        if constexpr (!std::is_same_v<R, V>) {
            store = loaded.has_value();
        }
        if (store) {
            const V& v = [&]() -> const V& {
                if constexpr (std::is_same_v<R, V>) {
                    return loaded;
                } else {
                    return *loaded;
                }
            }();
            // A failed store is not the caller's failure: the value is good.
            auto stored = co_await put(key, v);
            (void)stored;
        }
        co_return loaded;
    }

    static result<void> check(const result<std::vector<value>>& replies)
    {
        if (!replies) {
            return replies.error();
        }
        for (const auto& r : *replies) {
            if (r.is_error()) {
                return errc::server_error;
            }
        }
        return {};
    }

    result<std::size_t> count_reply(const result<value>& reply)
    {
        if (!reply) {
            return reply.error();
        }
        if (reply->is_error()) {
            return errc::server_error;
        }
        if (reply->type != type::integer) {
            return errc::unexpected_reply;
        }
        invalidations_ += static_cast<std::uint64_t>(reply->integer);
        return static_cast<std::size_t>(reply->integer);
    }

    std::string full_key(const K& key) const
    {
        std::string out = options_.prefix;
        if constexpr (std::is_convertible_v<const K&, std::string_view>) {
            out += std::string_view(key);
        } else if constexpr (std::is_integral_v<K>) {
            out += std::to_string(key);
        } else {
            out += json::to_string(key);
        }
        return out;
    }

    std::string tag_key(std::string_view tag) const
    {
        std::string out = options_.prefix;
        out += "tag:";
        out += tag;
        return out;
    }

    client* client_;
    cache_options options_;
    covet::cache::single_flight<std::string, V> flights_;
    std::atomic<std::uint64_t> hits_{0};
    std::atomic<std::uint64_t> misses_{0};
    std::atomic<std::uint64_t> invalidations_{0};
};

}  // namespace covet::redis
