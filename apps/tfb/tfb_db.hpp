#pragma once
// The TechEmpower database endpoints on covet::orm (SQLite or PostgreSQL):
//  - /db: one random World row (id 1..10000) as {"id":N,"randomNumber":M};
//  - /queries?queries=N: N rows, each from its own query; N clamped to 1..500,
//    anything unparsable is 1;
//  - /fortunes: every Fortune row plus one added at request time, sorted by
//    message, as an HTML table with every message escaped;
//  - /updates?queries=N: N random rows read one by one, each given a new
//    random number and written back; the updated rows as JSON;
//  - /cached-queries?count=N: N random rows through an in-process cache of
//    World objects (covet::cache, one per worker, filled from the database on
//    misses with single-flight loads); N clamped like queries.
// Each worker thread opens its own database on first use (per-thread pool;
// on PostgreSQL its statements are pipelined on one connection).

#include <covet/cache/cache.hpp>
#include <covet/json/json.hpp>
#include <covet/orm/orm.hpp>
#include <covet/web/app.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace covet::tfb {

struct world {
    std::int64_t id = 0;
    std::int64_t randomNumber = 0;
};
COVET_REFLECT(world, id, randomNumber);
COVET_MODEL(world, "world", id);

struct fortune {
    std::int64_t id = 0;
    std::string message;
};
COVET_REFLECT(fortune, id, message);
COVET_MODEL(fortune, "fortune", id);

/// The app-wide database URL (injected into the handlers).
struct db_settings {
    std::string url;
};

inline constexpr std::int64_t world_rows = 10'000;

inline std::optional<orm::database>& worker_db_slot()
{
    thread_local std::optional<orm::database> db;
    return db;
}

/// The calling worker's database, opened on first use on this thread.
inline orm::database& worker_db(const std::string& url)
{
    auto& db = worker_db_slot();
    if (!db) {
        orm::database_options options;
        options.pool_mode = pool::mode::per_thread;
        options.max_connections = 4;
        db.emplace(orm::database::open(url, options));
    }
    return *db;
}

/// Closes the calling thread's database. A worker thread's closes when the
/// thread ends; the thread that called app.run() (worker 0) must call this
/// after run() returns, while the io_contexts (PostgreSQL sockets) still exist.
inline void close_worker_db()
{
    worker_db_slot().reset();
}

/// The calling worker's cache of World rows: every row fits, so once warm
/// every lookup is a hit (the test's point is the cache, not the database).
inline cache::local_cache<std::int64_t, world>& worker_world_cache()
{
    thread_local cache::local_cache<std::int64_t, world> worlds({.capacity = world_rows});
    return worlds;
}

inline std::int64_t random_world_id()
{
    thread_local std::minstd_rand engine{std::random_device{}()};
    return static_cast<std::int64_t>(engine() % world_rows) + 1;
}

/// queries=N per the rules: 1..500, 1 when missing or not a number.
inline int query_count(const std::optional<std::string>& text)
{
    int n = 1;
    if (text) {
        auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
        if (ec != std::errc{} || end != text->data() + text->size()) {
            n = 1;
        }
    }
    return std::clamp(n, 1, 500);
}

inline void append_escaped(std::string& out, std::string_view text)
{
    for (char ch : text) {
        switch (ch) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#x27;"; break;
        default: out += ch;
        }
    }
}

inline std::string render_fortunes(const std::vector<fortune>& rows)
{
    std::string html =
        "<!DOCTYPE "
        "html><html><head><title>Fortunes</title></head><body><table><tr><th>id</th><th>message</th></tr>";
    for (const auto& f : rows) {
        html += "<tr><td>";
        html += std::to_string(f.id);
        html += "</td><td>";
        append_escaped(html, f.message);
        html += "</td></tr>";
    }
    html += "</table></body></html>";
    return html;
}

/// Creates and fills World (10,000 rows) and Fortune (the 12 standard rows)
/// when they are empty. Works on SQLite and PostgreSQL.
inline task<void> seed(orm::database& db)
{
    co_await db.execute(
        "CREATE TABLE IF NOT EXISTS world (id INTEGER PRIMARY KEY, \"randomNumber\" INTEGER NOT NULL)");
    co_await db.execute("CREATE TABLE IF NOT EXISTS fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)");
    if (co_await db.count(orm::select<world>()) == 0) {
        std::vector<world> rows;
        std::minstd_rand engine{42};
        for (std::int64_t i = 1; i <= world_rows; ++i) {
            rows.push_back(world{i, static_cast<std::int64_t>(engine() % world_rows) + 1});
        }
        auto tx = co_await db.begin();
        co_await tx.insert_all(rows);
        co_await tx.commit();
    }
    if (co_await db.count(orm::select<fortune>()) == 0) {
        const std::vector<fortune> rows = {
            {1, "fortune: No such file or directory"},
            {2, "A computer scientist is someone who fixes things that aren't broken."},
            {3, "After enough decimal places, nobody gives a damn."},
            {4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"},
            {5, "A computer program does what you tell it to do, not what you want it to do."},
            {6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"},
            {7, "Any program that runs right is obsolete."},
            {8, "A list is only as strong as its weakest link. — Donald Knuth"},
            {9, "Feature: A bug with seniority."},
            {10, "Computers make very fast, very accurate mistakes."},
            {11, "<script>alert(\"This should not be displayed in a browser alert box.\");</script>"},
            {12, "フレームワークのベンチマーク"},
        };
        co_await db.insert_all(rows);
    }
}

inline void add_db_routes(web::app& app, std::string url)
{
    app.provide(std::make_shared<db_settings>(db_settings{std::move(url)}));

    app.get("/db", [](web::inject<db_settings> s) -> task<world> {
        auto row = co_await worker_db(s->url).find<world>(random_world_id());
        co_return row.value_or(world{});
    });

    app.get("/queries",
            [](web::inject<db_settings> s,
               web::query<std::optional<std::string>, "queries"> q) -> task<std::vector<world>> {
                auto& db = worker_db(s->url);
                const int n = query_count(*q);
                std::vector<world> out;
                out.reserve(static_cast<std::size_t>(n));
                for (int i = 0; i < n; ++i) {
                    auto row = co_await db.find<world>(random_world_id());
                    out.push_back(row.value_or(world{}));
                }
                co_return out;
            });

    app.get("/cached-queries",
            [](web::inject<db_settings> s,
               web::query<std::optional<std::string>, "count"> q) -> task<std::vector<world>> {
                auto& worlds = worker_world_cache();
                orm::database* db = &worker_db(s->url);
                const int n = query_count(*q);
                std::vector<world> out;
                out.reserve(static_cast<std::size_t>(n));
                for (int i = 0; i < n; ++i) {
                    world w =
                        co_await worlds.get_or_load(random_world_id(), [db](std::int64_t id) -> task<world> {
                            auto row = co_await db->find<world>(id);
                            co_return row.value_or(world{});
                        });
                    out.push_back(w);
                }
                co_return out;
            });

    app.get("/fortunes", [](web::inject<db_settings> s) -> task<http::response> {
        auto rows = co_await worker_db(s->url).query<fortune>("SELECT id, message FROM fortune");
        rows.push_back(fortune{0, "Additional fortune added at request time."});
        std::sort(rows.begin(), rows.end(),
                  [](const fortune& a, const fortune& b) { return a.message < b.message; });
        http::response r;
        r.set_body(render_fortunes(rows));
        r.set_content_type("text/html; charset=utf-8");
        co_return r;
    });

    app.get("/updates",
            [](web::inject<db_settings> s,
               web::query<std::optional<std::string>, "queries"> q) -> task<std::vector<world>> {
                auto& db = worker_db(s->url);
                const int n = query_count(*q);
                std::vector<world> out;
                out.reserve(static_cast<std::size_t>(n));
                for (int i = 0; i < n; ++i) {
                    auto row = co_await db.find<world>(random_world_id());
                    world w = row.value_or(world{});
                    w.randomNumber = random_world_id();
                    co_await db.update(w);
                    out.push_back(w);
                }
                co_return out;
            });
}

}  // namespace covet::tfb
