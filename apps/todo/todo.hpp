#pragma once
// The todo demo: a REST API for users and their todos on covet::web and
// covet::orm (SQLite by default, PostgreSQL with a postgresql:// URL).
//
//   POST   /users                 {"name","email"}                  201 user
//   GET    /users?limit&offset                                      200 page of users
//   GET    /users/{id}                                              200 user | 404
//   PATCH  /users/{id}            {"name"?,"email"?}                200 user | 404 | 409 (email taken)
//   DELETE /users/{id}            (and the user's todos)            204 | 404
//   POST   /todos                 {"user_id","title","done"?}       201 todo | 409 (no such user)
//   GET    /todos?done&user_id&q&limit&offset                       200 page of todos
//   GET    /todos/{id}                                              200 todo | 404
//   PATCH  /todos/{id}            {"title"?,"done"?}                200 todo | 404
//   DELETE /todos/{id}                                              204 | 404
//
// Bad bodies and parameters are 422 with every problem listed; limit is
// 1..100 (default 20), offset 0..10^9; q is a substring of the title (LIKE
// with its wildcards escaped, so "50%" finds "50%" only). Every value is a
// bound parameter: titles like "'; DROP TABLE todos; --" are stored verbatim.

#include <covet/json/json.hpp>
#include <covet/net/task.hpp>
#include <covet/orm/migrate.hpp>
#include <covet/orm/orm.hpp>
#include <covet/web/app.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace covet::todo {

struct user {
    std::int64_t id = 0;
    std::string name;
    std::string email;
};
COVET_REFLECT(user, id, name, email);
COVET_MODEL(user, "users", id);

struct todo_item {
    std::int64_t id = 0;
    std::int64_t user_id = 0;
    std::string title;
    bool done = false;
};
COVET_REFLECT(todo_item, id, user_id, title, done);
COVET_MODEL(todo_item, "todos", id);

struct new_user {
    std::string name;
    std::string email;
};
COVET_REFLECT(new_user, (name, json::min_length(1), json::max_length(100)),
              (email, json::email, json::max_length(254)));

struct user_patch {
    std::optional<std::string> name;
    std::optional<std::string> email;
};
COVET_REFLECT(user_patch, (name, json::min_length(1), json::max_length(100)),
              (email, json::email, json::max_length(254)));

struct new_todo {
    std::int64_t user_id = 0;
    std::string title;
    bool done = false;
};
COVET_REFLECT(new_todo, (user_id, json::min(1)), (title, json::min_length(1), json::max_length(500)),
              (done, json::defaulted));

struct todo_patch {
    std::optional<std::string> title;
    std::optional<bool> done;
};
COVET_REFLECT(todo_patch, (title, json::min_length(1), json::max_length(500)), done);

/// One page of a list: `items` from `offset` on, at most `limit`, of `total`.
template <class Item>
struct page {
    std::vector<Item> items;
    std::int64_t total = 0;
    std::int64_t limit = 0;
    std::int64_t offset = 0;
};
using user_page = page<user>;
COVET_REFLECT(user_page, items, total, limit, offset);
using todo_page = page<todo_item>;
COVET_REFLECT(todo_page, items, total, limit, offset);

inline constexpr std::int64_t default_limit = 20;
inline constexpr std::int64_t max_limit = 100;
inline constexpr std::int64_t max_offset = 1'000'000'000;

/// The schema as migrations for `dialect` ("sqlite" or "postgresql").
std::vector<orm::migration> migrations(std::string_view dialect);

/// Applies the pending migrations; returns how many ran.
task<int> migrate(orm::database& db);

/// "sqlite://todo.db" (relative: the current directory) for an empty argument, "sqlite::memory:" as given,
/// anything else (sqlite:///path, postgresql://...) unchanged.
std::string database_url(std::string_view db_flag);

/// Opens the database of `url`, applies the migrations (on a private
/// io_context, before serving) and returns it, ready to be provided to an app.
/// Throws orm::error.
std::shared_ptr<orm::database> open_and_migrate(const std::string& url);

/// Registers the routes above, the ORM error mapping (409/404/503) and the
/// database (app.provide) on `app`.
void add_routes(web::app& app, std::shared_ptr<orm::database> db);

}  // namespace covet::todo
