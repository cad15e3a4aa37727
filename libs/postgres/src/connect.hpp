#pragma once
// Connection setup shared by the ORM driver and the LISTEN/NOTIFY listener.
#include <covet/net/task.hpp>
#include <covet/orm/driver.hpp>
#include <covet/orm/error.hpp>

#include <libpq-fe.h>

#include <memory>
#include <string>

namespace covet::postgres::detail {

struct pgconn_deleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using pgconn_ptr = std::unique_ptr<PGconn, pgconn_deleter>;

/// The typed error of a failed result (SQLSTATE mapped to an orm::errc).
orm::error error_from(const PGresult* res);

/// libpq's message without its trailing newline.
std::string trimmed(const char* message);

/// Connects without blocking the thread (PQconnectPoll on the socket), within
/// options.connect_timeout; the connection is left in non-blocking mode with
/// notices silenced. Throws orm::error (connection_lost or timeout, "08001").
task<pgconn_ptr> open_connection(const orm::url& u, const orm::connect_options& options);

}  // namespace covet::postgres::detail
