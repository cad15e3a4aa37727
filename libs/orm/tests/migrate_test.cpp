#include <covet/net/spawn.hpp>
#include <covet/orm/migrate.hpp>
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

using covet::task;
using covet::net::block_on;
namespace orm = covet::orm;

namespace {

struct temp_dir : covet::testing::temp_dir {
    temp_dir() : covet::testing::temp_dir("covet-migrate") {}
};

void write(const std::filesystem::path& p, const std::string& text)
{
    std::ofstream(p) << text;
}

std::filesystem::path down_of(std::filesystem::path up)
{
    std::string s = up.string();
    return s.replace(s.size() - 7, 7, ".down.sql");
}

}  // namespace

TEST_CASE("migrations: create, up, status, down, checksums")
{
    temp_dir dir;
    const auto mdir = dir.path / "migrations";
    const auto first = orm::create_migration(mdir, "create_users");
    const auto second = orm::create_migration(mdir, "add_posts");
    CHECK(first.filename() == "0001_create_users.up.sql");
    CHECK(second.filename() == "0002_add_posts.up.sql");
    write(first,
          "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
          "INSERT INTO users (name) VALUES ('O''Brien; --');\n");
    write(down_of(first), "DROP TABLE users;");
    write(second, "CREATE TABLE posts (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id));");
    write(down_of(second), "DROP TABLE posts;");
    CHECK_THROWS_AS(orm::create_migration(mdir, "bad name; DROP"), orm::error);

    const std::string url = "sqlite://" + (dir.path / "app.db").string();
    block_on([&]() -> task<void> {
        auto db = orm::database::open(url);
        orm::migrator m(db, orm::load_migrations(mdir));
        auto before = co_await m.status();
        REQUIRE(before.size() == 2);
        CHECK(!before[0].applied);

        CHECK(co_await m.up(1) == 1);  // up to version 1 only
        CHECK(co_await m.up() == 1);
        CHECK(co_await m.up() == 0);  // nothing left
        auto name = co_await db.query_one<std::string>("SELECT name FROM users");
        CHECK(name == "O'Brien; --");
        auto after = co_await m.status();
        CHECK(after[0].applied);
        CHECK(after[1].applied);
        CHECK(after[1].applied_at.has_value());
        CHECK(!after[0].changed);
        auto sums = co_await db.query<std::string>("SELECT checksum FROM schema_migrations ORDER BY version");
        CHECK(sums[0] == orm::migration_checksum(orm::load_migrations(mdir)[0].up));

        CHECK(co_await m.down() == 1);
        CHECK(co_await db.query_one<std::int64_t>(
                  "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'posts'") == 0);
        CHECK(co_await m.down(5) == 1);
        CHECK(co_await m.down() == 0);
        CHECK(co_await m.up() == 2);

        // An applied migration edited afterwards is reported and refused.
        write(first, "CREATE TABLE users (id INTEGER PRIMARY KEY);");
        orm::migrator edited(db, orm::load_migrations(mdir));
        auto st = co_await edited.status();
        CHECK(st[0].changed);
        bool refused = false;
        try {
            co_await edited.up();
        } catch (const orm::error& e) {
            refused = std::string(e.what()).find("changed since it was applied") != std::string::npos;
        }
        CHECK(refused);
        db.close();
    }());
}

TEST_CASE("migrations: a failing up script leaves nothing behind")
{
    temp_dir dir;
    const auto mdir = dir.path / "m";
    write(orm::create_migration(mdir, "ok"), "CREATE TABLE a (id INTEGER PRIMARY KEY);");
    write(orm::create_migration(mdir, "broken"),
          "CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO nope VALUES (1);");
    const std::string url = "sqlite://" + (dir.path / "app.db").string();
    block_on([&]() -> task<void> {
        auto db = orm::database::open(url);
        orm::migrator m(db, orm::load_migrations(mdir));
        bool failed = false;
        try {
            co_await m.up();
        } catch (const orm::error&) {
            failed = true;
        }
        CHECK(failed);
        auto st = co_await m.status();
        CHECK(st[0].applied);
        CHECK(!st[1].applied);
        CHECK(co_await db.query_one<std::int64_t>(
                  "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'b'") == 0);
        db.close();
    }());
}
