// Relationships and eager loading on SQLite (the checks: relations_cases.hpp).
#include "relations_cases.hpp"

#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>

#include <doctest/doctest.h>

namespace {

constexpr std::string_view relations_schema = R"(
CREATE TABLE tags (code TEXT PRIMARY KEY, label TEXT NOT NULL);
CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE posts (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users(id),
    tag_code TEXT REFERENCES tags(code),
    title TEXT NOT NULL
);
CREATE TABLE profiles (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users(id), bio TEXT NOT NULL);
)";

}  // namespace

TEST_CASE("eager loading on SQLite: one statement per relation, never one per parent")
{
    rel::statement_counter counter;
    covet::orm::database_options options;
    options.on_statement = counter.hook();
    auto db = covet::orm::database::open("sqlite::memory:", options);
    covet::net::block_on([&]() -> covet::task<void> {
        co_await db.execute(relations_schema);
        co_await rel::check_relations(db, counter);
    }());
}

TEST_CASE("the statement hook sees statements of transactions too")
{
    rel::statement_counter counter;
    covet::orm::database_options options;
    options.on_statement = counter.hook();
    auto db = covet::orm::database::open("sqlite::memory:", options);
    covet::net::block_on([&]() -> covet::task<void> {
        co_await db.execute(relations_schema);
        counter.reset();
        auto tx = co_await db.begin();
        co_await tx.execute("INSERT INTO users (name) VALUES ($1)", "x");
        co_await tx.commit();
        CHECK(counter.count == 3);
        CHECK(counter.sql.front() == "BEGIN");
        CHECK(counter.sql.back() == "COMMIT");
    }());
}
