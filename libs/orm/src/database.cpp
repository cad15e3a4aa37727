// database and transaction: the pool of connections and the statement path.
#include "sqlite_driver.hpp"

#include <covet/orm/database.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>

namespace covet::orm {

struct database::state {
    state(url parsed, const driver_factory* drv, database_options opts, std::string dialect_name)
        : u(std::move(parsed)),
          driver(drv),
          options(opts),
          dialect(std::move(dialect_name)),
          never_blocks(u.scheme == "sqlite" && (u.memory || !opts.connect.offload_blocking)),
          keeps_connection(u.scheme == "sqlite" && u.memory),
          pool([this] { return connect_one(this); }, pool_options(opts, u))
    {
        // An idle network connection may have died (server restart): check
        // before handing it out. (SQLite connections cannot die idle.)
        if (u.scheme != "sqlite") {
            pool.validate_on_acquire([](std::unique_ptr<connection>& c) { return c->healthy(); });
        }
    }

    static pool::options pool_options(const database_options& o, const url& u)
    {
        pool::options p;
        p.max_size = u.memory ? 1 : std::max<std::size_t>(1, o.max_connections);
        p.min_size = std::min(o.min_connections, p.max_size);
        p.acquire_timeout = o.acquire_timeout;
        p.idle_timeout = u.memory ? std::chrono::milliseconds(0) : o.idle_timeout;
        p.max_lifetime = u.memory ? std::chrono::milliseconds(0) : o.max_lifetime;
        p.mode = o.pool_mode;
        return p;
    }

    static task<result<std::unique_ptr<connection>>> connect_one(state* self)
    {
        std::string message;
        errc kind = errc::connection_lost;
        std::string sql_state = "08001";
        try {
            auto made = co_await (*self->driver)(self->u, self->options.connect);
            co_return made;
        } catch (const error& e) {
            message = e.what();
            kind = e.kind();
            sql_state = e.sql_state();
        } catch (const std::exception& e) {
            message = e.what();
        }
        {
            std::lock_guard lock(self->error_mutex);
            self->last_error = message;
            self->last_state = sql_state;
        }
        co_return make_error_code(kind);
    }

    // Turns a failed acquire into the matching orm::error.
    [[noreturn]] void throw_acquire_error(std::error_code ec)
    {
        if (ec == covet::errc::timed_out) {
            throw error(errc::timeout, "08001", "no database connection within the acquire timeout");
        }
        if (ec == covet::errc::shutting_down) {
            throw error(errc::shutting_down, "57P01", "the database is closed");
        }
        if (ec == covet::errc::cancelled) {
            throw error(errc::timeout, "57014", "waiting for a database connection was cancelled");
        }
        std::string message;
        std::string sql_state;
        {
            std::lock_guard lock(error_mutex);
            message = last_error;
            sql_state = last_state;
        }
        if (ec.category() == orm_category()) {
            throw error(static_cast<errc>(ec.value()), sql_state, "cannot connect: " + message);
        }
        throw error(errc::connection_lost, "08001", "cannot connect: " + ec.message());
    }

    task<connection_pool::handle> acquire()
    {
        // Counted as waiting before looking: an inline statement that takes the
        // connection from the pool after this either sees the count (and hands
        // the connection back after its statement) or left it in `kept` for
        // take_kept() below. Counting only before the wait let a connection be
        // kept, unused, while this caller waited for it until its timeout.
        waiting.fetch_add(1);
        struct uncount {
            std::atomic<int>& n;
            ~uncount() { n.fetch_sub(1); }
        } counted{waiting};
        connection_pool::handle h;
        if (auto mine = take_kept()) {
            h = std::move(*mine);
        } else if (auto idle = pool.try_acquire()) {
            h = std::move(*idle);
        } else {
            auto r = co_await pool.acquire();
            if (!r) {
                throw_acquire_error(r.error());
            }
            h = std::move(*r);
        }
        co_return h;
    }

    // The kept connection (SQLite in memory): statements run inline on it
    // without a pool acquire and release each (a lock, a clock read, list
    // updates); a transaction or a stream takes it back out with take_kept()
    // and it returns through the pool. `kept_busy` makes its use exclusive
    // across threads; within one thread it is never held across a suspension.
    // `run(connection&)` runs the statement (false: it did not) and may throw.
    template <class Run>
    bool run_kept(Run& run)
    {
        if (kept_busy.exchange(true, std::memory_order_acquire)) {
            return false;  // in use on another thread: the pool path waits
        }
        struct unlock {
            std::atomic<bool>& flag;
            ~unlock() { flag.store(false, std::memory_order_release); }
        } guard{kept_busy};
        if (!kept) {
            if (closed.load(std::memory_order_relaxed) || waiting.load() > 0) {
                return false;  // a waiter for the pool goes first
            }
            auto idle = pool.try_acquire();
            if (!idle) {
                return false;
            }
            kept.emplace(std::move(*idle));
        }
        connection& c = ***kept;
        bool ran = false;
        try {
            ran = run(c);
        } catch (...) {
            if (!c.healthy()) {
                kept->mark_broken();
                kept.reset();
            } else if (waiting.load() > 0) {
                kept.reset();
            }
            throw;
        }
        if (waiting.load() > 0) {
            kept.reset();  // back to the pool, which hands it to the waiter
        }
        return ran;
    }

    // Runs a statement at once on a connection that never blocks (see run_kept).
    template <class Run>
    bool run_here(Run& run);

    std::optional<connection_pool::handle> take_kept()
    {
        if (!keeps_connection) {
            return std::nullopt;
        }
        while (kept_busy.exchange(true, std::memory_order_acquire)) {
            std::this_thread::yield();  // an inline statement on another thread: short
        }
        std::optional<connection_pool::handle> out = std::move(kept);
        kept.reset();
        kept_busy.store(false, std::memory_order_release);
        return out;
    }

    bool holds_kept()
    {
        if (!keeps_connection) {
            return false;
        }
        while (kept_busy.exchange(true, std::memory_order_acquire)) {
            std::this_thread::yield();
        }
        const bool held = kept.has_value();
        kept_busy.store(false, std::memory_order_release);
        return held;
    }

    // Statements outside transactions on a pipelining driver in per-thread
    // mode all go to this one connection (batched on the wire).
    task<statement_result> run_shared(std::string_view sql, std::span<const value> params, row_sink* sink)
    {
        if (!shared || !shared->get()->healthy()) {
            if (shared) {
                shared->mark_broken();
                shared.reset();
            }
            auto h = co_await acquire();
            if (!shared) {  // another caller may have set one while this one waited
                shared.emplace(std::move(h));
            }
        }
        connection* c = shared->get().get();
        statement_result out;
        try {
            out = co_await c->run(sql, params, sink);
        } catch (...) {
            if (!c->healthy() && shared && shared->get().get() == c) {
                shared->mark_broken();
                shared.reset();
            }
            throw;
        }
        co_return out;
    }

    url u;
    const driver_factory* driver;
    database_options options;
    std::string dialect;
    bool never_blocks;      // SQLite run inline: statements need no coroutine of their own
    bool keeps_connection;  // SQLite in memory: see run_kept()
    connection_pool pool;
    std::atomic<bool> kept_busy{false};
    std::atomic<bool> closed{false};
    std::atomic<int> waiting{0};                  // callers in acquire()
    std::optional<connection_pool::handle> kept;  // after the pool: released into it first
    std::mutex error_mutex;
    std::string last_error;
    std::string last_state;
    std::optional<connection_pool::handle> shared;
    bool pipelined = false;  // learned from the first connection
};

namespace {

// `run(connection&)` on h's connection; a connection that failed and is broken is not reused.
template <class Run>
bool run_on_handle(database::connection_pool::handle& h, Run& run)
{
    connection& c = **h;
    try {
        return run(c);
    } catch (...) {
        if (!c.healthy()) {
            h.mark_broken();
        }
        throw;
    }
}

// The generic inline statement (values and a row sink), after the statement hook.
struct inline_run {
    const std::function<void(std::string_view)>* before;
    std::string_view sql;
    std::span<const value> params;
    row_sink* sink;
    statement_result& out;
    bool operator()(connection& c) const
    {
        if (before != nullptr && *before) {
            (*before)(sql);
        }
        out = c.run_inline(sql, params, sink);
        return true;
    }
};

// The typed statement (connection::run_direct calls the hook itself).
struct direct_run {
    const std::function<void(std::string_view)>* before;
    std::string_view sql;
    const direct_body& body;
    statement_result& out;
    bool operator()(connection& c) const { return c.run_direct(sql, body, before, out); }
};

task<statement_result> run_on(database::connection_pool::handle& h, std::string_view sql,
                              std::span<const value> params, row_sink* sink)
{
    connection& c = **h;
    statement_result out;
    if (c.runs_inline()) {
        inline_run run{nullptr, sql, params, sink, out};
        run_on_handle(h, run);
    } else {
        try {
            out = co_await c.run(sql, params, sink);
        } catch (...) {
            if (!c.healthy()) {
                h.mark_broken();
            }
            throw;
        }
    }
    co_return out;
}

const driver_factory* builtin_or_registered(const url& u)
{
    static const bool sqlite_registered = [] {
        register_driver("sqlite", [](const url& parsed, const connect_options& o) {
            return detail::connect_sqlite(parsed, o);
        });
        return true;
    }();
    (void)sqlite_registered;
    return find_driver(u.scheme);
}

std::string begin_sql(std::string_view dialect, isolation level)
{
    if (dialect == "sqlite") {
        // SQLite transactions are serializable; IMMEDIATE takes the write lock
        // up front so that a later write cannot fail with SQLITE_BUSY mid-way.
        return level == isolation::serializable ? "BEGIN IMMEDIATE" : "BEGIN";
    }
    switch (level) {
    case isolation::read_uncommitted: return "BEGIN ISOLATION LEVEL READ UNCOMMITTED";
    case isolation::read_committed: return "BEGIN ISOLATION LEVEL READ COMMITTED";
    case isolation::repeatable_read: return "BEGIN ISOLATION LEVEL REPEATABLE READ";
    case isolation::serializable: return "BEGIN ISOLATION LEVEL SERIALIZABLE";
    case isolation::default_level: break;
    }
    return "BEGIN";
}

}  // namespace

database database::open(std::string_view text, database_options options)
{
    url u = url::parse(text);
    const driver_factory* drv = builtin_or_registered(u);
    if (drv == nullptr) {
        throw error(errc::invalid_argument, "",
                    "covet::orm: no driver for '" + u.scheme +
                        "' (link covet::postgres and include <covet/postgres/postgres.hpp> for PostgreSQL)");
    }
    std::string dialect = u.scheme == "sqlite" ? "sqlite" : "postgresql";
    return database(std::make_unique<state>(std::move(u), drv, options, std::move(dialect)));
}

database::database(std::unique_ptr<state> s) noexcept : state_(std::move(s)) {}
database::database(database&&) noexcept = default;
database& database::operator=(database&&) noexcept = default;
database::~database() = default;

std::string_view database::dialect() const noexcept
{
    return state_->dialect;
}

template <class Run>
bool database::state::run_here(Run& run)
{
    if (!never_blocks) {
        return false;
    }
    if (keeps_connection) {
        return run_kept(run);
    }
    auto idle = pool.try_acquire();
    if (!idle) {
        return false;  // run_statement waits for a connection
    }
    return run_on_handle(*idle, run);
}

bool database::run_now(std::string_view sql, std::span<const value> params, row_sink* sink,
                       statement_result& out)
{
    inline_run run{&state_->options.on_statement, sql, params, sink, out};
    return state_->run_here(run);
}

// Hot: grouped with the other per-statement code (.text.hot), away from cold code.
[[gnu::hot]] bool database::run_direct(std::string_view sql, const direct_body& body, statement_result& out)
{
    direct_run run{&state_->options.on_statement, sql, body, out};
    return state_->run_here(run);
}

task<statement_result> database::run_statement(std::string_view sql, std::span<const value> params,
                                               row_sink* sink)
{
    statement_result out;
    if (!run_now(sql, params, sink, out)) {
        if (state_->options.on_statement) {
            state_->options.on_statement(sql);
        }
        if (state_->pipelined && state_->options.pool_mode == pool::mode::per_thread) {
            out = co_await state_->run_shared(sql, params, sink);
        } else {
            auto h = co_await state_->acquire();
            state_->pipelined = (*h)->pipelined();
            out = co_await run_on(h, sql, params, sink);
        }
    }
    co_return out;
}

task<transaction> database::begin(isolation level)
{
    auto h = co_await state_->acquire();
    const std::string sql = begin_sql(state_->dialect, level);
    if (state_->options.on_statement) {
        state_->options.on_statement(sql);
    }
    co_await run_on(h, sql, {}, nullptr);
    co_return transaction(std::move(h), &state_->options.on_statement);
}

namespace {

// A server-side cursor for drivers without one of their own (PostgreSQL):
// BEGIN; DECLARE ... NO SCROLL CURSOR FOR <sql>; FETCH FORWARD n ...; COMMIT.
// Unlike single-row mode, which would hold every statement pipelined behind
// it on the connection until the last row is read, a cursor keeps the
// connection free between batches and bounds memory on both ends (the
// server sends n rows per FETCH). An early drop rolls the transaction back.
class sql_cursor final : public cursor {
public:
    explicit sql_cursor(connection& c) noexcept : conn_(c) {}
    ~sql_cursor() override
    {
        if (open_) {
            conn_.abandon_transaction();
        }
    }
    sql_cursor(const sql_cursor&) = delete;
    sql_cursor& operator=(const sql_cursor&) = delete;

    task<void> open(std::string_view sql, std::span<const value> params)
    {
        co_await conn_.run("BEGIN", {}, nullptr);
        open_ = true;
        const std::string declare = "DECLARE covet_stream NO SCROLL CURSOR FOR " + std::string(sql);
        co_await conn_.run(declare, params, nullptr);
    }

    task<bool> fetch(row_sink& sink, std::size_t max_rows) override
    {
        counting_sink counted(sink);
        const std::string sql = "FETCH FORWARD " + std::to_string(max_rows) + " FROM covet_stream";
        co_await conn_.run(sql, {}, &counted);
        const bool more = counted.rows == max_rows;
        if (!more) {
            co_await conn_.run("COMMIT", {}, nullptr);
            open_ = false;
        }
        co_return more;
    }

private:
    struct counting_sink final : row_sink {
        explicit counting_sink(row_sink& inner) : to(inner) {}
        void on_row(const row& r) override
        {
            ++rows;
            to.on_row(r);
        }
        row_sink& to;
        std::size_t rows = 0;
    };

    connection& conn_;
    bool open_ = false;
};

}  // namespace

task<std::unique_ptr<stream_source>> database::open_stream(std::string sql, std::vector<value> params)
{
    if (state_->options.on_statement) {
        state_->options.on_statement(sql);
    }
    auto source = std::make_unique<stream_source>();
    source->conn = co_await state_->acquire();
    source->sql = std::move(sql);
    source->params = std::move(params);
    connection& c = **source->conn;
    try {
        source->rows = c.open_cursor(source->sql, source->params);
        if (!source->rows) {
            auto fallback = std::make_unique<sql_cursor>(c);
            auto* opened = fallback.get();
            source->rows = std::move(fallback);
            co_await opened->open(source->sql, source->params);
        }
    } catch (...) {
        source->rows.reset();
        if (!c.healthy()) {
            source->conn.mark_broken();
        }
        throw;
    }
    co_return source;
}

task<bool> stream_source::fetch(row_sink& sink, std::size_t max_rows)
{
    bool more = false;
    if (finished) {
        co_return more;
    }
    try {
        more = co_await rows->fetch(sink, max_rows);
    } catch (...) {
        finished = true;
        rows.reset();  // an aborted server-side cursor's transaction is rolled back here
        if (!(*conn)->healthy()) {
            conn.mark_broken();
        }
        conn.reset();
        throw;
    }
    if (!more) {
        finished = true;
        rows.reset();
        conn.reset();
    }
    co_return more;
}

pool::metrics database::pool_stats() const
{
    pool::metrics m = state_->pool.stats();
    if (state_->holds_kept() && m.in_use > 0) {
        --m.in_use;  // the kept connection is idle between statements
        ++m.idle;
    }
    return m;
}

void database::close()
{
    state_->closed.store(true, std::memory_order_relaxed);
    state_->take_kept();  // back into the pool, which closes it
    state_->pool.close();
}

// ---------------------------------------------------------------- transaction

transaction& transaction::operator=(transaction&& other) noexcept
{
    if (this != &other) {
        abandon();
        conn_ = std::move(other.conn_);
        on_statement_ = std::exchange(other.on_statement_, nullptr);
        finished_ = std::exchange(other.finished_, false);
        savepoints_ = std::exchange(other.savepoints_, 0);
    }
    return *this;
}

transaction::~transaction()
{
    abandon();
}

void transaction::abandon() noexcept
{
    if (conn_ && !finished_) {
        (*conn_)->abandon_transaction();
    }
    conn_.reset();
    finished_ = true;
}

std::string_view transaction::dialect() const noexcept
{
    return conn_ ? (*conn_)->dialect() : std::string_view{};
}

task<statement_result> transaction::run_statement(std::string_view sql, std::span<const value> params,
                                                  row_sink* sink)
{
    if (!active()) {
        throw error(errc::query_error, "25P01", "the transaction is no longer active");
    }
    if (on_statement_ != nullptr && *on_statement_) {
        (*on_statement_)(sql);
    }
    auto out = co_await run_on(conn_, sql, params, sink);
    co_return out;
}

bool transaction::run_now(std::string_view sql, std::span<const value> params, row_sink* sink,
                          statement_result& out)
{
    if (!active() || !(*conn_)->runs_inline()) {
        return false;
    }
    inline_run run{on_statement_, sql, params, sink, out};
    return run_on_handle(conn_, run);
}

bool transaction::run_direct(std::string_view sql, const direct_body& body, statement_result& out)
{
    if (!active()) {
        return false;
    }
    direct_run run{on_statement_, sql, body, out};
    return run_on_handle(conn_, run);
}

task<void> transaction::commit()
{
    co_await run_statement("COMMIT", {}, nullptr);
    finished_ = true;
    conn_.reset();
}

task<void> transaction::rollback()
{
    co_await run_statement("ROLLBACK", {}, nullptr);
    finished_ = true;
    conn_.reset();
}

task<std::string> transaction::savepoint()
{
    std::string name = "covet_sp_" + std::to_string(++savepoints_);
    const std::string sql = "SAVEPOINT " + name;
    co_await run_statement(sql, {}, nullptr);
    co_return name;
}

namespace {
void check_savepoint_name(std::string_view name)
{
    if (!detail::plain_identifier(name)) {
        throw error(errc::invalid_argument, "3B001", "covet::orm: bad savepoint name");
    }
}
}  // namespace

task<void> transaction::release_savepoint(std::string name)
{
    check_savepoint_name(name);
    const std::string sql = "RELEASE SAVEPOINT " + name;
    co_await run_statement(sql, {}, nullptr);
}

task<void> transaction::rollback_to(std::string name)
{
    check_savepoint_name(name);
    const std::string sql = "ROLLBACK TO SAVEPOINT " + name;
    co_await run_statement(sql, {}, nullptr);
}

// ---------------------------------------------------------------- registry

void registry::add(std::string name, database primary, std::optional<database> replica)
{
    if (contains(name)) {
        throw error(errc::invalid_argument, "", "database '" + name + "' is already registered");
    }
    entry e{std::move(name), std::make_unique<database>(std::move(primary)), nullptr};
    if (replica) {
        e.replica = std::make_unique<database>(std::move(*replica));
    }
    entries_.push_back(std::move(e));
}

registry::entry& registry::find(std::string_view name)
{
    for (auto& e : entries_) {
        if (e.name == name) {
            return e;
        }
    }
    throw error(errc::invalid_argument, "", "no database named '" + std::string(name) + "'");
}

bool registry::contains(std::string_view name) const
{
    for (const auto& e : entries_) {
        if (e.name == name) {
            return true;
        }
    }
    return false;
}

database& registry::writer(std::string_view name)
{
    return *find(name).primary;
}

database& registry::reader(std::string_view name)
{
    auto& e = find(name);
    return e.replica ? *e.replica : *e.primary;
}

void registry::close()
{
    for (auto& e : entries_) {
        e.primary->close();
        if (e.replica) {
            e.replica->close();
        }
    }
}

}  // namespace covet::orm
