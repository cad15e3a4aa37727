#include "pg_server.hpp"

#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/orm/orm.hpp>
#include <covet/postgres/listener.hpp>
#include <covet/postgres/postgres.hpp>

#include <doctest/doctest.h>
#include <asio/this_coro.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using covet::task;
using covet::net::block_on;
namespace orm = covet::orm;
namespace pg = covet::postgres;
using namespace std::chrono_literals;

TEST_CASE("listener: payloads arrive verbatim with channel and sender pid, on several channels")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        auto l = co_await pg::listener::connect(server->url());
        // A quote and a semicolon in the channel name: a quoted identifier, case-sensitive.
        const std::string odd_channel = "Orders; DROP \"x\" --";
        co_await l.listen("plain");
        co_await l.listen(odd_channel);
        co_await l.listen("plain");  // twice is fine
        CHECK(l.channels() == std::vector<std::string>{odd_channel, "plain"});

        const std::vector<std::string> payloads = {
            "O'Brien",
            "'); NOTIFY plain, 'x'; --",
            "semi;colon",
            "\"double\" and \\ backslash",
            "ünïcödé ✓ 😀",
            "",
            R"({"id": 7, "op": "insert"})",
        };
        const auto backend_pid = co_await db.query_one<std::int64_t>("SELECT pg_backend_pid()");
        (void)backend_pid;
        for (const auto& p : payloads) {
            co_await pg::notify(db, "plain", p);
            co_await pg::notify(db, odd_channel, p + "!");
        }
        for (const auto& p : payloads) {
            auto a = co_await l.next(5s);
            REQUIRE(a);
            CHECK(!a->reconnected);
            CHECK(a->channel == "plain");
            CHECK(a->payload == p);
            CHECK(a->sender_pid > 0);
            auto b = co_await l.next(5s);
            REQUIRE(b);
            CHECK(b->channel == odd_channel);
            CHECK(b->payload == p + "!");
        }
        // Not listened to: nothing arrives; the wait times out.
        co_await pg::notify(db, "other", "x");
        co_await pg::notify(db, "PLAIN", "case matters");
        CHECK(!(co_await l.next(200ms)));

        // Inside a transaction, delivered at commit only.
        {
            auto tx = co_await db.begin();
            co_await pg::notify(tx, "plain", "from tx");
            CHECK(!(co_await l.next(200ms)));
            co_await tx.commit();
        }
        auto committed = co_await l.next(5s);
        REQUIRE(committed);
        CHECK(committed->payload == "from tx");
        l.close();
        db.close();
    }());
}

TEST_CASE("listener: unlisten, unlisten_all, bad channel names, cancellation and close")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        auto l = co_await pg::listener::connect(server->url());
        co_await l.listen("a");
        co_await l.listen("b");
        co_await l.unlisten("a");
        co_await l.unlisten("never");  // no-op
        CHECK(l.channels() == std::vector<std::string>{"b"});
        co_await pg::notify(db, "a", "lost");
        co_await pg::notify(db, "b", "kept");
        auto n = co_await l.next(5s);
        REQUIRE(n);
        CHECK(n->channel == "b");
        CHECK(n->payload == "kept");
        co_await l.unlisten_all();
        CHECK(l.channels().empty());
        co_await pg::notify(db, "b", "lost too");
        CHECK(!(co_await l.next(200ms)));

        const std::vector<std::string> bad_names = {std::string(), std::string(64, 'x'),
                                                    std::string("nul\0x", 5)};
        for (const auto& bad : bad_names) {
            try {
                co_await l.listen(bad);
                FAIL("no error for a bad channel name");
            } catch (const orm::error& e) {
                CHECK(e.kind() == orm::errc::invalid_argument);
            }
        }
        CHECK(pg::quote_channel("a\"b") == "\"a\"\"b\"");

        // Cancellation through with_timeout: no value, no hang.
        const auto start = std::chrono::steady_clock::now();
        auto waited = co_await covet::net::with_timeout(l.next(), 100ms);
        CHECK(!waited);
        CHECK(std::chrono::steady_clock::now() - start < 5s);

        // close() wakes a waiting next(); later commands fail clearly.
        auto ex = co_await asio::this_coro::executor;
        covet::net::spawn(ex, [](pg::listener& target) -> task<void> {
            co_await covet::net::sleep_for(50ms);
            target.close();
        }(l));
        CHECK(!(co_await l.next(10s)));
        try {
            co_await l.listen("c");
            FAIL("no error after close");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::connection_lost);
        }
        db.close();
    }());
}

TEST_CASE("listener: after a server restart it listens again and reports the gap")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        auto l = co_await pg::listener::connect(server->url());
        co_await l.listen("jobs");
        co_await l.listen("Events");
        co_await pg::notify(db, "jobs", "before");
        auto before = co_await l.next(5s);
        REQUIRE(before);
        CHECK(before->payload == "before");

        std::atomic<bool> restarted{false};
        std::atomic<bool> done{false};
        std::thread restarter([&] {
            restarted = server->restart();
            done = true;
        });
        // A LISTEN issued around the outage completes (after the resync if it was lost).
        co_await covet::net::sleep_for(150ms);
        co_await l.listen("late");
        for (int i = 0; i < 600 && !done; ++i) {
            co_await covet::net::sleep_for(50ms);
        }
        restarter.join();
        REQUIRE(restarted);

        // The gap event comes once the listener is connected and listening again.
        auto gap = co_await l.next(30s);
        REQUIRE(gap);
        CHECK(gap->reconnected);
        CHECK(gap->channel.empty());
        CHECK(l.reconnects() == 1);

        // Both channels are listened to again (the pool reconnects too; its
        // first statement may still see the old connection).
        for (int attempt = 0; attempt < 3; ++attempt) {
            try {
                co_await pg::notify(db, "jobs", "after");
                break;
            } catch (const orm::error& e) {
                CHECK(e.kind() == orm::errc::connection_lost);
            }
        }
        co_await pg::notify(db, "Events", "after too");
        auto a = co_await l.next(5s);
        REQUIRE(a);
        CHECK(a->channel == "jobs");
        CHECK(a->payload == "after");
        auto b = co_await l.next(5s);
        REQUIRE(b);
        CHECK(b->channel == "Events");
        CHECK(b->payload == "after too");
        co_await pg::notify(db, "late", "joined during the restart");
        auto c = co_await l.next(5s);
        REQUIRE(c);
        CHECK(c->channel == "late");
        l.close();
        db.close();
    }());
}
