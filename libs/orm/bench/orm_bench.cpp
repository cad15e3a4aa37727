// covet::orm vs raw sqlite3 prepared statements in the same binary, SQLite in
// memory, 10,000 users with one post each. Each ORM case does what the raw case
// does (same SQL shape, rows read into the same struct); the target is ORM
// <= 1.15x raw. Under callgrind only the measured loops are collected, with a
// fixed iteration count:
//   COVET_BENCH_ITERATIONS=20000 valgrind --tool=callgrind --collect-atstart=no
//       build/release/libs/orm/covet_orm_bench --benchmark_filter='^BM_orm_update$'
// (instructions per operation = Ir / 20000).
#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>

#include <benchmark/benchmark.h>
#include <sqlite3.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct user {
    std::int64_t id = 0;
    std::string name;
    std::optional<int> age;
    std::string email;
};
COVET_REFLECT(user, id, name, age, email);
COVET_MODEL(user, "users", id);

struct post {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    std::string title;
};
COVET_REFLECT(post, id, user_id, title);
COVET_MODEL(post, "posts", id);

// The posts table again, with its author loaded by the ORM (eager loading cases).
struct authored_post {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    std::string title;
    std::optional<user> author;
};
COVET_REFLECT(authored_post, id, user_id, title);
COVET_MODEL(authored_post, "posts", id);
COVET_RELATIONS(authored_post, covet::orm::belongs_to(&authored_post::author, &authored_post::user_id));

struct name_and_title {
    std::string name;
    std::string title;
};
COVET_REFLECT(name_and_title, name, title);

}  // namespace bench

namespace {

using bench::user;
namespace orm = covet::orm;
using covet::task;
using covet::net::block_on;

// Collects instructions (under callgrind) from the first to the last iteration of a loop.
struct collect_scope {
    collect_scope() { CALLGRIND_TOGGLE_COLLECT; }
    ~collect_scope() { CALLGRIND_TOGGLE_COLLECT; }
    collect_scope(const collect_scope&) = delete;
    collect_scope& operator=(const collect_scope&) = delete;
};

constexpr int rows = 10'000;
constexpr int delete_rows = 100'000;

constexpr const char* schema =
    "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, email TEXT NOT NULL);"
    "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL, title TEXT NOT NULL);"
    "CREATE INDEX posts_user ON posts(user_id);";

std::string seed_sql(int count, int first_id)
{
    return "WITH RECURSIVE n(i) AS (SELECT " + std::to_string(first_id) +
           " UNION ALL SELECT i + 1 FROM n WHERE i < " + std::to_string(first_id + count - 1) +
           ") INSERT INTO users (id, name, age, email) SELECT i, 'user' || i, i % 90, 'u' || i || "
           "'@example.com' "
           "FROM n";
}
std::string seed_posts_sql()
{
    return "INSERT INTO posts (id, user_id, title) SELECT id, id, 'post of ' || name FROM users";
}

// ---------------------------------------------------------------- raw sqlite3

struct raw_db {
    raw_db()
    {
        sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr);
        exec(schema);
        exec(seed_sql(rows, 1));
        exec(seed_posts_sql());
    }
    ~raw_db()
    {
        for (auto* st : statements) {
            sqlite3_finalize(st);
        }
        sqlite3_close(db);
    }
    void exec(const std::string& sql)
    {
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
            throw std::runtime_error(sqlite3_errmsg(db));
        }
    }
    sqlite3_stmt* prepare(const char* sql)
    {
        sqlite3_stmt* st = nullptr;
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
            throw std::runtime_error(sqlite3_errmsg(db));
        }
        statements.push_back(st);
        return st;
    }
    sqlite3* db = nullptr;
    std::vector<sqlite3_stmt*> statements;
};

std::string column_text(sqlite3_stmt* st, int i)
{
    return {reinterpret_cast<const char*>(sqlite3_column_text(st, i)),
            static_cast<std::size_t>(sqlite3_column_bytes(st, i))};
}

void BM_raw_select_by_pk(benchmark::State& state)
{
    raw_db r;
    auto* st = r.prepare("SELECT id, name, age, email FROM users WHERE id = ?");
    std::int64_t id = 0;
    const collect_scope measured;
    for (auto _ : state) {
        sqlite3_bind_int64(st, 1, id++ % rows + 1);
        std::optional<user> out;
        if (sqlite3_step(st) == SQLITE_ROW) {
            user u;
            u.id = sqlite3_column_int64(st, 0);
            u.name = column_text(st, 1);
            if (sqlite3_column_type(st, 2) != SQLITE_NULL) {
                u.age = sqlite3_column_int(st, 2);
            }
            u.email = column_text(st, 3);
            out = std::move(u);
        }
        sqlite3_reset(st);
        benchmark::DoNotOptimize(out);
    }
}

void BM_raw_insert(benchmark::State& state)
{
    raw_db r;
    auto* st = r.prepare("INSERT INTO users (name, age, email) VALUES (?, ?, ?)");
    const user u{0, "new user", 33, "new@example.com"};
    const collect_scope measured;
    for (auto _ : state) {
        sqlite3_bind_text(st, 1, u.name.data(), static_cast<int>(u.name.size()), SQLITE_STATIC);
        sqlite3_bind_int(st, 2, *u.age);
        sqlite3_bind_text(st, 3, u.email.data(), static_cast<int>(u.email.size()), SQLITE_STATIC);
        sqlite3_step(st);
        sqlite3_reset(st);
        benchmark::DoNotOptimize(sqlite3_last_insert_rowid(r.db));
    }
}

void BM_raw_update(benchmark::State& state)
{
    raw_db r;
    auto* st = r.prepare("UPDATE users SET name = ?, age = ?, email = ? WHERE id = ?");
    user u{0, "renamed", 44, "renamed@example.com"};
    const collect_scope measured;
    for (auto _ : state) {
        u.id = u.id % rows + 1;
        sqlite3_bind_text(st, 1, u.name.data(), static_cast<int>(u.name.size()), SQLITE_STATIC);
        sqlite3_bind_int(st, 2, *u.age);
        sqlite3_bind_text(st, 3, u.email.data(), static_cast<int>(u.email.size()), SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, u.id);
        sqlite3_step(st);
        sqlite3_reset(st);
        benchmark::DoNotOptimize(sqlite3_changes(r.db));
    }
}

void BM_raw_delete(benchmark::State& state)
{
    raw_db r;
    r.exec(seed_sql(delete_rows, rows + 1));
    auto* st = r.prepare("DELETE FROM users WHERE id = ?");
    std::int64_t id = rows;
    const collect_scope measured;
    for (auto _ : state) {
        sqlite3_bind_int64(st, 1, ++id);
        sqlite3_step(st);
        sqlite3_reset(st);
        benchmark::DoNotOptimize(sqlite3_changes(r.db));
    }
}

void BM_raw_join(benchmark::State& state)
{
    raw_db r;
    auto* st = r.prepare(
        "SELECT users.name, posts.title FROM users JOIN posts ON posts.user_id = users.id WHERE users.id = "
        "?");
    std::int64_t id = 0;
    const collect_scope measured;
    for (auto _ : state) {
        sqlite3_bind_int64(st, 1, id++ % rows + 1);
        std::vector<bench::name_and_title> out;
        while (sqlite3_step(st) == SQLITE_ROW) {
            out.push_back({column_text(st, 0), column_text(st, 1)});
        }
        sqlite3_reset(st);
        benchmark::DoNotOptimize(out);
    }
}

// ---------------------------------------------------------------- covet::orm

orm::database make_orm_db(int extra_rows = 0, covet::pool::mode mode = covet::pool::mode::shared)
{
    orm::database_options options;
    options.pool_mode = mode;
    auto db = orm::database::open("sqlite::memory:", options);
    block_on([](orm::database& d, int extra) -> task<void> {
        co_await d.execute(schema);
        const std::string users = seed_sql(rows, 1);
        co_await d.execute(users);
        const std::string posts = seed_posts_sql();
        co_await d.execute(posts);
        if (extra > 0) {
            const std::string more = seed_sql(extra, rows + 1);
            co_await d.execute(more);
        }
    }(db, extra_rows));
    return db;
}

void BM_orm_select_by_pk(benchmark::State& state)
{
    auto db = make_orm_db();
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        std::int64_t id = 0;
        const collect_scope measured;
        for (auto _ : st) {
            auto u = co_await d.find<user>(id++ % rows + 1);
            benchmark::DoNotOptimize(u);
        }
    }(state, db));
}

// The same with a per-thread database (no pool mutex), as one per runtime worker would be.
void BM_orm_select_by_pk_per_thread(benchmark::State& state)
{
    auto db = make_orm_db(0, covet::pool::mode::per_thread);
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        std::int64_t id = 0;
        const collect_scope measured;
        for (auto _ : st) {
            auto u = co_await d.find<user>(id++ % rows + 1);
            benchmark::DoNotOptimize(u);
        }
    }(state, db));
}

void BM_orm_insert(benchmark::State& state)
{
    auto db = make_orm_db();
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        const user u{0, "new user", 33, "new@example.com"};
        const collect_scope measured;
        for (auto _ : st) {
            auto id = co_await d.insert(u);
            benchmark::DoNotOptimize(id);
        }
    }(state, db));
}

void BM_orm_update(benchmark::State& state)
{
    auto db = make_orm_db();
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        user u{0, "renamed", 44, "renamed@example.com"};
        const collect_scope measured;
        for (auto _ : st) {
            u.id = u.id % rows + 1;
            auto n = co_await d.update(u);
            benchmark::DoNotOptimize(n);
        }
    }(state, db));
}

void BM_orm_delete(benchmark::State& state)
{
    auto db = make_orm_db(delete_rows);
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        std::int64_t id = rows;
        const collect_scope measured;
        for (auto _ : st) {
            auto n = co_await d.remove<user>(++id);
            benchmark::DoNotOptimize(n);
        }
    }(state, db));
}

void BM_orm_join_raw_sql(benchmark::State& state)
{
    auto db = make_orm_db();
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        std::int64_t id = 0;
        const collect_scope measured;
        for (auto _ : st) {
            auto out = co_await d.query<bench::name_and_title>(
                "SELECT users.name, posts.title FROM users JOIN posts ON posts.user_id = users.id WHERE "
                "users.id = $1",
                id++ % rows + 1);
            benchmark::DoNotOptimize(out);
        }
    }(state, db));
}

void BM_orm_join_builder(benchmark::State& state)
{
    using orm::c;
    auto db = make_orm_db();
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        std::int64_t id = 0;
        const collect_scope measured;
        for (auto _ : st) {
            auto q = orm::select<user>()
                         .join<bench::post>(c(&bench::post::user_id) == c(&user::id))
                         .columns(c(&user::name), c(&bench::post::title))
                         .where(c(&user::id) == id++ % rows + 1);
            auto out = co_await d.fetch<bench::name_and_title>(q);
            benchmark::DoNotOptimize(out);
        }
    }(state, db));
}

// The same join built once (orm::prepared_query) and run with a new id per call.
void BM_orm_join_prepared(benchmark::State& state)
{
    using orm::c;
    auto db = make_orm_db();
    const orm::prepared_query<bench::name_and_title> by_user(
        orm::select<user>()
            .join<bench::post>(c(&bench::post::user_id) == c(&user::id))
            .columns(c(&user::name), c(&bench::post::title))
            .where(c(&user::id) == orm::arg(0)));
    block_on([](benchmark::State& st, orm::database& d,
                const orm::prepared_query<bench::name_and_title>& q) -> task<void> {
        std::int64_t id = 0;
        const collect_scope measured;
        for (auto _ : st) {
            auto out = co_await d.fetch(q, id++ % rows + 1);
            benchmark::DoNotOptimize(out);
        }
    }(state, db, by_user));
}

// The floor of the task<T> API shape, no SQLite: co_await of a coroutine
// returning an std::optional<user> (what find() returns), for comparison.
task<std::optional<user>> ready_user(std::int64_t id)
{
    std::optional<user> out;
    out.emplace().id = id;
    co_return out;
}

void BM_task_floor(benchmark::State& state)
{
    block_on([](benchmark::State& st) -> task<void> {
        std::int64_t id = 0;
        const collect_scope measured;
        for (auto _ : st) {
            auto u = co_await ready_user(++id);
            benchmark::DoNotOptimize(u);
        }
    }(state));
}

}  // namespace

// 100 posts and their authors: one extra statement (eager loading) against
// one find() per post (the N+1 pattern eager loading replaces).
constexpr std::int64_t page = 100;

orm::select_query<bench::authored_post> page_of_posts(std::int64_t first)
{
    using bench::authored_post;
    return orm::select<authored_post>().where(orm::c(&authored_post::id).between(first, first + page - 1));
}

void BM_orm_100_posts_with_authors_eager(benchmark::State& state)
{
    auto db = make_orm_db();
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        std::int64_t first = 1;
        const collect_scope measured;
        for (auto _ : st) {
            auto q = page_of_posts(first).with(&bench::authored_post::author);
            auto posts = co_await d.all(q);
            benchmark::DoNotOptimize(posts);
            first = first % (rows - page) + 1;
        }
    }(state, db));
}

void BM_orm_100_posts_with_authors_n_plus_1(benchmark::State& state)
{
    auto db = make_orm_db();
    block_on([](benchmark::State& st, orm::database& d) -> task<void> {
        std::int64_t first = 1;
        const collect_scope measured;
        for (auto _ : st) {
            auto q = page_of_posts(first);
            auto posts = co_await d.all(q);
            for (auto& p : posts) {
                p.author = co_await d.find<user>(p.user_id);
            }
            benchmark::DoNotOptimize(posts);
            first = first % (rows - page) + 1;
        }
    }(state, db));
}

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    const char* fixed = std::getenv("COVET_BENCH_ITERATIONS");
    const auto iterations = fixed != nullptr ? std::strtoll(fixed, nullptr, 10) : 0;
    struct bench_case {
        const char* name;
        void (*run)(benchmark::State&);
        std::int64_t iterations;  // 0: Google Benchmark decides
    };
    const bench_case cases[] = {
        {"BM_raw_select_by_pk", BM_raw_select_by_pk, 0},
        {"BM_orm_select_by_pk", BM_orm_select_by_pk, 0},
        {"BM_orm_select_by_pk_per_thread", BM_orm_select_by_pk_per_thread, 0},
        {"BM_raw_insert", BM_raw_insert, 0},
        {"BM_orm_insert", BM_orm_insert, 0},
        {"BM_raw_update", BM_raw_update, 0},
        {"BM_orm_update", BM_orm_update, 0},
        // Each iteration deletes a row of its own.
        {"BM_raw_delete", BM_raw_delete, delete_rows},
        {"BM_orm_delete", BM_orm_delete, delete_rows},
        {"BM_raw_join", BM_raw_join, 0},
        {"BM_orm_join_raw_sql", BM_orm_join_raw_sql, 0},
        {"BM_orm_join_builder", BM_orm_join_builder, 0},
        {"BM_orm_join_prepared", BM_orm_join_prepared, 0},
        {"BM_orm_100_posts_with_authors_eager", BM_orm_100_posts_with_authors_eager, 0},
        {"BM_orm_100_posts_with_authors_n_plus_1", BM_orm_100_posts_with_authors_n_plus_1, 0},
        {"BM_task_floor", BM_task_floor, 0},
    };
    for (const auto& c : cases) {
        auto* b = benchmark::RegisterBenchmark(c.name, c.run);
        if (iterations > 0) {
            b->Iterations(std::min<std::int64_t>(iterations, c.iterations > 0 ? c.iterations : iterations));
        } else if (c.iterations > 0) {
            b->Iterations(c.iterations);
        }
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
