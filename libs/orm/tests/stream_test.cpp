// Streaming large results from SQLite (the checks: stream_cases.hpp).
#include "stream_cases.hpp"
#include "temp_dir.hpp"

#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>

#include <doctest/doctest.h>

namespace {

streaming::series_sql sqlite_series()
{
    const std::string numbers =
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $1) ";
    return {
        numbers + "SELECT n, printf('%0200d', n) AS label FROM s",
        // abs() of the smallest integer overflows: an error at row 50000.
        numbers +
            "SELECT CASE WHEN n = 50000 THEN abs(n - 50000 - 9223372036854775807 - 1) ELSE n END AS n, "
            "'' AS label FROM s",
        "42000",
    };
}

}  // namespace

TEST_CASE("streaming from SQLite in memory: bounded memory, early stop, errors mid-stream")
{
    auto db = covet::orm::database::open("sqlite::memory:");
    covet::net::block_on(streaming::check_streaming(db, sqlite_series()));
}

TEST_CASE("streaming from a SQLite file (statements offloaded) and from the query builder")
{
    covet::testing::temp_dir dir("covet-orm-stream");
    auto db = covet::orm::database::open("sqlite://" + (dir.path / "s.db").string());
    covet::net::block_on([&]() -> covet::task<void> {
        co_await streaming::check_streaming(db, sqlite_series());

        co_await db.execute("CREATE TABLE series (n INTEGER PRIMARY KEY, label TEXT NOT NULL)");
        co_await db.execute(
            "INSERT INTO series (n, label) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s "
            "WHERE n < 1000) SELECT n, 'x' || n FROM s");
        auto rows = co_await db.stream(covet::orm::select<streaming::series_row>()
                                           .where(covet::orm::c(&streaming::series_row::n) > 500)
                                           .order_by(covet::orm::c(&streaming::series_row::n).desc()));
        std::int64_t expected = 1000;
        while (auto r = co_await rows.next()) {
            CHECK(r->n == expected);
            CHECK(r->label == "x" + std::to_string(expected));
            --expected;
        }
        CHECK(expected == 500);
    }());
}
