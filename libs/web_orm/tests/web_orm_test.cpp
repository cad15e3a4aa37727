// covet::orm errors through a covet::web app on real SQLite databases: the
// statuses, the problem bodies (nothing of the schema leaks), Retry-After.
#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>
#include <covet/web/web.hpp>
#include <covet/web_orm/web_orm.hpp>

#include <doctest/doctest.h>
#include "temp_dir.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace http = covet::http;
namespace orm = covet::orm;
namespace web = covet::web;
using covet::task;

namespace {

struct account {
    std::int64_t id = 0;
    std::string secret_login;
    std::int64_t balance = 0;
};
COVET_REFLECT(account, id, secret_login, balance);
COVET_MODEL(account, "hidden_accounts", id);

struct transfer {
    std::int64_t id = 0;
    std::int64_t account_id = 0;
};
COVET_REFLECT(transfer, id, account_id);
COVET_MODEL(transfer, "hidden_transfers", id);

std::shared_ptr<orm::database> open_schema(const std::string& url, orm::database_options options = {})
{
    auto db = std::make_shared<orm::database>(orm::database::open(url, options));
    covet::net::block_on([](orm::database* d) -> task<void> {
        co_await d->execute(
            "CREATE TABLE hidden_accounts (id INTEGER PRIMARY KEY, secret_login TEXT NOT NULL UNIQUE, "
            "balance INTEGER NOT NULL CHECK (balance >= 0))");
        co_await d->execute(
            "CREATE TABLE hidden_transfers (id INTEGER PRIMARY KEY, "
            "account_id INTEGER NOT NULL REFERENCES hidden_accounts(id))");
        const auto first = account{.secret_login = "ann"};
        co_await d->insert(first);
    }(db.get()));
    return db;
}

void add_routes(web::app& app)
{
    app.post("/accounts", [](web::body<account> a, web::inject<orm::database> db) -> task<http::response> {
        const auto id = co_await db->insert(*a);
        co_return web::json(id, http::status::created);
    });
    app.post("/transfers", [](web::body<transfer> t, web::inject<orm::database> db) -> task<std::string> {
        const auto id = co_await db->insert(*t);
        co_return std::to_string(id);
    });
    app.post("/nulls", [](web::inject<orm::database> db) -> task<void> {
        co_await db->execute("INSERT INTO hidden_accounts (secret_login, balance) VALUES (NULL, 0)");
    });
    app.get("/accounts/{id:int}",
            [](web::path<std::int64_t> id, web::inject<orm::database> db) -> task<account> {
                auto a = co_await db->get<account>(*id);
                co_return a;
            });
    app.get("/broken-sql", [](web::inject<orm::database> db) -> task<void> {
        co_await db->execute("SELECT secret_login FROM no_such_hidden_table");
    });
}

bool leaks_schema(const std::string& body)
{
    return body.find("hidden") != std::string::npos || body.find("secret_login") != std::string::npos ||
           body.find("balance") != std::string::npos || body.find("SELECT") != std::string::npos;
}

}  // namespace

TEST_CASE("constraint violations are 409 problems with a code and nothing of the schema")
{
    covet::testing::temp_dir dir("covet-web-orm");
    auto db = open_schema("sqlite://" + (dir.path / "app.db").string());
    web::app app;
    web::map_orm_errors(app);
    app.provide(db);
    add_routes(app);
    web::test_client client(app);

    auto created = client.post("/accounts", R"({"id":0,"secret_login":"bob","balance":5})");
    CHECK(created.status == 201);

    struct expectation {
        const char* target;
        const char* body;
        const char* code;
    };
    const expectation cases[] = {
        {"/accounts", R"({"id":0,"secret_login":"ann","balance":1})", "unique_violation"},
        {"/accounts", R"({"id":0,"secret_login":"cy","balance":-1})", "check_violation"},
        {"/transfers", R"({"id":0,"account_id":999})", "foreign_key_violation"},
        {"/nulls", "{}", "not_null_violation"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.code);
        auto r = client.post(c.target, c.body);
        CHECK(r.status == 409);
        CHECK(r.header("Content-Type") == "application/problem+json");
        CHECK(r.body.find(std::string(R"("code":")") + c.code + "\"") != std::string::npos);
        CHECK(r.body.find(R"("status":409)") != std::string::npos);
        CHECK_FALSE(leaks_schema(r.body));
    }
    CHECK(client.post("/transfers", R"({"id":0,"account_id":1})").status == 200);
}

TEST_CASE("a missing row is a 404; a bad query stays a 500 that leaks nothing")
{
    auto db = open_schema("sqlite::memory:");
    web::app app;
    web::map_orm_errors(app);
    app.provide(db);
    add_routes(app);
    web::test_client client(app);

    auto found = client.get("/accounts/1");
    CHECK(found.status == 200);
    CHECK(found.json<account>().secret_login == "ann");
    auto missing = client.get("/accounts/42");
    CHECK(missing.status == 404);
    CHECK(missing.header("Content-Type") == "application/problem+json");
    auto broken = client.get("/broken-sql");
    CHECK(broken.status == 500);
    CHECK_FALSE(leaks_schema(broken.body));
}

TEST_CASE("pool timeouts, a closed database and lost connections are 503 with Retry-After")
{
    orm::database_options options;
    options.acquire_timeout = std::chrono::milliseconds(50);
    auto db = open_schema("sqlite::memory:", options);  // in memory: one connection
    web::app app;
    web::map_orm_errors(app, {.retry_after = std::chrono::seconds(7), .log_unavailable = false});
    app.provide(db);
    add_routes(app);
    // The transaction holds the only connection: the statement beside it waits
    // for the pool and times out.
    app.get("/starved", [](web::inject<orm::database> d) -> task<void> {
        auto tx = co_await d->begin();
        co_await d->execute("UPDATE hidden_accounts SET balance = balance + 1");
    });
    app.get("/lost", []() -> std::string {
        throw orm::error(orm::errc::connection_lost, "08006", "server closed the connection: host db-7");
    });
    app.get("/serialization", []() -> std::string {
        throw orm::error(orm::errc::serialization_failure, "40001", "could not serialize access");
    });
    web::test_client client(app);

    for (const char* target : {"/starved", "/lost", "/serialization"}) {
        CAPTURE(target);
        auto r = client.get(target);
        CHECK(r.status == 503);
        CHECK(r.header("Retry-After") == "7");
        CHECK(r.body.find("db-7") == std::string::npos);
        CHECK(r.body.find("serialize") == std::string::npos);
    }
    CHECK(client.get("/accounts/1").status == 200);  // the timeout left the pool usable
    db->close();
    auto closed = client.get("/accounts/1");
    CHECK(closed.status == 503);
    CHECK(closed.header("Retry-After") == "7");
}

TEST_CASE("constraint_code names the SQLSTATEs of class 23")
{
    CHECK(web::constraint_code("23505") == "unique_violation");
    CHECK(web::constraint_code("23503") == "foreign_key_violation");
    CHECK(web::constraint_code("23514") == "check_violation");
    CHECK(web::constraint_code("23502") == "not_null_violation");
    CHECK(web::constraint_code("23000") == "integrity_constraint_violation");
    CHECK_FALSE(web::orm_error_response(orm::error(orm::errc::query_error, "42P01", "x")).has_value());
}
