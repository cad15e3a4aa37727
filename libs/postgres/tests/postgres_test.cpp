#include "pg_server.hpp"

#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/orm/migrate.hpp>
#include <covet/orm/orm.hpp>
#include <covet/postgres/postgres.hpp>

#include <doctest/doctest.h>
#include <asio/this_coro.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

// Designated initializers that leave members at their defaults are the point here.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using covet::task;
using covet::net::block_on;
namespace orm = covet::orm;
using orm::c;
using namespace std::chrono_literals;

namespace pgapp {

struct user {
    std::int64_t id = 0;
    std::string name;
    std::optional<int> age;
    std::optional<std::string> email;
    double score = 0;
    bool active = true;
};
COVET_REFLECT(user, id, name, age, email, score, active);
COVET_MODEL(user, "users", id);

struct post {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    std::string title;
};
COVET_REFLECT(post, id, user_id, title);
COVET_MODEL(post, "posts", id);

struct name_and_title {
    std::string name;
    std::string title;
};
COVET_REFLECT(name_and_title, name, title);

}  // namespace pgapp

using pgapp::user;

namespace {

// Each test gets its own schema-free set of tables (dropped first).
constexpr std::string_view schema = R"(
DROP TABLE IF EXISTS posts;
DROP TABLE IF EXISTS users;
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL,
    age INTEGER,
    email TEXT UNIQUE,
    score DOUBLE PRECISION NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE posts (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    title TEXT NOT NULL
);
)";

// PostgreSQL text cannot hold NUL bytes; everything else must round-trip.
const std::vector<std::string> hostile = {
    "O'Brien",
    "'; DROP TABLE users; --",
    "Robert'); DROP TABLE users;--",
    "a\" OR \"1\"=\"1",
    "x' OR '1'='1",
    "/* comment */ -- trailing",
    "semi;colon;;",
    "$1 $2 ?1 ? :name @name $$ dollar $$",
    "E'\\x00' \\' \\\\",
    "ünïcödé ✓ 😀",
    "back\\slash\nnew line\ttab",
};

}  // namespace

TEST_CASE("postgres: raw queries, CRUD, builder, aggregates, joins")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        CHECK(db.dialect() == "postgresql");
        co_await db.execute(schema);
        const auto ann = user{.name = "ann", .age = 31, .email = "ann@x", .score = 2.5};
        const auto id = co_await db.insert(ann);
        CHECK(id == 1);
        const auto bob = user{.name = "bob", .active = false};
        co_await db.insert(bob);

        auto rows = co_await db.query<user>("SELECT * FROM users ORDER BY id");
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].name == "ann");
        CHECK(rows[0].age == 31);
        CHECK(rows[0].email == "ann@x");
        CHECK(rows[0].score == 2.5);
        CHECK(rows[0].active);
        CHECK(!rows[1].active);
        CHECK(!rows[1].age);

        auto swapped =
            co_await db.query_one<user>("SELECT * FROM users WHERE age = $2 AND name = $1", "ann", 31);
        REQUIRE(swapped);
        CHECK(swapped->id == id);

        auto found = co_await db.get<user>(id);
        found.age = 40;
        CHECK(co_await db.update(found) == 1);
        CHECK((co_await db.get<user>(id)).age == 40);

        std::vector<user> more;
        for (int i = 0; i < 5; ++i) {
            more.push_back(user{.name = "u" + std::to_string(i), .age = 10 * i});
        }
        CHECK(co_await db.insert_all(more) == 5);
        CHECK(co_await db.count(orm::select<user>()) == 7);
        auto teens =
            co_await db.all(orm::select<user>()
                                .where(c(&user::age) >= 10 && c(&user::age) < 30 && c(&user::name).like("u%"))
                                .order_by(c(&user::age).desc()));
        REQUIRE(teens.size() == 2);
        CHECK(teens[0].name == "u2");
        auto total = co_await db.aggregate<std::int64_t>(orm::select<user>(), orm::sum(c(&user::age)));
        CHECK(total == 31 * 0 + 40 + 0 + 10 + 20 + 30 + 40);
        auto avg = co_await db.aggregate<double>(orm::select<user>().where(c(&user::age) > 0),
                                                 orm::avg(c(&user::age)));
        CHECK(avg == doctest::Approx(28.0));

        const auto p = pgapp::post{.user_id = id, .title = "hello"};
        co_await db.insert(p);
        auto joined = co_await db.fetch<pgapp::name_and_title>(
            orm::select<user>()
                .join<pgapp::post>(c(&pgapp::post::user_id) == c(&user::id))
                .columns(c(&user::name), c(&pgapp::post::title)));
        REQUIRE(joined.size() == 1);
        CHECK(joined[0].name == "ann");
        CHECK(joined[0].title == "hello");

        CHECK(co_await db.remove<user>(2) == 1);
        CHECK(!(co_await db.find<user>(2)));

        try {
            const auto dup = user{.name = "dup", .email = "ann@x"};
            co_await db.insert(dup);
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::constraint_violation);
            CHECK(e.sql_state() == "23505");
        }
        try {
            co_await db.execute("SELECT * FROM no_such_table");
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::query_error);
            CHECK(e.sql_state() == "42P01");
        }
        // The connection is fine after errors.
        CHECK(co_await db.query_one<std::int64_t>("SELECT $1::bigint + 1", 41) == 42);
        db.close();
    }());
}

TEST_CASE("postgres: SQL injection attempts are stored and read back verbatim")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        co_await db.execute(schema);
        for (const auto& evil : hostile) {
            co_await db.execute("INSERT INTO users (name, email) VALUES ($1, $2)", evil, evil);
            auto raw = co_await db.query_one<user>("SELECT * FROM users WHERE email = $1", evil);
            REQUIRE(raw);
            CHECK(raw->name == evil);
            const auto u = user{.name = evil + "!"};
            const auto id = co_await db.insert(u);
            auto back = co_await db.get<user>(id);
            CHECK(back.name == evil + "!");
            auto by = co_await db.count(orm::select<user>().where(c(&user::name) == evil + "!"));
            CHECK(by == 1);
            const std::vector<std::string> one(1, evil);
            CHECK(co_await db.count(orm::select<user>().where(c(&user::email).in(one))) == 1);
        }
        CHECK(co_await db.count(orm::select<user>()) == static_cast<std::int64_t>(2 * hostile.size()));
        auto names =
            co_await db.query<std::string>("SELECT email FROM users WHERE email IS NOT NULL ORDER BY id");
        CHECK(names == hostile);
        db.close();
    }());
}

TEST_CASE("postgres: transactions roll back on drop and exception, savepoints, isolation")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        co_await db.execute(schema);
        {
            auto tx = co_await db.begin();
            const auto u = user{.name = "kept"};
            co_await tx.insert(u);
            co_await tx.commit();
        }
        {
            auto tx = co_await db.begin();
            const auto u = user{.name = "dropped"};
            co_await tx.insert(u);
        }
        try {
            auto tx = co_await db.begin(orm::isolation::serializable);
            const auto u = user{.name = "thrown"};
            co_await tx.insert(u);
            throw std::runtime_error("handler failed");
        } catch (const std::runtime_error&) {
        }
        {
            auto tx = co_await db.begin(orm::isolation::repeatable_read);
            const auto outer = user{.name = "outer"};
            co_await tx.insert(outer);
            auto sp = co_await tx.savepoint();
            const auto inner = user{.name = "inner"};
            co_await tx.insert(inner);
            co_await tx.rollback_to(sp);
            co_await tx.commit();
        }
        {
            // A failed statement inside a transaction: the rest of it is aborted (25P02) until rollback.
            auto tx = co_await db.begin();
            try {
                co_await tx.execute("INSERT INTO posts (user_id, title) VALUES ($1, $2)", 999, "orphan");
                FAIL("no error");
            } catch (const orm::error& e) {
                CHECK(e.kind() == orm::errc::constraint_violation);
                CHECK(e.sql_state() == "23503");
            }
            co_await tx.rollback();
        }
        auto names = co_await db.query<std::string>("SELECT name FROM users ORDER BY id");
        CHECK(names == std::vector<std::string>{"kept", "outer"});
        CHECK(db.pool_stats().in_use == 0);
        db.close();
    }());
}

TEST_CASE("postgres: concurrent queries share one pipelined connection")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        orm::database_options opts;
        opts.pool_mode = covet::pool::mode::per_thread;
        auto db = orm::database::open(server->url(), opts);
        co_await db.execute("SELECT 1");
        auto ex = co_await asio::this_coro::executor;
        constexpr int callers = 200;
        int correct = 0;
        int finished = 0;
        for (int i = 0; i < callers; ++i) {
            covet::net::spawn(ex, [](orm::database& d, int n, int& ok, int& fin) -> task<void> {
                auto v = co_await d.query_one<std::int64_t>("SELECT $1::bigint * 2", n);
                if (v == 2 * n) {
                    ++ok;
                }
                ++fin;
            }(db, i, correct, finished));
        }
        for (int i = 0; i < 500 && finished < callers; ++i) {
            co_await covet::net::sleep_for(10ms);
        }
        CHECK(finished == callers);
        CHECK(correct == callers);
        CHECK(db.pool_stats().created == 1);  // one connection carried all of them
        db.close();
    }());
}

TEST_CASE("postgres: in-flight queries fail clearly when the server restarts, later ones reconnect")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        CHECK(co_await db.query_one<std::int64_t>("SELECT 1::bigint") == 1);
        std::atomic<bool> restarted{false};
        std::thread restarter([&] {
            std::this_thread::sleep_for(300ms);
            restarted = server->restart();
        });
        bool failed_clearly = false;
        try {
            co_await db.execute("SELECT pg_sleep(10)");
        } catch (const orm::error& e) {
            failed_clearly = e.kind() == orm::errc::connection_lost;
            MESSAGE("in-flight statement: " << std::string(e.what()) << " [" << e.sql_state() << "]");
        }
        for (int i = 0; i < 600 && !restarted; ++i) {
            co_await covet::net::sleep_for(50ms);
        }
        restarter.join();
        CHECK(failed_clearly);
        REQUIRE(restarted);
        auto after = co_await db.query_one<std::int64_t>("SELECT 2::bigint");
        CHECK(after == 2);
        db.close();
    }());
}

TEST_CASE("postgres: an unreachable server is a connection error")
{
    block_on([&]() -> task<void> {
        orm::database_options opts;
        opts.connect.connect_timeout = 2s;
        auto db =
            orm::database::open("postgresql://nobody@/postgres?host=/nonexistent-covet-socket-dir", opts);
        try {
            co_await db.execute("SELECT 1");
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::connection_lost);
            CHECK(std::string(e.what()).find("cannot connect") != std::string::npos);
        }
        db.close();
    }());
}

TEST_CASE("postgres: migrations up and down under the advisory lock")
{
    PG_SERVER_OR_SKIP(server);
    const auto mdir = std::filesystem::path(server->dir()) / "migrations";
    std::filesystem::remove_all(mdir);
    std::ofstream(orm::create_migration(mdir, "create_items"))
        << "CREATE TABLE items (id BIGSERIAL PRIMARY KEY, label TEXT NOT NULL);\n"
           "CREATE FUNCTION items_count() RETURNS bigint AS $$ SELECT count(*) FROM items; $$ LANGUAGE "
           "sql;\n";
    std::ofstream(mdir / "0001_create_items.down.sql") << "DROP FUNCTION items_count(); DROP TABLE items;";
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        co_await db.execute("DROP TABLE IF EXISTS schema_migrations");
        orm::migrator m(db, orm::load_migrations(mdir));
        CHECK(co_await m.up() == 1);
        co_await db.execute("INSERT INTO items (label) VALUES ($1)", "x; DROP TABLE items; --");
        CHECK(co_await db.query_one<std::int64_t>("SELECT items_count()") == 1);
        auto st = co_await m.status();
        REQUIRE(st.size() == 1);
        CHECK(st[0].applied);
        CHECK(co_await m.down() == 1);
        CHECK(co_await db.query_one<std::int64_t>(
                  "SELECT count(*) FROM pg_tables WHERE tablename = 'items'") == 0);
        db.close();
    }());
}
