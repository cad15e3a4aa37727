#pragma once
// Typed database errors. Every failure of covet::orm is a covet::orm::error
// (an exception: ORM calls run in handler code, and the web layer maps the
// kind to a status: constraint_violation 409, not_found 404, connection_lost
// and timeout 503). kind() says what happened, sql_state() carries the
// five-character SQLSTATE (PostgreSQL's own; SQLite's result codes mapped to
// the matching SQLSTATE), what() the driver's message.

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace covet::orm {

enum class errc {
    /// UNIQUE, NOT NULL, FOREIGN KEY, CHECK (SQLSTATE class 23).
    constraint_violation = 1,
    /// A row that had to exist does not (get(), update() of a missing key).
    not_found,
    /// The connection broke (server gone, restarted, socket closed); retrying
    /// on a new connection may succeed.
    connection_lost,
    /// No connection within the acquire timeout, a lock wait (SQLite busy)
    /// or a statement timeout.
    timeout,
    /// PostgreSQL 40001/40P01: retry the transaction.
    serialization_failure,
    /// Bad SQL, missing table, wrong types (the caller's mistake).
    query_error,
    /// A bad connection URL, unknown driver or invalid option.
    invalid_argument,
    /// The database (its pool) is closed.
    shutting_down,
};

/// The category of covet::orm::errc; its name() is "covet.orm".
const std::error_category& orm_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), orm_category()};
}

class error : public std::runtime_error {
public:
    error(errc kind, std::string sql_state, const std::string& message)
        : std::runtime_error(message), kind_(kind), sql_state_(std::move(sql_state))
    {
    }
    errc kind() const noexcept { return kind_; }
    std::error_code code() const noexcept { return make_error_code(kind_); }
    /// The SQLSTATE ("23505", "40001", ...), or "" when unknown.
    const std::string& sql_state() const noexcept { return sql_state_; }

private:
    errc kind_;
    std::string sql_state_;
};

/// The kind for a SQLSTATE (class 23 constraint, 40001/40P01 serialization,
/// 08/57P01-03 connection, 57014/55P03 timeout, 02000 not found, else query_error).
errc kind_of_sql_state(std::string_view state) noexcept;

}  // namespace covet::orm

template <>
struct std::is_error_code_enum<covet::orm::errc> : std::true_type {
};
