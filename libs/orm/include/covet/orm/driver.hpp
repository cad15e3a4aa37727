#pragma once
// The driver interface: a connection runs one statement at a time from the
// ORM's point of view (a driver may pipeline several awaiting callers on one
// connection), reports rows to a sink and throws covet::orm::error.
//
// SQL that reaches a driver uses PostgreSQL-style placeholders $1..$N (the
// SQLite driver rewrites them to ?N once per prepared statement) and
// double-quoted identifiers.

#include <covet/net/task.hpp>
#include <covet/orm/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace covet::orm {

/// A parsed connection URL: scheme://user:password@host:port/database?k=v&...
/// (sqlite::memory: and sqlite:///path are special-cased).
struct url {
    std::string scheme;  ///< "sqlite", "postgresql"
    std::string user;
    std::string password;
    std::string host;  ///< may be a socket directory (host=/path in the query)
    std::string port;
    std::string database;  ///< database name, or the SQLite file path ("" = in memory)
    std::map<std::string, std::string, std::less<>> query;
    bool memory = false;  ///< sqlite::memory:

    /// Throws orm::error(invalid_argument) for a malformed URL.
    static url parse(std::string_view text);
};

struct statement_result {
    std::uint64_t rows_affected = 0;
    /// SQLite: the rowid of the last INSERT on the connection (inserts there
    /// skip RETURNING, which costs SQLite a temporary table). 0 elsewhere.
    std::int64_t last_insert_id = 0;
};

/// The rows of one statement, read a batch at a time (orm::row_stream).
/// Dropping it before the end abandons the statement; the connection stays usable.
class cursor {
public:
    virtual ~cursor() = default;
    /// Sends up to `max_rows` more rows to `sink`. False once the statement
    /// has no rows left (then fewer than `max_rows`, maybe none, were sent).
    virtual task<bool> fetch(row_sink& sink, std::size_t max_rows) = 0;
};

class connection {
public:
    virtual ~connection() = default;

    /// Runs `sql` with `params` bound; each result row goes to `sink` (may be
    /// null). `sql` and `params` must stay valid until the task completes.
    virtual task<statement_result> run(std::string_view sql, std::span<const value> params,
                                       row_sink* sink) = 0;

    /// Drivers that never block (SQLite in memory) run statements directly,
    /// saving a coroutine frame per call; run() is then its thin wrapper.
    virtual bool runs_inline() const noexcept { return false; }
    virtual statement_result run_inline(std::string_view sql, std::span<const value> params, row_sink* sink);

    /// Drivers that pipeline (PostgreSQL) accept run() calls from several
    /// coroutines of one thread at once and batch them on the wire; a
    /// per-thread database then shares one connection between its callers.
    virtual bool pipelined() const noexcept { return false; }

    /// A cursor over the rows of `sql` (`params` must outlive it), or null when
    /// the driver has none of its own: the ORM then declares a server-side
    /// cursor in a transaction (DECLARE ... CURSOR; FETCH n) through run().
    virtual std::unique_ptr<cursor> open_cursor(std::string_view sql, std::span<const value> params)
    {
        (void)sql;
        (void)params;
        return nullptr;
    }

    /// A transaction on this connection was dropped without commit or
    /// rollback: roll it back now or before the next statement.
    virtual void abandon_transaction() noexcept = 0;

    /// False once the connection is known to be broken (it is then discarded).
    virtual bool healthy() const noexcept = 0;

    /// "sqlite" or "postgresql": SQL that differs between dialects asks here.
    virtual std::string_view dialect() const noexcept = 0;
};

struct connect_options {
    std::chrono::milliseconds busy_timeout{5'000};
    std::chrono::milliseconds connect_timeout{5'000};
    /// SQLite on a file: run statements through covet::net::offload.
    bool offload_blocking = true;
};

/// A driver makes connections for one URL scheme.
using driver_factory = std::function<task<std::unique_ptr<connection>>(const url&, const connect_options&)>;

/// Registers the driver for `scheme` (the SQLite driver is built in;
/// including covet/orm/postgres.hpp registers "postgresql" and "postgres").
void register_driver(std::string scheme, driver_factory factory);
/// The driver for `scheme`, or nullptr.
const driver_factory* find_driver(std::string_view scheme);

}  // namespace covet::orm
