// Streaming large results from PostgreSQL through a server-side cursor (the
// checks are the SQLite test's: libs/orm/tests/stream_cases.hpp).
#include "../../orm/tests/stream_cases.hpp"
#include "pg_server.hpp"

#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>
#include <covet/postgres/postgres.hpp>

#include <doctest/doctest.h>

TEST_CASE("streaming from PostgreSQL: bounded memory, early stop, errors mid-stream")
{
    PG_SERVER_OR_SKIP(server);
    const streaming::series_sql sql{
        "SELECT n, lpad(n::text, 200, '0') AS label FROM generate_series(1, $1::bigint) AS n",
        "SELECT 1 / (n - 50000) AS n, '' AS label FROM generate_series(1, $1::bigint) AS n",
        "22012",  // division_by_zero at row 50000
    };
    for (const auto mode : {covet::pool::mode::shared, covet::pool::mode::per_thread}) {
        // The database lives and dies inside the event loop its connections use.
        covet::net::block_on([](std::string url, covet::pool::mode pool_mode,
                                streaming::series_sql queries) -> covet::task<void> {
            covet::orm::database_options options;
            options.pool_mode = pool_mode;
            auto db = covet::orm::database::open(url, options);
            co_await streaming::check_streaming(db, queries);
        }(server->url(), mode, sql));
    }
}
