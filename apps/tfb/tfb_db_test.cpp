// The TFB database endpoints over real sockets on a SQLite file (the app in
// this process; tfb_pg_test.cpp runs the same checks on PostgreSQL).
#include "tfb_db.hpp"
#include "temp_dir.hpp"
#include "tfb.hpp"
#include "tfb_db_checks.hpp"

#include <covet/net/spawn.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

using namespace std::chrono_literals;

struct running_db_tfb {
    covet::testing::temp_dir tmp{"covet-tfb"};
    std::string url = "sqlite://" + (tmp.path / "tfb.db").string();
    covet::web::app app{covet::tfb::make_config(0, 2)};
    std::uint16_t port = 0;
    running_db_tfb()
    {
        {
            auto db = covet::orm::database::open(url);
            covet::net::block_on(covet::tfb::seed(db));
        }
        app.config().address = "127.0.0.1";
        app.config().handle_signals = false;
        app.config().stop_timeout = 2s;
        covet::tfb::add_routes(app);
        covet::tfb::add_db_routes(app, url);
        port = app.listen();
        app.start();
    }
    ~running_db_tfb() { app.stop(); }
};

}  // namespace

TEST_CASE("/db, /queries, /fortunes and /updates on SQLite")
{
    running_db_tfb tfb;
    covet::tfb::testing::check_db_endpoints(tfb.port, tfb.url);
}

TEST_CASE("/cached-queries: rows from the per-worker cache match the database, count clamped")
{
    running_db_tfb tfb;
    covet::tfb::testing::check_cached_queries(tfb.port, tfb.url);
}
