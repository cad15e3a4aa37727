// The Redis client and redis::cache against a real redis-server started by
// the test (redis_server.hpp): commands, pipelining, timeouts, reconnects,
// RESP3, JSON values with TTL, tags, prefixes, single-flight get_or_load.
#include "redis_server.hpp"

#include <covet/json/json.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/redis/cache.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace redis = covet::redis;
namespace net = covet::net;
using covet::task;
using namespace std::chrono_literals;

namespace {

struct user {
    std::int64_t id = 0;
    std::string name;
    std::vector<std::string> roles;
};
COVET_REFLECT(user, id, name, roles);

redis::options local(std::uint16_t port)
{
    redis::options o;
    o.port = port;
    o.command_timeout = 2s;
    return o;
}

}  // namespace

TEST_CASE("redis client: commands, error replies as values, a 1000-command pipeline")
{
    test_support::redis_server server;
    if (!server.available()) {
        return;
    }
    net::block_on([](std::uint16_t port) -> task<void> {
        redis::client r(local(port));
        auto pong = co_await r.command("PING");
        REQUIRE(pong.has_value());
        CHECK(pong->text == "PONG");
        auto set = co_await r.command("SET", "greeting", "hello\r\nworld");
        REQUIRE(set.has_value());
        CHECK(set->text == "OK");
        auto get = co_await r.command("GET", "greeting");
        REQUIRE(get.has_value());
        CHECK(get->text == "hello\r\nworld");
        auto missing = co_await r.command("GET", "nope");
        REQUIRE(missing.has_value());
        CHECK(missing->is_null());
        auto wrong = co_await r.command("NOSUCHCOMMAND");
        REQUIRE(wrong.has_value());  // an error reply is a value
        CHECK(wrong->is_error());
        CHECK(wrong->text.starts_with("ERR"));

        redis::pipeline p;
        for (int i = 0; i < 1000; ++i) {
            p.add({"INCR", "counter"});
        }
        p.add({"GET", "counter"});
        auto replies = co_await r.execute(std::move(p));
        REQUIRE(replies.has_value());
        REQUIRE(replies->size() == 1001);
        CHECK((*replies)[999].integer == 1000);
        CHECK(replies->back().text == "1000");
        CHECK(r.connections_made() == 1);
    }(server.port()));
}

TEST_CASE("redis client: a timed-out command fails with timed_out and its connection is replaced")
{
    test_support::redis_server server;
    if (!server.available()) {
        return;
    }
    net::block_on([](std::uint16_t port) -> task<void> {
        auto o = local(port);
        o.command_timeout = 100ms;
        redis::client r(o);
        auto slow = co_await r.command("DEBUG", "SLEEP", "0.5");
        REQUIRE_FALSE(slow.has_value());
        CHECK(slow.error() == covet::errc::timed_out);
        co_await net::sleep_for(600ms);
        auto ok = co_await r.command("PING");
        REQUIRE(ok.has_value());
        CHECK(ok->text == "PONG");
        CHECK(r.connections_made() == 2);
    }(server.port()));
}

TEST_CASE("redis client: reconnects after the server restarts, refused connections are errors")
{
    test_support::redis_server server;
    if (!server.available()) {
        return;
    }
    redis::client* shared = nullptr;
    // One block_on: the client (and its sockets) live and die inside it; the
    // restart happens in offload-free blocking code between awaits.
    net::block_on([](test_support::redis_server* srv, redis::client** out) -> task<void> {
        redis::client r(local(srv->port()));
        *out = &r;
        auto a = co_await r.command("SET", "k", "1");
        REQUIRE(a.has_value());
        srv->stop();
        auto down = co_await r.command("GET", "k");
        CHECK_FALSE(down.has_value());  // the idle connection is dead and a new one is refused
        srv->start();
        auto b = co_await r.command("PING");
        REQUIRE(b.has_value());
        CHECK(b->text == "PONG");
        auto pooled = co_await r.command("PING");
        REQUIRE(pooled.has_value());
        CHECK(r.connections_made() == 2);
        *out = nullptr;
    }(&server, &shared));
    CHECK(shared == nullptr);

    net::block_on([](std::uint16_t port) -> task<void> {
        redis::client r(local(port));
        auto refused = co_await r.command("PING");
        CHECK_FALSE(refused.has_value());
    }(test_support::free_port()));
}

TEST_CASE("redis client: RESP3 with HELLO 3 (maps, doubles)")
{
    test_support::redis_server server;
    if (!server.available()) {
        return;
    }
    net::block_on([](std::uint16_t port) -> task<void> {
        auto o = local(port);
        o.resp3 = true;
        redis::client r(o);
        redis::pipeline p;
        p.add({"HSET", "h", "a", "1", "b", "2"}).add({"HGETALL", "h"}).add({"INCRBYFLOAT", "f", "1.5"});
        auto replies = co_await r.execute(std::move(p));
        REQUIRE(replies.has_value());
        CHECK((*replies)[0].integer == 2);
        CHECK((*replies)[1].type == redis::type::map);
        CHECK((*replies)[1].elements.size() == 4);
        CHECK((*replies)[2].text == "1.5");
    }(server.port()));
}

TEST_CASE("redis cache: JSON values, TTL, erase, stats")
{
    test_support::redis_server server;
    if (!server.available()) {
        return;
    }
    net::block_on([](std::uint16_t port) -> task<void> {
        redis::client r(local(port));
        redis::cache<std::int64_t, user> users(r, {.prefix = "t:users:"});
        auto miss = co_await users.get(1);
        REQUIRE(miss.has_value());
        CHECK_FALSE(miss->has_value());
        user ada{1, "ada", {"admin"}};
        auto put = co_await users.put(1, ada);
        CHECK(put.has_value());
        auto hit = co_await users.get(1);
        REQUIRE(hit.has_value());
        REQUIRE(hit->has_value());
        CHECK((*hit)->name == "ada");
        CHECK((*hit)->roles == std::vector<std::string>{"admin"});
        auto raw = co_await r.command("GET", "t:users:1");
        CHECK(raw->text == R"({"id":1,"name":"ada","roles":["admin"]})");

        user bob{2, "bob", {}};
        covet::cache::put_options brief{.ttl = 100ms};
        auto short_lived = co_await users.put(2, bob, brief);
        CHECK(short_lived.has_value());
        auto pttl = co_await r.command("PTTL", "t:users:2");
        CHECK(pttl->integer > 0);
        CHECK(pttl->integer <= 100);
        co_await net::sleep_for(250ms);
        auto gone = co_await users.get(2);
        CHECK_FALSE(gone->has_value());

        auto erased = co_await users.erase(1);
        CHECK(*erased);
        auto again = co_await users.erase(1);
        CHECK_FALSE(*again);
        const auto s = users.stats();
        CHECK(s.hits == 1);
        CHECK(s.misses == 2);

        // A value that is not this type's JSON is an error, not garbage.
        auto set = co_await r.command("SET", "t:users:3", "not json");
        CHECK(set.has_value());
        auto bad = co_await users.get(3);
        REQUIRE_FALSE(bad.has_value());
        CHECK(bad.error() == redis::errc::unexpected_reply);
    }(server.port()));
}

TEST_CASE("redis cache: invalidate by tag (atomic script) and by prefix (SCAN)")
{
    test_support::redis_server server;
    if (!server.available()) {
        return;
    }
    net::block_on([](std::uint16_t port) -> task<void> {
        redis::client r(local(port));
        redis::cache<std::string, int> c(r, {.prefix = "t:"});
        const covet::cache::put_options user1{.tags = {"user:1"}};
        const covet::cache::put_options user1_posts{.tags = {"user:1", "posts"}};
        const covet::cache::put_options user2{.tags = {"user:2"}};
        const covet::cache::put_options posts_only{.tags = {"posts"}};
        auto p1 = co_await c.put("user:1:name", 1, user1);
        auto p2 = co_await c.put("user:1:posts", 2, user1_posts);
        auto p3 = co_await c.put("user:2:name", 3, user2);
        auto p4 = co_await c.put("user:2:posts", 4, posts_only);
        auto p5 = co_await c.put("other*[x]", 5);
        CHECK((p1 && p2 && p3 && p4 && p5));
        auto by_tag = co_await c.invalidate_tag("user:1");
        REQUIRE(by_tag.has_value());
        CHECK(*by_tag == 2);
        auto tag_set = co_await r.command("EXISTS", "t:tag:user:1");
        CHECK(tag_set->integer == 0);
        auto posts = co_await c.invalidate_tag("posts");
        CHECK(*posts == 1);  // user:1:posts was already gone
        int stored = 0;
        for (int i = 0; i < 2500; ++i) {
            std::string key = "bulk:" + std::to_string(i);
            auto put = co_await c.put(std::move(key), i);
            stored += put ? 1 : 0;
        }
        CHECK(stored == 2500);
        auto bulk = co_await c.invalidate_prefix("bulk:");
        REQUIRE(bulk.has_value());
        CHECK(*bulk == 2500);
        // Glob characters in the prefix are literal.
        auto literal = co_await c.invalidate_prefix("other*[");
        CHECK(*literal == 1);
        auto left = co_await c.get("user:2:name");
        REQUIRE(left->has_value());
        CHECK(**left == 3);
        auto none = co_await c.invalidate_prefix("nothing-here");
        CHECK(*none == 0);
    }(server.port()));
}

namespace {

task<void> load_user(redis::cache<std::int64_t, user>* c, std::atomic<int>* calls,
                     std::vector<std::string>* out)
{
    user u = co_await c->get_or_load(7, [calls](std::int64_t id) -> task<user> {
        ++*calls;
        co_await net::sleep_for(50ms);
        co_return user{id, "loaded", {}};
    });
    out->push_back(u.name);
}

}  // namespace

TEST_CASE("redis cache: get_or_load is single-flight in the process, stores the value, passes errors")
{
    test_support::redis_server server;
    if (!server.available()) {
        return;
    }
    net::block_on([](std::uint16_t port) -> task<void> {
        redis::client r(local(port));
        redis::cache<std::int64_t, user> users(r, {.prefix = "t:u:", .default_ttl = 60s});
        std::atomic<int> calls{0};
        std::vector<std::string> got;
        auto executor = co_await asio::this_coro::executor;
        for (int i = 0; i < 8; ++i) {
            asio::co_spawn(executor, load_user(&users, &calls, &got), asio::detached);
        }
        for (int i = 0; i < 100 && got.size() < 8; ++i) {
            co_await net::sleep_for(20ms);
        }
        CHECK(got == std::vector<std::string>(8, "loaded"));
        CHECK(calls == 1);
        auto stored = co_await r.command("GET", "t:u:7");
        CHECK(stored->text == R"({"id":7,"name":"loaded","roles":[]})");
        auto ttl = co_await r.command("TTL", "t:u:7");
        CHECK(ttl->integer > 50);
        // Cached now: the loader is not called.
        user cached =
            co_await users.get_or_load(7, []() -> task<user> { throw std::logic_error("not called"); });
        CHECK(cached.name == "loaded");

        // Errors reach the caller and nothing is stored.
        auto failed = co_await users.get_or_load(
            8, [](std::int64_t) -> task<covet::result<user>> { co_return covet::errc::timed_out; });
        REQUIRE_FALSE(failed.has_value());
        CHECK(failed.error() == covet::errc::timed_out);
        auto absent = co_await r.command("EXISTS", "t:u:8");
        CHECK(absent->integer == 0);
    }(server.port()));
}

TEST_CASE("redis cache: with Redis down, get_or_load still returns the loader's value")
{
    net::block_on([](std::uint16_t port) -> task<void> {
        auto o = local(port);
        o.connect_timeout = 200ms;
        redis::client r(o);
        redis::cache<std::int64_t, user> users(r);
        user u = co_await users.get_or_load(1, [](std::int64_t id) -> task<user> {
            co_return user{id, "db", {}};
        });
        CHECK(u.name == "db");
    }(test_support::free_port()));
}
