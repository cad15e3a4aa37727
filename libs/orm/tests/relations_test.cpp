// Relationships and eager loading on SQLite (the checks: relations_cases.hpp).
#include "relations_cases.hpp"

#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>

#include <doctest/doctest.h>

namespace {
const std::string sqlite_schema = rel::relations_schema("INTEGER PRIMARY KEY", "INTEGER");
}  // namespace

TEST_CASE("eager loading on SQLite: one statement per relation, never one per parent")
{
    rel::statement_counter counter;
    auto db = rel::open_counted("sqlite::memory:", counter);
    covet::net::block_on([&]() -> covet::task<void> {
        co_await db.execute(sqlite_schema);
        co_await rel::check_relations(db, counter);
    }());
}

TEST_CASE("the statement hook sees statements of transactions too")
{
    rel::statement_counter counter;
    auto db = rel::open_counted("sqlite::memory:", counter);
    covet::net::block_on([&]() -> covet::task<void> {
        co_await db.execute(sqlite_schema);
        counter.reset();
        auto tx = co_await db.begin();
        co_await tx.execute("INSERT INTO users (name) VALUES ($1)", "x");
        co_await tx.commit();
        CHECK(counter.count == 3);
        CHECK(counter.sql.front() == "BEGIN");
        CHECK(counter.sql.back() == "COMMIT");
    }());
}
