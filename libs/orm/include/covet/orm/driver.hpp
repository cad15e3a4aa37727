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

/// What typed calls learned about a cached statement's result columns, kept
/// with the statement by the driver: whether they are a Row's fields in order.
struct statement_memo {
    const void* row_type = nullptr;  ///< the Row it was learned for
    int recompiled = -1;             ///< the statement's recompilations (schema changes) then
    bool in_order = false;
    bool read_only = false;  ///< the statement writes nothing (sqlite3_stmt_readonly)
};

/// A cached prepared statement that a driver running statements inline
/// (SQLite) lends to one call: parameters are bound straight from C++ values
/// and columns read straight into fields, with no orm::value or orm::row in
/// between. Its read methods match orm::row's, so the same mapping code reads
/// both. Not virtual: the SQLite driver implements it. Errors throw orm::error.
class direct_statement {
public:
    direct_statement(void* statement, std::string_view sql, statement_memo* memo = nullptr) noexcept
        : statement_(statement), sql_(sql), memo_(memo)
    {
    }

    /// A run binds `count` parameters from index 1: more than the statement
    /// has placeholders throws, fewer leave the rest NULL.
    void expect_parameters(std::size_t count);
    void bind(int index, null_t);
    void bind(int index, std::int64_t v);
    void bind(int index, double v);
    void bind(int index, std::string_view v);
    void bind(int index, std::span<const std::byte> v);
    void bind_value(int index, const value& v);
    /// Binds any bindable C++ value, as to_value_view() would convert it.
    template <class T>
    void bind_any(int index, const T& v)
    {
        visit_bindable(v, [&](auto primitive) { bind(index, primitive); });
    }

    /// Steps once: true when a row is ready to read, false at the end.
    bool step();
    bool read_only() const noexcept;

    /// What an earlier run learned for `row_type` (1: columns in order, 0:
    /// not), or -1: nothing, or the schema changed since. Ask after step().
    int learned_in_order(const void* row_type) const noexcept;
    void learn_in_order(const void* row_type, bool in_order) noexcept;

    std::size_t size() const noexcept;
    std::string_view name(std::size_t column) const noexcept;
    bool is_null(std::size_t column) const noexcept;
    std::int64_t get_int(std::size_t column) const;
    double get_double(std::size_t column) const;
    std::string_view get_text(std::size_t column) const;
    blob get_blob(std::size_t column) const;

private:
    [[noreturn]] void fail(int rc);
    void* statement_;
    std::string_view sql_;
    statement_memo* memo_;
};

namespace detail {
/// Binds `params` to parameters 1..N of `st`.
inline void bind_values(direct_statement& st, std::span<const value> params)
{
    st.expect_parameters(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
        st.bind_value(static_cast<int>(i + 1), params[i]);
    }
}
}  // namespace detail

/// What a typed call does with a direct_statement (a reference to a callable,
/// valid for the call). `fixed_text`: the SQL is a string that never changes
/// or moves until the program ends (the ORM's per-model statements), so a
/// statement cache may know it by its address alone.
class direct_body {
public:
    template <class F>
    explicit direct_body(F& f, bool fixed_text = false) noexcept
        : object_(&f), call_(&call<F>), fixed_(fixed_text)
    {
    }
    void operator()(direct_statement& st) const { call_(object_, st); }
    bool fixed_text() const noexcept { return fixed_; }

private:
    // Hot: the bodies of the typed calls go to .text.hot, next to the driver's per-statement code.
    template <class F>
    [[gnu::hot]] static void call(void* object, direct_statement& st)
    {
        (*static_cast<F*>(object))(st);
    }
    void* object_;
    void (*call_)(void*, direct_statement&);
    bool fixed_;
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

    /// Drivers that run inline and lend their statements (SQLite): runs the
    /// single statement `sql` through `body`, which binds and steps it, after
    /// calling `before` (if set) with `sql`. False (nothing run, `before`
    /// not called): use run() instead, e.g. for a multi-statement script.
    virtual bool run_direct(std::string_view sql, const direct_body& body,
                            const std::function<void(std::string_view)>* before, statement_result& out)
    {
        (void)sql;
        (void)body;
        (void)before;
        (void)out;
        return false;
    }

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
