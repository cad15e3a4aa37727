#pragma once
// covet::orm errors as HTTP answers in a covet::web app:
//
//   web::app app;
//   web::map_orm_errors(app);          // once, before serving
//   app.get("/users/{id:int}", [](web::path<std::int64_t> id, web::inject<orm::database> db) -> task<user> {
//       co_return co_await db->get<user>(*id);     // a missing row: 404
//   });
//
// | orm::errc                        | answer                                              |
// |----------------------------------|-----------------------------------------------------|
// | constraint_violation (23xxx)     | 409 problem, "code": unique_violation, foreign_key_violation,
// check_violation, not_null_violation or integrity_constraint_violation | | not_found | 404 problem | |
// connection_lost, timeout, serialization_failure, shutting_down | 503 problem with Retry-After; logged | |
// query_error, invalid_argument    | not mapped: the default logged 500 (a bug, not the client's doing) |
//
// Bodies are application/problem+json with a fixed detail per case: never the
// driver's message, SQL, table or constraint names (those go to the log only).

#include <covet/http/response.hpp>
#include <covet/orm/error.hpp>
#include <covet/web/app.hpp>

#include <chrono>
#include <optional>
#include <string_view>

namespace covet::web {

struct orm_error_options {
    /// The Retry-After of a 503, in seconds.
    std::chrono::seconds retry_after{1};
    /// Log 503s to stderr (request line, kind, SQLSTATE and the driver's message).
    bool log_unavailable = true;
};

/// The "code" member of a 409 for a SQLSTATE of class 23 (PostgreSQL's condition names).
std::string_view constraint_code(std::string_view sql_state) noexcept;

/// The answer for `e`, or nullopt for the kinds left to the default 500.
std::optional<http::response> orm_error_response(const orm::error& e, const orm_error_options& options = {});

/// Registers the mapping with app.map_error<orm::error>() (before the app is frozen).
void map_orm_errors(app& a, orm_error_options options = {});

}  // namespace covet::web
