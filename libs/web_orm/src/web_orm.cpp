#include <covet/http/request.hpp>
#include <covet/web/errors.hpp>
#include <covet/web_orm/web_orm.hpp>

#include <cstdio>
#include <iterator>
#include <string>

namespace covet::web {

namespace {

struct constraint_answer {
    std::string_view sql_state;
    std::string_view code;
    std::string_view detail;
};

// Class 23 SQLSTATEs with PostgreSQL's condition names; the last entry is the fallback.
constexpr constraint_answer constraint_answers[] = {
    {"23505", "unique_violation", "a record with the same unique value already exists"},
    {"23503", "foreign_key_violation",
     "the change refers to a record that does not exist, or removes one that is still referred to"},
    {"23514", "check_violation", "a value is not allowed by a database constraint"},
    {"23502", "not_null_violation", "a required value is missing"},
    {"", "integrity_constraint_violation", "the change conflicts with a database constraint"},
};

const constraint_answer& answer_for(std::string_view sql_state) noexcept
{
    for (const auto& a : constraint_answers) {
        if (a.sql_state == sql_state) {
            return a;
        }
    }
    return constraint_answers[std::size(constraint_answers) - 1];
}

http::response unavailable(std::string_view detail, const orm_error_options& options)
{
    http::response r = problem(http::status::service_unavailable, detail);
    r.set_header("Retry-After", std::to_string(options.retry_after.count()));
    return r;
}

}  // namespace

std::string_view constraint_code(std::string_view sql_state) noexcept
{
    return answer_for(sql_state).code;
}

std::optional<http::response> orm_error_response(const orm::error& e, const orm_error_options& options)
{
    switch (e.kind()) {
    case orm::errc::constraint_violation: {
        const constraint_answer& a = answer_for(e.sql_state());
        const problem_member member{"code", a.code};
        return problem(http::status::conflict, a.detail, {&member, 1});
    }
    case orm::errc::not_found: return problem(http::status::not_found, "the record does not exist");
    case orm::errc::connection_lost:
    case orm::errc::shutting_down: return unavailable("the database is unavailable; retry later", options);
    case orm::errc::timeout: return unavailable("the database did not answer in time; retry later", options);
    case orm::errc::serialization_failure:
        return unavailable("the request conflicted with a concurrent one; retry", options);
    case orm::errc::query_error:
    case orm::errc::invalid_argument: break;
    }
    return std::nullopt;
}

void map_orm_errors(app& a, orm_error_options options)
{
    a.map_error<orm::error>([options](const orm::error& e,
                                      const http::request& req) -> std::optional<http::response> {
        auto r = orm_error_response(e, options);
        if (r && options.log_unavailable && r->status() == http::status::service_unavailable) {
            std::fprintf(stderr, "covet.web: %.*s %.*s: database %s (SQLSTATE %s): %s\n",
                         static_cast<int>(req.method_name().size()), req.method_name().data(),
                         static_cast<int>(req.path().size()), req.path().data(), e.code().message().c_str(),
                         e.sql_state().empty() ? "-" : e.sql_state().c_str(), e.what());
        }
        return r;
    });
}

}  // namespace covet::web
