#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <unistd.h>

// Designated initializers that leave members at their defaults are the point here.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

using covet::task;
using covet::net::block_on;
namespace orm = covet::orm;
using orm::c;

namespace app {

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

struct tag_row {
    std::string code;
    std::string label;
};
COVET_REFLECT(tag_row, code, label);
COVET_MODEL(tag_row, "tags", code);

struct name_and_title {
    std::string name;
    std::string title;
};
COVET_REFLECT(name_and_title, name, title);

// The same columns as name_and_title in the other order: mapped by name.
struct title_and_name {
    std::string title;
    std::string name;
};
COVET_REFLECT(title_and_name, title, name);

struct age_stats {
    std::optional<int> age;
    std::int64_t n = 0;
};
COVET_REFLECT(age_stats, age, n);

}  // namespace app

using app::user;

namespace {

constexpr std::string_view schema = R"(
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    age INTEGER,
    email TEXT UNIQUE,
    score REAL NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users(id),
    title TEXT NOT NULL
);
CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT NOT NULL);
)";

// A fresh directory under /tmp, removed at the end of the test.
struct temp_dir : covet::testing::temp_dir {
    temp_dir() : covet::testing::temp_dir("covet-orm") {}
    std::string url(std::string_view file) const { return "sqlite://" + (path / file).string(); }
};

// Runs the runtime until `done` reaches `expected` (or 20 s pass), then stops it.
void run_until(covet::net::runtime& rt, const std::atomic<int>& done, int expected)
{
    std::thread stopper([&] {
        for (int i = 0; i < 2000 && done < expected; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        rt.request_stop();
    });
    rt.run();
    stopper.join();
}

// Values that would break SQL if they were ever spliced into the text.
const std::vector<std::string> hostile = {
    "O'Brien",
    "'; DROP TABLE users; --",
    "Robert'); DROP TABLE users;--",
    "a\" OR \"1\"=\"1",
    "x' OR '1'='1",
    "/* comment */ -- trailing",
    "semi;colon;;",
    "$1 $2 ?1 ? :name @name",
    std::string("nul\0byte", 8),
    "ünïcödé ✓ 😀",
    "back\\slash\nnew line\ttab",
};

user make_user(std::int64_t id, std::string name)
{
    user u;
    u.id = id;
    u.name = std::move(name);
    return u;
}

}  // namespace

TEST_CASE("urls parse into their parts")
{
    auto m = orm::url::parse("sqlite::memory:");
    CHECK(m.memory);
    auto f = orm::url::parse("sqlite:///var/lib/app.db");
    CHECK(f.database == "/var/lib/app.db");
    auto pg = orm::url::parse("postgresql://bob:p%40ss@db.local:5433/shop?sslmode=require");
    CHECK(pg.scheme == "postgresql");
    CHECK(pg.user == "bob");
    CHECK(pg.password == "p@ss");
    CHECK(pg.host == "db.local");
    CHECK(pg.port == "5433");
    CHECK(pg.database == "shop");
    CHECK(pg.query.at("sslmode") == "require");
    auto sock = orm::url::parse("postgresql://postgres@/test?host=/tmp/pg");
    CHECK(sock.host == "/tmp/pg");
    CHECK(sock.database == "test");
    CHECK_THROWS_AS(orm::url::parse("nonsense"), orm::error);
    CHECK_THROWS_AS(orm::database::open("mysql://x/y"), orm::error);
}

TEST_CASE("raw queries map rows into reflected structs and scalars")
{
    auto db = orm::database::open("sqlite::memory:");
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        auto n = co_await db.execute("INSERT INTO users (name, age, email, score) VALUES ($1, $2, $3, $4)",
                                     "ann", 31, "ann@example.com", 2.5);
        CHECK(n == 1);
        co_await db.execute("INSERT INTO users (name, age) VALUES ($1, $2)", "bob", std::optional<int>{});
        auto rows = co_await db.query<user>("SELECT * FROM users ORDER BY id");
        REQUIRE(rows.size() == 2);
        CHECK(rows[0].name == "ann");
        CHECK(rows[0].age == 31);
        CHECK(rows[0].email == "ann@example.com");
        CHECK(rows[0].score == 2.5);
        CHECK(rows[0].active);
        CHECK(rows[1].name == "bob");
        CHECK(!rows[1].age.has_value());
        CHECK(!rows[1].email.has_value());

        // $N binds by number, whatever the order of first use.
        auto swapped =
            co_await db.query_one<user>("SELECT * FROM users WHERE age = $2 AND name = $1", "ann", 31);
        REQUIRE(swapped);
        CHECK(swapped->id == 1);

        auto count = co_await db.query_one<std::int64_t>("SELECT COUNT(*) FROM users");
        CHECK(count == 2);
        auto none = co_await db.query_one<user>("SELECT * FROM users WHERE id = $1", 999);
        CHECK(!none);
        auto names = co_await db.query<std::string>("SELECT name FROM users ORDER BY name DESC");
        CHECK(names == std::vector<std::string>{"bob", "ann"});
    }());
}

TEST_CASE("CRUD on a model in a SQLite file")
{
    temp_dir dir;
    auto db = orm::database::open(dir.url("app.db"));
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        const auto row1 = user{.name = "ann", .age = 31};
        const auto id = co_await db.insert(row1);
        CHECK(id == 1);
        const auto row2 = user{.name = "bob"};
        const auto id2 = co_await db.insert(row2);
        CHECK(id2 == 2);

        auto found = co_await db.find<user>(id);
        REQUIRE(found);
        CHECK(found->name == "ann");
        CHECK(found->age == 31);

        found->age = 32;
        found->email = "ann@x.org";
        CHECK(co_await db.update(*found) == 1);
        auto again = co_await db.get<user>(id);
        CHECK(again.age == 32);
        CHECK(again.email == "ann@x.org");

        // save(): inserts a zero key, updates an existing one.
        auto carl = user{.name = "carl"};
        const auto carl_id = co_await db.save(carl);
        CHECK(carl_id == 3);
        carl.id = carl_id;
        carl.age = 5;
        CHECK(co_await db.save(carl) == carl_id);
        CHECK((co_await db.get<user>(carl_id)).age == 5);

        CHECK(co_await db.remove<user>(id2) == 1);
        CHECK(co_await db.remove<user>(id2) == 0);
        CHECK(!(co_await db.find<user>(id2)));

        bool threw = false;
        try {
            co_await db.get<user>(id2);
        } catch (const orm::error& e) {
            threw = true;
            CHECK(e.kind() == orm::errc::not_found);
            CHECK(e.sql_state() == "02000");
        }
        CHECK(threw);

        // Text primary keys are inserted as given.
        const auto row3 = app::tag_row{"cpp", "C++"};
        CHECK(co_await db.insert(row3) == "cpp");
        CHECK((co_await db.get<app::tag_row>(std::string("cpp"))).label == "C++");
    }());
    // The file is in WAL mode.
    auto check = orm::database::open(dir.url("app.db"));
    auto mode = block_on(check.query_one<std::string>("PRAGMA journal_mode"));
    CHECK(mode == "wal");
}

TEST_CASE("the query builder: where, order, limit, like, in, null, joins, aggregates")
{
    auto db = orm::database::open("sqlite::memory:");
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        std::vector<user> people;
        // std::vector, not C arrays: GCC 12 cannot copy an array into a coroutine frame.
        const std::vector<std::string> names{"alice", "andy", "bella", "bob", "anna", "carl"};
        const std::vector<int> ages{30, 17, 45, 19, 25, 60};
        for (int i = 0; i < 6; ++i) {
            people.push_back(user{.name = names[i], .age = ages[i], .score = i * 1.5});
        }
        people.push_back(user{.name = "nobody"});  // age NULL
        CHECK(co_await db.insert_all(people) == 7);

        auto adults_a = co_await db.all(orm::select<user>()
                                            .where(c(&user::age) > 18 && c(&user::name).like("a%"))
                                            .order_by(c(&user::age).desc())
                                            .limit(10));
        REQUIRE(adults_a.size() == 2);
        CHECK(adults_a[0].name == "alice");
        CHECK(adults_a[1].name == "anna");

        auto page = co_await db.all(orm::select<user>().order_by(c(&user::name).asc()).limit(2).offset(1));
        REQUIRE(page.size() == 2);
        CHECK(page[0].name == "andy");
        CHECK(page[1].name == "anna");

        auto nulls = co_await db.all(orm::select<user>().where(c(&user::age).is_null()));
        REQUIRE(nulls.size() == 1);
        CHECK(nulls[0].name == "nobody");

        // Named first: GCC 12 mishandles an initializer_list's array inside a co_await expression.
        const std::vector<std::string> wanted{"bob", "carl", "zed"};
        auto some = co_await db.all(orm::select<user>().where(c(&user::name).in(wanted)));
        CHECK(some.size() == 2);
        auto either = co_await db.all(orm::select<user>()
                                          .where(c(&user::age) < 18 || c(&user::age) >= 60)
                                          .order_by(c(&user::age).asc()));
        REQUIRE(either.size() == 2);
        CHECK(either[0].name == "andy");
        auto mid = co_await db.all(
            orm::select<user>().where(c(&user::age).between(19, 30) && !(c(&user::name) == "bob")));
        CHECK(mid.size() == 2);

        auto first = co_await db.first(orm::select<user>().where(c(&user::age) > 100));
        CHECK(!first);

        CHECK(co_await db.count(orm::select<user>()) == 7);
        CHECK(co_await db.count(orm::select<user>().where(c(&user::age) >= 18)) == 5);
        auto total = co_await db.aggregate<std::int64_t>(orm::select<user>(), orm::sum(c(&user::age)));
        CHECK(total == 196);
        auto avg = co_await db.aggregate<double>(orm::select<user>().where(c(&user::age) > 40),
                                                 orm::avg(c(&user::age)));
        CHECK(avg == doctest::Approx(52.5));
        auto oldest = co_await db.aggregate<int>(orm::select<user>(), orm::max(c(&user::age)));
        CHECK(oldest == 60);
        auto youngest = co_await db.aggregate<int>(orm::select<user>(), orm::min(c(&user::age)));
        CHECK(youngest == 17);
        auto none = co_await db.aggregate<std::int64_t>(orm::select<user>().where(c(&user::age) > 100),
                                                        orm::sum(c(&user::age)));
        CHECK(!none);

        // GROUP BY into a row type.
        co_await db.execute("UPDATE users SET age = 30 WHERE name IN ('bob', 'carl')");
        auto groups = co_await db.fetch<app::age_stats>(orm::select<user>()
                                                            .columns(c(&user::age), orm::count().as("n"))
                                                            .where(c(&user::age).is_not_null())
                                                            .group_by(c(&user::age))
                                                            .having(orm::count() > 1)
                                                            .order_by(c(&user::age).asc()));
        REQUIRE(groups.size() == 1);
        CHECK(groups[0].age == 30);
        CHECK(groups[0].n == 3);

        // A join, selecting columns of both models.
        const auto alice = *(co_await db.first(orm::select<user>().where(c(&user::name) == "alice")));
        const auto row4 = app::post{.user_id = alice.id, .title = "hello"};
        co_await db.insert(row4);
        const auto row5 = app::post{.user_id = alice.id, .title = "again"};
        co_await db.insert(row5);
        auto joined = co_await db.fetch<app::name_and_title>(
            orm::select<user>()
                .join<app::post>(c(&app::post::user_id) == c(&user::id))
                .columns(c(&user::name), c(&app::post::title))
                .order_by(c(&app::post::title).asc()));
        REQUIRE(joined.size() == 2);
        CHECK(joined[0].name == "alice");
        CHECK(joined[0].title == "again");

        CHECK(co_await db.remove_where<user>(c(&user::age).is_null()) == 1);
        CHECK_THROWS_AS(orm::count().as("bad alias; DROP"), orm::error);
    }());
}

TEST_CASE("a prepared query runs with new arguments, mixed with constant parameters")
{
    auto db = orm::database::open("sqlite::memory:");
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        for (int i = 1; i <= 3; ++i) {
            const auto u = user{.name = "user" + std::to_string(i), .age = 20 + i};
            const auto id = co_await db.insert(u);
            const auto first = app::post{.user_id = id, .title = "first of " + u.name};
            co_await db.insert(first);
            const auto second = app::post{.user_id = id, .title = "second of " + u.name};
            co_await db.insert(second);
        }
        // arg(1) before arg(0) in the text, a constant between them, a text argument.
        const orm::prepared_query<app::name_and_title> titles(
            orm::select<user>()
                .join<app::post>(c(&app::post::user_id) == c(&user::id))
                .columns(c(&user::name), c(&app::post::title))
                .where(c(&app::post::title) != orm::arg(1) && c(&user::age) >= 21 &&
                       c(&user::id) == orm::arg(0))
                .order_by(c(&app::post::title).asc()));
        CHECK(titles.arguments() == 2);
        CHECK_FALSE(titles.positional());
        for (std::int64_t id = 1; id <= 3; ++id) {
            const std::string skip = "second of user" + std::to_string(id);
            auto rows = co_await db.fetch(titles, id, skip);
            REQUIRE(rows.size() == 1);
            CHECK(rows[0].name == "user" + std::to_string(id));
            CHECK(rows[0].title == "first of user" + std::to_string(id));
        }
        const orm::prepared_query<app::title_and_name> swapped(
            orm::select<user>()
                .join<app::post>(c(&app::post::user_id) == c(&user::id))
                .columns(c(&user::name), c(&app::post::title))
                .where(c(&user::id) == orm::arg(0))
                .order_by(c(&app::post::title).asc()));
        for (int run = 0; run < 2; ++run) {
            const std::int64_t two = 2;
            auto rows = co_await db.fetch(swapped, two);
            REQUIRE(rows.size() == 2);
            CHECK(rows[0].name == "user2");
            CHECK(rows[0].title == "first of user2");
        }
        const std::int64_t missing = 99;
        auto none = co_await db.fetch(titles, missing, "x");
        CHECK(none.empty());
        bool refused = false;
        try {
            co_await db.fetch(titles, missing);  // one argument short
        } catch (const orm::error& e) {
            refused = e.kind() == orm::errc::invalid_argument;
        }
        CHECK(refused);
        CHECK_THROWS_AS(orm::arg(32), orm::error);
        // Placeholders outside a prepared_query are refused, not bound as empty values.
        const auto unprepared = orm::select<user>().where(c(&user::id) == orm::arg(0));
        CHECK_THROWS_AS(unprepared.build(), orm::error);
        CHECK_THROWS_AS(unprepared.build_with("COUNT(*)"), orm::error);

        // The model's own columns map by position; the same query object runs in a transaction.
        const orm::prepared_query<user> older(
            orm::select<user>().where(c(&user::age) > orm::arg(0)).order_by(c(&user::id).asc()));
        CHECK(older.positional());
        auto tx = co_await db.begin();
        const int min_age = 21;
        auto found = co_await tx.fetch(older, min_age);
        REQUIRE(found.size() == 2);
        CHECK(found[0].name == "user2");
        CHECK(found[1].age == 23);
        co_await tx.commit();
    }());
}

TEST_CASE("an in-memory database keeps its connection between statements, hands it to transactions")
{
    orm::database_options options;
    options.acquire_timeout = std::chrono::milliseconds(2000);
    auto db = orm::database::open("sqlite::memory:", options);
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        const auto u = user{.name = "kept"};
        const auto id = co_await db.insert(u);
        CHECK(db.pool_stats().in_use == 0);
        CHECK(db.pool_stats().idle == 1);
        {
            // The transaction takes the kept connection; statements outside it wait for it.
            auto tx = co_await db.begin();
            CHECK(db.pool_stats().in_use == 1);
            co_await tx.execute("UPDATE users SET age = 7 WHERE id = $1", id);
            co_await tx.commit();
        }
        auto again = co_await db.find<user>(id);
        REQUIRE(again);
        CHECK(again->age == 7);
        CHECK(db.pool_stats().in_use == 0);
        // A chain on a temporary moves into the variable.
        auto q = orm::select<user>().where(c(&user::id) == id).limit(1);
        CHECK(co_await db.count(q) == 1);
    }());
    // Runtime workers share the one connection, one statement at a time; worker 0
    // also takes it for transactions (the others then wait in the pool).
    covet::net::runtime rt({.threads = 3, .handle_signals = false});
    std::atomic<int> done{0};
    for (std::size_t w = 0; w < rt.size(); ++w) {
        rt.spawn(w, [](orm::database& d, std::atomic<int>& finished, std::size_t worker) -> task<void> {
            for (int i = 0; i < 200; ++i) {
                const auto row = user{.name = "w" + std::to_string(worker)};
                co_await d.insert(row);
                auto n = co_await d.query_one<std::int64_t>("SELECT COUNT(*) FROM users");
                CHECK(n.value_or(0) >= 2);
                if (worker == 0 && i % 50 == 0) {
                    auto tx = co_await d.begin();
                    const auto in_tx = user{.name = "tx"};
                    co_await tx.insert(in_tx);
                    co_await tx.commit();
                }
            }
            ++finished;
        }(db, done, w));
    }
    run_until(rt, done, 3);
    CHECK(done == 3);
    block_on([&]() -> task<void> {
        CHECK(co_await db.count(orm::select<user>()) == 605);
        db.close();
        CHECK(db.pool_stats().in_use == 0);
        bool refused = false;
        try {
            co_await db.execute("SELECT 1");
        } catch (const orm::error& e) {
            refused = e.kind() == orm::errc::shutting_down;
        }
        CHECK(refused);
    }());
}

TEST_CASE("built SQL numbers the parameters of every fragment in text order")
{
    const std::vector<int> wanted{3, 4};
    const auto q = orm::select<user>()
                       .join<app::post>(c(&app::post::user_id) == c(&user::id) && c(&app::post::title) != "x")
                       .columns(c(&user::age), orm::count().as("n"))
                       .where(c(&user::age).in(wanted) && c(&user::name).like("a%"))
                       .group_by(c(&user::age))
                       .having(orm::count() > 1)
                       .order_by(c(&user::age).asc(), c(&user::name).desc())
                       .limit(5)
                       .offset(2);
    const orm::statement st = q.build();
    CHECK(st.sql ==
          "SELECT \"users\".\"age\", COUNT(*) AS \"n\" FROM \"users\" JOIN \"posts\" ON "
          "(\"posts\".\"user_id\" = \"users\".\"id\" AND \"posts\".\"title\" <> $1) WHERE "
          "(\"users\".\"age\" IN ($2, $3) AND \"users\".\"name\" LIKE $4) GROUP BY \"users\".\"age\" "
          "HAVING COUNT(*) > $5 ORDER BY \"users\".\"age\" ASC, \"users\".\"name\" DESC LIMIT $6 OFFSET $7");
    REQUIRE(st.params.size() == 7);
    CHECK(std::get<std::string>(st.params[0]) == "x");
    CHECK(std::get<std::int64_t>(st.params[1]) == 3);
    CHECK(std::get<std::int64_t>(st.params[4]) == 1);
    CHECK(std::get<std::int64_t>(st.params[5]) == 5);
    CHECK(std::get<std::int64_t>(st.params[6]) == 2);
    CHECK(orm::detail::number_params("a \x01 b \x01", 9) == "a $9 b $10");
}

TEST_CASE("query_one stops after the first row, update reads a temporary model")
{
    auto db = orm::database::open("sqlite::memory:");
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        const std::vector<user> people{user{.name = "a", .age = 1}, user{.name = "b", .age = 2},
                                       user{.name = "c", .age = 3}};
        co_await db.insert_all(people);
        // The same cached statement, stopped after one row, runs again from the start.
        for (int i = 0; i < 3; ++i) {
            auto first = co_await db.query_one<std::string>("SELECT name FROM users ORDER BY id");
            CHECK(first == "a");
        }
        auto all = co_await db.query<std::string>("SELECT name FROM users ORDER BY id");
        CHECK(all.size() == 3);
        // A write with RETURNING is not stopped early: every row changes.
        auto returned = co_await db.query_one<std::int64_t>("UPDATE users SET age = age + 10 RETURNING id");
        CHECK(returned.has_value());
        CHECK(co_await db.count(orm::select<user>().where(c(&user::age) > 10)) == 3);

        // A temporary argument lives until the end of the co_await expression.
        CHECK(co_await db.update(make_user(2, "renamed")) == 1);
        CHECK((co_await db.get<user>(2)).name == "renamed");
    }());
}

TEST_CASE("SQL injection attempts are stored and read back verbatim through every API")
{
    temp_dir dir;
    auto db = orm::database::open(dir.url("inject.db"));
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        for (const auto& evil : hostile) {
            // Raw execute + query.
            co_await db.execute("INSERT INTO tags (code, label) VALUES ($1, $2)", evil, evil);
            auto raw = co_await db.query_one<app::tag_row>("SELECT * FROM tags WHERE code = $1", evil);
            REQUIRE(raw);
            CHECK(raw->label == evil);

            // Model insert/find/update.
            const auto row6 = user{.name = evil, .email = evil};
            const auto id = co_await db.insert(row6);
            auto u = co_await db.get<user>(id);
            CHECK(u.name == evil);
            CHECK(u.email == evil);
            u.name = evil + evil;
            co_await db.update(u);
            CHECK((co_await db.get<user>(id)).name == evil + evil);

            // Builder conditions.
            auto by_name = co_await db.all(orm::select<user>().where(c(&user::name) == evil + evil));
            REQUIRE(by_name.size() == 1);
            CHECK(by_name[0].id == id);
            auto like = co_await db.count(orm::select<user>().where(c(&user::email).like(evil)));
            CHECK(like >= 1);
            const std::vector<std::string> one_value(1, evil);
            auto in = co_await db.count(orm::select<user>().where(c(&user::email).in(one_value)));
            CHECK(in == 1);
            CHECK(co_await db.remove_where<user>(c(&user::email) == evil) == 1);
            CHECK((co_await db.get<app::tag_row>(evil)).label == evil);
        }
        // Every table is still there and holds exactly what was written.
        CHECK(co_await db.count(orm::select<app::tag_row>()) == static_cast<std::int64_t>(hostile.size()));
        CHECK(co_await db.count(orm::select<user>()) == 0);
        std::vector<user> bulk;
        for (const auto& evil : hostile) {
            bulk.push_back(user{.name = evil});
        }
        co_await db.insert_all(bulk);
        auto back = co_await db.query<std::string>("SELECT name FROM users ORDER BY id");
        CHECK(back == hostile);
    }());
}

TEST_CASE("like(pattern, escape) with escape_like matches user text literally")
{
    CHECK(orm::escape_like("50%_a\\b") == "50\\%\\_a\\\\b");
    CHECK(orm::escape_like("100%", '!') == "100!%");
    auto db = orm::database::open("sqlite::memory:");
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        for (const char* name : {"50% off", "5000 off", "a_b", "axb", "back\\slash", "plain"}) {
            const auto row = user{.name = name};
            co_await db.insert(row);
        }
        auto count_containing = [&](std::string text, char escape) -> task<std::int64_t> {
            auto q = orm::select<user>().where(
                c(&user::name).like("%" + orm::escape_like(text, escape) + "%", escape));
            const auto n = co_await db.count(q);
            co_return n;
        };
        CHECK(co_await count_containing("50%", '\\') == 1);
        CHECK(co_await count_containing("_", '\\') == 1);
        CHECK(co_await count_containing("\\", '\\') == 1);
        CHECK(co_await count_containing("%", '!') == 1);
        CHECK(co_await count_containing("off", '\\') == 2);
        // Without escaping, the wildcards match more.
        CHECK(co_await db.count(orm::select<user>().where(c(&user::name).like("%_%"))) == 6);
    }());
}

TEST_CASE("transactions: commit, rollback, rollback on drop and on exception, savepoints")
{
    temp_dir dir;
    auto db = orm::database::open(dir.url("tx.db"));
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        {
            auto tx = co_await db.begin();
            const auto row7 = user{.name = "kept"};
            co_await tx.insert(row7);
            co_await tx.commit();
            CHECK(!tx.active());
        }
        {
            auto tx = co_await db.begin();
            const auto row8 = user{.name = "rolled back"};
            co_await tx.insert(row8);
            co_await tx.rollback();
        }
        {
            auto tx = co_await db.begin();
            const auto row9 = user{.name = "dropped"};
            co_await tx.insert(row9);
            // destroyed without commit
        }
        bool caught = false;
        try {
            auto tx = co_await db.begin();
            const auto row10 = user{.name = "thrown"};
            co_await tx.insert(row10);
            throw std::runtime_error("handler failed");
        } catch (const std::runtime_error&) {
            caught = true;
        }
        CHECK(caught);
        {
            auto tx = co_await db.begin();
            const auto row11 = user{.name = "outer"};
            co_await tx.insert(row11);
            auto sp = co_await tx.savepoint();
            const auto row12 = user{.name = "inner"};
            co_await tx.insert(row12);
            co_await tx.rollback_to(sp);
            auto sp2 = co_await tx.savepoint();
            const auto row13 = user{.name = "inner kept"};
            co_await tx.insert(row13);
            co_await tx.release_savepoint(sp2);
            co_await tx.commit();
        }
        auto names = co_await db.query<std::string>("SELECT name FROM users ORDER BY id");
        CHECK(names == std::vector<std::string>{"kept", "outer", "inner kept"});

        // A failing statement inside a transaction, then rollback on drop.
        caught = false;
        try {
            auto tx = co_await db.begin(orm::isolation::serializable);
            const auto row14 = user{.name = "half"};
            co_await tx.insert(row14);
            co_await tx.execute("INSERT INTO posts (user_id, title) VALUES ($1, $2)", 9999, "orphan");
        } catch (const orm::error& e) {
            caught = true;
            CHECK(e.kind() == orm::errc::constraint_violation);
            CHECK(e.sql_state() == "23503");
        }
        CHECK(caught);
        CHECK(co_await db.count(orm::select<user>().where(c(&user::name) == "half")) == 0);
        CHECK(db.pool_stats().in_use == 0);
    }());
}

TEST_CASE("typed errors carry the SQL state")
{
    auto db = orm::database::open("sqlite::memory:");
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        const auto row15 = user{.name = "a", .email = "same@x"};
        co_await db.insert(row15);
        auto expect = [](orm::errc kind, std::string_view state) {
            return [kind, state](const orm::error& e) {
                CHECK(e.kind() == kind);
                CHECK(e.sql_state() == state);
            };
        };
        auto unique = expect(orm::errc::constraint_violation, "23505");
        try {
            const auto row16 = user{.name = "b", .email = "same@x"};
            co_await db.insert(row16);
            FAIL("no error");
        } catch (const orm::error& e) {
            unique(e);
        }
        try {
            co_await db.execute("INSERT INTO users (name) VALUES ($1)", std::optional<std::string>{});
            FAIL("no error");
        } catch (const orm::error& e) {
            expect(orm::errc::constraint_violation, "23502")(e);
        }
        try {
            co_await db.execute("SELEC nonsense");
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::query_error);
        }
        try {
            co_await db.query<user>("SELECT * FROM missing_table");
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::query_error);
            CHECK(std::string(e.what()).find("missing_table") != std::string::npos);
        }
        // The connection still works after errors.
        CHECK(co_await db.count(orm::select<user>()) == 1);
    }());
}

TEST_CASE("a locked SQLite file gives a timeout error after the busy timeout")
{
    temp_dir dir;
    orm::database_options opts;
    opts.connect.busy_timeout = std::chrono::milliseconds(100);
    auto db = orm::database::open(dir.url("busy.db"), opts);
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        auto writer = co_await db.begin(orm::isolation::serializable);  // holds the write lock
        const auto row17 = user{.name = "w"};
        co_await writer.insert(row17);
        auto other = co_await db.begin();
        try {
            const auto row18 = user{.name = "blocked"};
            co_await other.insert(row18);
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::timeout);
            CHECK(e.sql_state() == "55P03");
        }
        co_await writer.commit();
    }());
}

TEST_CASE("pool exhaustion on a database gives a timeout error, close refuses new calls")
{
    temp_dir dir;
    orm::database_options opts;
    opts.max_connections = 1;
    opts.acquire_timeout = std::chrono::milliseconds(50);
    auto db = orm::database::open(dir.url("pool.db"), opts);
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        auto tx = co_await db.begin();
        try {
            co_await db.execute("SELECT 1");
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::timeout);
        }
        co_await tx.commit();
        co_await db.execute("SELECT 1");
        db.close();
        try {
            co_await db.execute("SELECT 1");
            FAIL("no error");
        } catch (const orm::error& e) {
            CHECK(e.kind() == orm::errc::shutting_down);
        }
    }());
    CHECK(db.pool_stats().timeouts == 1);
}

TEST_CASE("a missing directory is a connection error")
{
    auto db = orm::database::open("sqlite:///nonexistent-dir-covet/x/app.db");
    try {
        block_on(db.execute("SELECT 1"));
        FAIL("no error");
    } catch (const orm::error& e) {
        CHECK(e.kind() == orm::errc::connection_lost);
        CHECK(std::string(e.what()).find("cannot") != std::string::npos);
    }
}

TEST_CASE("file databases serve concurrent callers from several connections")
{
    temp_dir dir;
    auto db = orm::database::open(dir.url("many.db"), {.max_connections = 4});
    block_on(db.execute(schema));
    covet::net::runtime rt({.threads = 2, .handle_signals = false});
    std::atomic<int> done{0};
    for (std::size_t w = 0; w < rt.size(); ++w) {
        rt.spawn(w, [](orm::database& d, std::atomic<int>& finished, std::size_t worker) -> task<void> {
            for (int i = 0; i < 50; ++i) {
                const auto row19 = user{.name = "w" + std::to_string(worker) + "-" + std::to_string(i)};
                co_await d.insert(row19);
                co_await d.count(orm::select<user>());
            }
            ++finished;
        }(db, done, w));
    }
    run_until(rt, done, 2);
    CHECK(done == 2);
    CHECK(block_on(db.count(orm::select<user>())) == 100);
}

TEST_CASE("transact commits, retries serialization failures and rolls back other errors")
{
    temp_dir dir;
    auto db = orm::database::open(dir.url("retry.db"));
    block_on([&]() -> task<void> {
        co_await db.execute(schema);
        int attempts = 0;
        auto id = co_await db.transact([&attempts](orm::transaction& tx) -> task<std::int64_t> {
            ++attempts;
            const auto u = user{.name = "attempt " + std::to_string(attempts)};
            auto key = co_await tx.insert(u);
            if (attempts < 3) {
                throw orm::error(orm::errc::serialization_failure, "40001", "could not serialize access");
            }
            co_return key;
        });
        CHECK(attempts == 3);
        auto names = co_await db.query<std::string>("SELECT name FROM users");
        CHECK(names == std::vector<std::string>{"attempt 3"});  // the failed attempts were rolled back
        CHECK((co_await db.get<user>(id)).name == "attempt 3");

        bool gave_up = false;
        try {
            co_await db.transact(
                [](orm::transaction&) -> task<void> {
                    throw orm::error(orm::errc::serialization_failure, "40001", "always");
                    co_return;
                },
                orm::isolation::serializable, 2);
        } catch (const orm::error& e) {
            gave_up = e.kind() == orm::errc::serialization_failure;
        }
        CHECK(gave_up);

        bool other = false;
        try {
            co_await db.transact([](orm::transaction& tx) -> task<void> {
                const auto u = user{.name = "never"};
                co_await tx.insert(u);
                throw std::runtime_error("not retried");
            });
        } catch (const std::runtime_error&) {
            other = true;
        }
        CHECK(other);
        CHECK(co_await db.count(orm::select<user>().where(c(&user::name) == "never")) == 0);
        CHECK(db.pool_stats().in_use == 0);
    }());
}

TEST_CASE("registry routes reads to the replica and writes to the primary")
{
    temp_dir dir;
    orm::registry dbs;
    dbs.add("main", orm::database::open(dir.url("primary.db")), orm::database::open(dir.url("replica.db")));
    dbs.add("logs", orm::database::open("sqlite::memory:"));
    CHECK_THROWS_AS(dbs.add("logs", orm::database::open("sqlite::memory:")), orm::error);
    CHECK_THROWS_AS(dbs.writer("missing"), orm::error);
    block_on([&]() -> task<void> {
        co_await dbs.writer("main").execute("CREATE TABLE t (v TEXT)");
        co_await dbs.reader("main").execute("CREATE TABLE t (v TEXT)");
        co_await dbs.writer("main").execute("INSERT INTO t VALUES ($1)", "primary");
        co_await dbs.reader("main").execute("INSERT INTO t VALUES ($1)", "replica");
        CHECK(co_await dbs.reader("main").query_one<std::string>("SELECT v FROM t") == "replica");
        CHECK(co_await dbs.writer("main").query_one<std::string>("SELECT v FROM t") == "primary");
        // Without a replica, reads go to the primary.
        CHECK(&dbs.reader("logs") == &dbs.writer("logs"));
    }());
    dbs.close();
}

TEST_CASE("the typed statement path (SQLite run inline) and the value path agree")
{
    temp_dir dir;
    // In memory and on a file run inline (typed path); a file offloaded (values and rows).
    orm::database_options inline_file;
    inline_file.connect.offload_blocking = false;
    std::vector<orm::database> dbs;
    dbs.push_back(orm::database::open("sqlite::memory:"));
    dbs.push_back(orm::database::open(dir.url("inline.db"), inline_file));
    dbs.push_back(orm::database::open(dir.url("offloaded.db")));
    for (auto& db : dbs) {
        block_on([&]() -> task<void> {
            co_await db.execute(schema);  // a multi-statement script: not a single statement
            const auto ann = user{.name = "ann", .age = 31, .email = "a@x", .score = 1.5, .active = false};
            const auto id = co_await db.insert(ann);
            auto found = co_await db.find<user>(id);
            REQUIRE(found);
            CHECK(found->name == "ann");
            CHECK(found->age == 31);
            CHECK(found->email == "a@x");
            CHECK(found->score == 1.5);
            CHECK(found->active == false);
            found->age.reset();
            found->email.reset();
            CHECK(co_await db.update(*found) == 1);
            auto again = co_await db.query_one<user>("SELECT * FROM users WHERE id = $1", id);
            REQUIRE(again);
            CHECK(!again->age);
            CHECK(!again->email);
            // Fewer arguments than placeholders leave the rest NULL, also after a run that bound them all.
            auto both = co_await db.query_one<std::optional<std::int64_t>>("SELECT $1 + $2", 1, 2);
            REQUIRE(both);
            CHECK(*both == 3);
            auto one = co_await db.query_one<std::optional<std::int64_t>>("SELECT $1 + $2", 1);
            REQUIRE(one);
            CHECK(!*one);
            bool too_many = false;
            try {
                co_await db.execute("SELECT $1", 1, 2);
            } catch (const orm::error& e) {
                too_many = e.kind() == orm::errc::query_error && e.sql_state() == "08P01";
            }
            CHECK(too_many);
            // A value that cannot be bound fails before the statement runs; the connection stays usable.
            bool out_of_range = false;
            try {
                co_await db.query<user>("SELECT * FROM users WHERE id = $1", std::uint64_t{UINT64_MAX});
            } catch (const orm::error& e) {
                out_of_range = e.kind() == orm::errc::invalid_argument;
            }
            CHECK(out_of_range);
            auto rows = co_await db.query<user>("SELECT name, id FROM users WHERE id = $1", id);
            REQUIRE(rows.size() == 1);
            CHECK(rows[0].name == "ann");
            CHECK(rows[0].id == id);
            {
                auto tx = co_await db.begin();
                const auto bob = user{.name = "bob"};
                const auto bob_id = co_await tx.insert(bob);
                auto in_tx = co_await tx.find<user>(bob_id);
                CHECK(in_tx);
                CHECK(co_await tx.remove<user>(bob_id) == 1);
                co_await tx.commit();
            }
            CHECK(co_await db.remove<user>(id) == 1);
            CHECK(!(co_await db.find<user>(id)));
        }());
    }
}

TEST_CASE("on_statement sees every statement once, on both paths")
{
    std::vector<std::string> seen;
    orm::database_options options;
    options.on_statement = [&](std::string_view sql) { seen.emplace_back(sql); };
    auto db = orm::database::open("sqlite::memory:", options);
    block_on([&]() -> task<void> {
        co_await db.execute(schema);  // a script: run through the value path
        const auto ann = user{.name = "ann"};
        const auto id = co_await db.insert(ann);
        co_await db.find<user>(id);
        try {
            co_await db.execute("SELEC broken");  // fails to prepare: still reported
        } catch (const orm::error&) {
        }
        co_await db.query<user>("SELECT * FROM users");
    }());
    REQUIRE(seen.size() == 5);
    CHECK(seen[0] == schema);
    CHECK(seen[1].starts_with("INSERT INTO"));
    CHECK(seen[2].starts_with("SELECT"));
    CHECK(seen[3] == "SELEC broken");
    CHECK(seen[4] == "SELECT * FROM users");
}

TEST_CASE(
    "column order learned for a cached statement is relearned for another Row and after a schema change")
{
    auto db = orm::database::open("sqlite::memory:");
    block_on([&]() -> task<void> {
        co_await db.execute("CREATE TABLE pair (name TEXT, title TEXT)");
        co_await db.execute("INSERT INTO pair VALUES ('n', 't')");
        constexpr std::string_view all = "SELECT * FROM pair";
        for (int run = 0; run < 2; ++run) {
            auto in_order = co_await db.query<app::name_and_title>(all);  // the fields in order
            REQUIRE(in_order.size() == 1);
            CHECK(in_order[0].name == "n");
            CHECK(in_order[0].title == "t");
            auto swapped = co_await db.query_one<app::title_and_name>(all);  // the same statement, by name
            REQUIRE(swapped);
            CHECK(swapped->name == "n");
            CHECK(swapped->title == "t");
        }
        // SELECT * now yields (label, title): the statement is recompiled and its order relearned.
        co_await db.execute("ALTER TABLE pair RENAME COLUMN name TO label");
        auto renamed = co_await db.query<app::name_and_title>(all);
        REQUIRE(renamed.size() == 1);
        CHECK(renamed[0].name.empty());
        CHECK(renamed[0].title == "t");
    }());
}
