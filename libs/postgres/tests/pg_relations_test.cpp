// Relationships and eager loading on PostgreSQL (the checks are the SQLite
// test's: libs/orm/tests/relations_cases.hpp). Keys go as one array
// parameter: WHERE key = ANY($1).
#include "../../orm/tests/relations_cases.hpp"
#include "pg_server.hpp"

#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>
#include <covet/postgres/postgres.hpp>

#include <doctest/doctest.h>

#include <string>

namespace {

// A database of its own: the other tests drop and create users/posts in "postgres".
std::string fresh_database(const pgtest::server& server, const std::string& name)
{
    auto admin = covet::orm::database::open(server.url());
    covet::net::block_on([&]() -> covet::task<void> {
        const std::string drop = "DROP DATABASE IF EXISTS " + name;
        const std::string create = "CREATE DATABASE " + name;
        co_await admin.execute(drop);
        co_await admin.execute(create);
        admin.close();
    }());
    std::string url = server.url();
    url.replace(url.find("/postgres?"), 10, "/" + name + "?");
    return url;
}

}  // namespace

TEST_CASE("eager loading on PostgreSQL: one statement per relation, never one per parent")
{
    PG_SERVER_OR_SKIP(server);
    const std::string url = fresh_database(*server, "covet_relations");
    rel::statement_counter counter;
    auto db = rel::open_counted(url, counter);
    covet::net::block_on([&]() -> covet::task<void> {
        const std::string schema = rel::relations_schema("BIGSERIAL PRIMARY KEY", "BIGINT");
        co_await db.execute(schema);
        co_await rel::check_relations(db, counter);
        // The related rows came with one array parameter, not a list of placeholders.
        counter.reset();
        co_await db.all(covet::orm::select<rel::post>().with(&rel::post::author));
        REQUIRE(counter.sql.size() == 2);
        CHECK(counter.sql[1].find("= ANY($1)") != std::string::npos);
        db.close();
    }());
}
