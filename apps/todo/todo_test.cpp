// covet_todo end to end: the app served on 127.0.0.1 by its own runtime,
// requests over real sockets with covet::http::client; every endpoint, the
// 404/409/422 answers, pagination bounds, filters, LIKE wildcards taken
// literally, injection strings stored verbatim. On SQLite (a file and
// :memory:) and on a throwaway PostgreSQL 15 (CI=true: a missing server fails).
#include "todo.hpp"

#include <covet/http/client.hpp>
#include <covet/json/json.hpp>
#include <covet/net/spawn.hpp>

#include <doctest/doctest.h>
#include "temp_dir.hpp"

#if COVET_TODO_POSTGRES
#include <covet/postgres/postgres.hpp>

#include "pg_server.hpp"
#endif

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace http = covet::http;
namespace todo = covet::todo;
using covet::task;

namespace {

using namespace std::chrono_literals;

struct reply {
    int status = 0;
    std::string content_type;
    std::string body;

    template <class T>
    T as() const
    {
        auto parsed = covet::json::parse<T>(body);
        if (!parsed) {
            throw std::runtime_error("unexpected body: " + body);
        }
        return std::move(*parsed);
    }
    bool has(std::string_view text) const { return body.find(text) != std::string::npos; }
};

task<reply> send(std::uint16_t port, http::method method, std::string target, std::string body)
{
    http::client client;
    http::client_request request;
    request.method = method;
    request.url = "http://127.0.0.1:" + std::to_string(port) + target;
    request.body = std::move(body);
    if (!request.body.empty()) {
        request.headers.emplace_back("Content-Type", "application/json");
    }
    auto response = co_await client.send(std::move(request));
    reply out;
    if (response) {
        out.status = response->status_code;
        out.content_type = std::string(response->header("Content-Type"));
        out.body = std::move(response->body);
    }
    co_return out;
}

/// The app on its own runtime (two workers), over `url`.
class running_todo {
public:
    explicit running_todo(const std::string& url) : db_(todo::open_and_migrate(url))
    {
        app_.config().address = "127.0.0.1";
        app_.config().threads = 2;
        app_.config().handle_signals = false;
        app_.config().stop_timeout = 2s;
        todo::add_routes(app_, db_);
        port_ = app_.listen(0);
        app_.start();
    }
    ~running_todo()
    {
        app_.stop();
        db_->close();  // before the workers' io_contexts go (PostgreSQL sockets)
    }
    running_todo(const running_todo&) = delete;
    running_todo& operator=(const running_todo&) = delete;

    reply call(http::method method, std::string target, std::string body = {}) const
    {
        return covet::net::block_on(send(port_, method, std::move(target), std::move(body)));
    }
    reply get(std::string target) const { return call(http::method::get, std::move(target)); }
    reply post(std::string target, std::string body) const
    {
        return call(http::method::post, std::move(target), std::move(body));
    }
    reply patch(std::string target, std::string body) const
    {
        return call(http::method::patch, std::move(target), std::move(body));
    }
    reply del(std::string target) const { return call(http::method::delete_, std::move(target)); }

private:
    std::shared_ptr<covet::orm::database> db_;
    covet::web::app app_;
    std::uint16_t port_ = 0;
};

std::string json_string(std::string_view s)
{
    covet::json::writer w;
    w.string(s);
    return w.str();
}

void exercise_users(const running_todo& t)
{
    auto ann = t.post("/users", R"({"name":"Ann","email":"ann@example.com"})");
    REQUIRE(ann.status == 201);
    CHECK(ann.content_type == "application/json");
    const auto ann_user = ann.as<todo::user>();
    CHECK(ann_user.id > 0);
    CHECK(ann_user.name == "Ann");

    auto again = t.get("/users/" + std::to_string(ann_user.id));
    CHECK(again.status == 200);
    CHECK(again.as<todo::user>().email == "ann@example.com");

    // The same e-mail again: the unique constraint, answered 409 without SQL.
    auto dup = t.post("/users", R"({"name":"Other","email":"ann@example.com"})");
    CHECK(dup.status == 409);
    CHECK(dup.content_type == "application/problem+json");
    CHECK(dup.has(R"("code":"unique_violation")"));
    CHECK_FALSE(dup.has("users"));
    CHECK_FALSE(dup.has("UNIQUE"));

    // Validation: every problem listed.
    auto bad = t.post("/users", R"({"name":"","email":"not-an-email"})");
    CHECK(bad.status == 422);
    CHECK(bad.has(R"("loc":["body","name"])"));
    CHECK(bad.has(R"("loc":["body","email"])"));
    CHECK(t.post("/users", R"({"name":"x"})").status == 422);
    CHECK(t.post("/users", "{not json").status == 422);

    auto bob = t.post("/users", R"({"name":"Bob","email":"bob@example.com"})").as<todo::user>();
    auto renamed = t.patch("/users/" + std::to_string(bob.id), R"({"name":"Robert"})");
    CHECK(renamed.status == 200);
    CHECK(renamed.as<todo::user>().name == "Robert");
    CHECK(renamed.as<todo::user>().email == "bob@example.com");
    auto taken = t.patch("/users/" + std::to_string(bob.id), R"({"email":"ann@example.com"})");
    CHECK(taken.status == 409);
    CHECK(t.patch("/users/999999", R"({"name":"Nobody"})").status == 404);
    CHECK(t.patch("/users/" + std::to_string(bob.id), R"({"name":""})").status == 422);

    auto list = t.get("/users?limit=1&offset=1");
    REQUIRE(list.status == 200);
    const auto page = list.as<todo::user_page>();
    CHECK(page.total == 2);
    CHECK(page.limit == 1);
    CHECK(page.offset == 1);
    REQUIRE(page.items.size() == 1);
    CHECK(page.items[0].name == "Robert");

    CHECK(t.get("/users/999999").status == 404);
    CHECK(t.get("/users/abc").status == 404);  // {id:int} does not match
    CHECK(t.del("/users/" + std::to_string(bob.id)).status == 204);
    CHECK(t.del("/users/" + std::to_string(bob.id)).status == 404);
    CHECK(t.get("/users/" + std::to_string(bob.id)).status == 404);
}

void exercise_todos(const running_todo& t)
{
    const auto owner = t.post("/users", R"({"name":"Cy","email":"cy@example.com"})").as<todo::user>();
    const auto other = t.post("/users", R"({"name":"Di","email":"di@example.com"})").as<todo::user>();
    const std::string owner_id = std::to_string(owner.id);

    // Injection attempts and LIKE wildcards go in as values and come back verbatim.
    const std::vector<std::string> titles = {"'; DROP TABLE todos; --",
                                             "Robert'); DELETE FROM users; --",
                                             "50% off",
                                             "snake_case_name",
                                             "back\\slash",
                                             "/* comment */ $1 ?",
                                             "plain milk",
                                             "Ünïcødé ✓"};
    std::vector<std::int64_t> ids;
    for (const auto& title : titles) {
        auto r = t.post("/todos", R"({"user_id":)" + owner_id + R"(,"title":)" + json_string(title) + "}");
        REQUIRE(r.status == 201);
        const auto item = r.as<todo::todo_item>();
        CHECK(item.title == title);
        CHECK_FALSE(item.done);
        ids.push_back(item.id);
    }
    for (std::size_t i = 0; i < titles.size(); ++i) {
        auto r = t.get("/todos/" + std::to_string(ids[i]));
        REQUIRE(r.status == 200);
        CHECK(r.as<todo::todo_item>().title == titles[i]);
    }
    auto others =
        t.post("/todos", R"({"user_id":)" + std::to_string(other.id) + R"(,"title":"milk","done":true})");
    REQUIRE(others.status == 201);
    CHECK(others.as<todo::todo_item>().done);

    // A todo for a user that does not exist: the foreign key, 409.
    auto orphan = t.post("/todos", R"({"user_id":999999,"title":"x"})");
    CHECK(orphan.status == 409);
    CHECK(orphan.has(R"("code":"foreign_key_violation")"));
    auto invalid = t.post("/todos", R"({"user_id":0,"title":"","done":"yes"})");
    CHECK(invalid.status == 422);
    CHECK(invalid.has(R"("loc":["body","user_id"])"));
    CHECK(invalid.has(R"("loc":["body","title"])"));
    CHECK(invalid.has(R"("loc":["body","done"])"));

    // Filters.
    auto all = t.get("/todos?limit=100").as<todo::todo_page>();
    CHECK(all.total == static_cast<std::int64_t>(titles.size() + 1));
    CHECK(t.get("/todos?user_id=" + owner_id).as<todo::todo_page>().total ==
          static_cast<std::int64_t>(titles.size()));
    auto done = t.get("/todos?done=true").as<todo::todo_page>();
    REQUIRE(done.items.size() == 1);
    CHECK(done.items[0].title == "milk");
    CHECK(t.get("/todos?done=false&user_id=" + owner_id).as<todo::todo_page>().total ==
          static_cast<std::int64_t>(titles.size()));
    auto percent = t.get("/todos?q=%25").as<todo::todo_page>();  // q=% finds only the literal %
    REQUIRE(percent.items.size() == 1);
    CHECK(percent.items[0].title == "50% off");
    auto underscore = t.get("/todos?q=_").as<todo::todo_page>();
    REQUIRE(underscore.items.size() == 1);
    CHECK(underscore.items[0].title == "snake_case_name");
    auto backslash = t.get("/todos?q=%5C").as<todo::todo_page>();
    REQUIRE(backslash.items.size() == 1);
    CHECK(backslash.items[0].title == "back\\slash");
    auto quote = t.get("/todos?q=%27%3B").as<todo::todo_page>();  // ';
    REQUIRE(quote.items.size() == 1);
    CHECK(quote.items[0].title == titles[0]);
    auto milk = t.get("/todos?q=milk&user_id=" + owner_id).as<todo::todo_page>();
    REQUIRE(milk.items.size() == 1);
    CHECK(milk.items[0].title == "plain milk");
    CHECK(t.get("/todos?done=maybe").status == 422);
    CHECK(t.get("/todos?user_id=x").status == 422);

    // Pagination and its bounds.
    auto first = t.get("/todos?limit=3").as<todo::todo_page>();
    CHECK(first.limit == 3);
    REQUIRE(first.items.size() == 3);
    CHECK(first.items[0].id == ids[0]);
    auto second = t.get("/todos?limit=3&offset=3").as<todo::todo_page>();
    REQUIRE(second.items.size() == 3);
    CHECK(second.items[0].id == ids[3]);
    CHECK(t.get("/todos?offset=1000").as<todo::todo_page>().items.empty());
    CHECK(t.get("/todos").as<todo::todo_page>().limit == todo::default_limit);
    for (const char* bad :
         {"limit=0", "limit=101", "limit=-5", "offset=-1", "offset=1000000001", "limit=abc"}) {
        CAPTURE(bad);
        auto r = t.get(std::string("/todos?") + bad);
        CHECK(r.status == 422);
        CHECK(r.has(R"("loc":["query",)"));
    }
    CHECK(t.get("/users?limit=101").status == 422);
    CHECK(t.get("/todos?q=" + std::string(501, 'a')).status == 422);

    // Update and delete.
    const std::string first_id = std::to_string(ids[0]);
    auto checked = t.patch("/todos/" + first_id, R"({"done":true})");
    REQUIRE(checked.status == 200);
    CHECK(checked.as<todo::todo_item>().done);
    CHECK(checked.as<todo::todo_item>().title == titles[0]);
    auto retitled = t.patch("/todos/" + first_id, R"({"title":"it's \"quoted\""})").as<todo::todo_item>();
    CHECK(retitled.title == "it's \"quoted\"");
    CHECK(retitled.done);
    CHECK(t.patch("/todos/" + first_id, R"({"title":""})").status == 422);
    CHECK(t.patch("/todos/999999", R"({"done":true})").status == 404);
    CHECK(t.get("/todos/999999").status == 404);
    CHECK(t.del("/todos/" + first_id).status == 204);
    CHECK(t.del("/todos/" + first_id).status == 404);

    // Deleting a user deletes its todos.
    CHECK(t.del("/users/" + owner_id).status == 204);
    CHECK(t.get("/todos?user_id=" + owner_id).as<todo::todo_page>().total == 0);
    CHECK(t.get("/todos/" + std::to_string(ids[1])).status == 404);
    CHECK(t.get("/todos").as<todo::todo_page>().total == 1);
}

}  // namespace

TEST_CASE("users and todos over sockets on a SQLite file; migrations are idempotent")
{
    covet::testing::temp_dir dir("covet-todo");
    const std::string url = "sqlite://" + (dir.path / "todo.db").string();
    {
        running_todo t(url);
        exercise_users(t);
        exercise_todos(t);
    }
    // A restart applies no migration twice and keeps the data.
    running_todo again(url);
    CHECK(again.get("/users").as<todo::user_page>().total == 2);  // Ann and Di
    auto db = covet::orm::database::open(url);
    const int applied = covet::net::block_on(todo::migrate(db));
    CHECK(applied == 0);
}

TEST_CASE("users and todos over sockets on sqlite::memory:")
{
    running_todo t("sqlite::memory:");
    exercise_users(t);
    exercise_todos(t);
}

TEST_CASE("database_url: a todo.db file by default, other URLs as given")
{
    CHECK(todo::database_url("") == "sqlite://todo.db");
    CHECK(todo::database_url("sqlite::memory:") == "sqlite::memory:");
    CHECK(todo::database_url("postgresql://u@h/db") == "postgresql://u@h/db");
}

#if COVET_TODO_POSTGRES
TEST_CASE("users and todos over sockets on PostgreSQL 15")
{
    PG_SERVER_OR_SKIP(server);
    running_todo t(server->url());
    exercise_users(t);
    exercise_todos(t);
}
#endif
