// The SQLite driver: one sqlite3 handle per pooled connection (opened with
// SQLITE_OPEN_NOMUTEX: the pool hands a connection to one caller at a time),
// a prepared statement cache keyed by SQL text, WAL + busy timeout on files,
// statements on files offloaded to covet::net's pool, statements in memory
// run inline (nothing there can block).
#include "sqlite_driver.hpp"

#include <covet/net/offload.hpp>
#include <covet/orm/driver.hpp>
#include <covet/orm/error.hpp>

#include <sqlite3.h>

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>

namespace covet::orm::detail {

namespace {

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

const char* sql_state_of(int extended)
{
    switch (extended) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return "23505";
    case SQLITE_CONSTRAINT_NOTNULL: return "23502";
    case SQLITE_CONSTRAINT_FOREIGNKEY: return "23503";
    case SQLITE_CONSTRAINT_CHECK: return "23514";
    default: break;
    }
    switch (extended & 0xff) {
    case SQLITE_CONSTRAINT: return "23000";
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return "55P03";
    case SQLITE_INTERRUPT: return "57014";
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN: return "08006";
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH: return "22000";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return "42501";
    default: return "42000";
    }
}

// $N -> ?N outside string literals, quoted identifiers and comments, so that
// parameter N binds to index N whatever the order of first use.
std::string rewrite_placeholders(std::string_view sql)
{
    std::string out;
    out.reserve(sql.size());
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char ch = sql[i];
        if (ch == '\'' || ch == '"' || ch == '`') {
            const std::size_t end = sql.find(ch, i + 1);
            const std::size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
            out.append(sql.substr(i, stop - i));
            i = stop - 1;
        } else if (ch == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
            const std::size_t end = sql.find('\n', i);
            const std::size_t stop = end == std::string_view::npos ? sql.size() : end;
            out.append(sql.substr(i, stop - i));
            i = stop - 1;
        } else if (ch == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
            const std::size_t end = sql.find("*/", i + 2);
            const std::size_t stop = end == std::string_view::npos ? sql.size() : end + 2;
            out.append(sql.substr(i, stop - i));
            i = stop - 1;
        } else if (ch == '$' && i + 1 < sql.size() && sql[i + 1] >= '0' && sql[i + 1] <= '9') {
            out += '?';
        } else {
            out += ch;
        }
    }
    return out;
}

// The orm::error for SQLite result code `rc` on `db`.
[[gnu::cold]] error sqlite_error(sqlite3* db, int rc)
{
    const int extended = sqlite3_extended_errcode(db);
    const char* state = sql_state_of(extended != 0 ? extended : rc);
    errc kind = kind_of_sql_state(state);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
        kind = errc::timeout;
    }
    return error(kind, state, sqlite3_errmsg(db));
}

bool only_blank(const char* tail)
{
    for (; tail != nullptr && *tail != '\0'; ++tail) {
        if (*tail != ' ' && *tail != '\n' && *tail != '\t' && *tail != '\r' && *tail != ';') {
            return false;
        }
    }
    return true;
}

// The row interface over a statement (the generic path and cursors).
class sqlite_row final : public row {
public:
    explicit sqlite_row(const direct_statement& st) noexcept : st_(st), size_(st.size()) {}
    std::size_t size() const noexcept override { return size_; }
    std::string_view name(std::size_t c) const noexcept override { return st_.name(c); }
    bool is_null(std::size_t c) const noexcept override { return st_.is_null(c); }
    std::int64_t get_int(std::size_t c) const override { return st_.get_int(c); }
    double get_double(std::size_t c) const override { return st_.get_double(c); }
    std::string_view get_text(std::size_t c) const override { return st_.get_text(c); }
    blob get_blob(std::size_t c) const override { return st_.get_blob(c); }

private:
    const direct_statement& st_;
    std::size_t size_;
};

class sqlite_connection final : public connection {
public:
    sqlite_connection(sqlite3* db, bool offload) noexcept : db_(db), offload_(offload) {}
    ~sqlite_connection() override
    {
        for (auto& [sql, entry] : cache_) {
            sqlite3_finalize(entry.st);
        }
        sqlite3_close_v2(db_);
    }

    bool runs_inline() const noexcept override { return !offload_; }

    task<statement_result> run(std::string_view sql, std::span<const value> params, row_sink* sink) override
    {
        statement_result out;
        if (!offload_) {
            out = run_inline(sql, params, sink);
        } else {
            out = co_await net::offload([this, sql, params, sink] { return run_inline(sql, params, sink); });
        }
        co_return out;
    }

    statement_result run_inline(std::string_view sql, std::span<const value> params, row_sink* sink) override
    {
        statement_result out;
        auto generic = [&](direct_statement& st) {
            bind_values(st, params);
            const sqlite_row r(st);
            // A read-only statement stops when its sink is satisfied (find(): no second step).
            const bool may_stop = sink != nullptr && st.read_only();
            while (st.step()) {
                if (sink != nullptr) {
                    sink->on_row(r);
                    if (may_stop && sink->satisfied()) {
                        break;
                    }
                }
            }
        };
        if (!run_lent(sql, direct_body(generic), nullptr, out)) {
            return run_script(sql, params);
        }
        return out;
    }

    [[gnu::hot]] bool run_direct(std::string_view sql, const direct_body& body,
                                 const std::function<void(std::string_view)>* before,
                                 statement_result& out) override
    {
        // A file whose statements may block runs them through run() (offloaded).
        return !offload_ && run_lent(sql, body, before, out);
    }

    std::unique_ptr<cursor> open_cursor(std::string_view sql, std::span<const value> params) override;

    /// Steps `st` up to `max_rows` times into `sink`; false (and reset) at the end.
    bool step_rows(sqlite3_stmt* st, std::string_view sql, row_sink& sink, std::size_t max_rows);

    bool offloads() const noexcept { return offload_; }

    void abandon_transaction() noexcept override
    {
        if (sqlite3_get_autocommit(db_) == 0) {
            // Short even on a file (WAL): roll back now, so no lock outlives the transaction.
            if (sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr) != SQLITE_OK) {
                needs_rollback_ = true;
            }
        }
    }

    bool healthy() const noexcept override { return !broken_; }
    std::string_view dialect() const noexcept override { return "sqlite"; }

private:
    // Lends the cached statement of `sql` to `body`, then resets it. False for a multi-statement script.
    bool run_lent(std::string_view sql, const direct_body& body,
                  const std::function<void(std::string_view)>* before, statement_result& out)
    {
        roll_back_if_needed();
        sqlite3_stmt* st = nullptr;
        statement_memo* memo = nullptr;
        try {
            auto found = prepare(sql, body.fixed_text());
            if (found.multi) {
                return false;
            }
            st = found.st;
            memo = found.memo;
        } catch (...) {
            if (before != nullptr && *before) {
                (*before)(sql);  // a statement that fails to prepare was still run
            }
            throw;
        }
        if (before != nullptr && *before) {
            (*before)(sql);
        }
        direct_statement lent(st, sql, memo);
        resetting_on_error(st, [&] { body(lent); });
        sqlite3_reset(st);
        if (!memo->read_only) {
            out.rows_affected = static_cast<std::uint64_t>(sqlite3_changes64(db_));
            out.last_insert_id = sqlite3_last_insert_rowid(db_);
        } else {
            out = {};
        }
        return true;
    }

    // Runs `work` on statement st; an exception resets st first (ready for its
    // next use) and a lost connection marks this one broken.
    template <class Work>
    void resetting_on_error(sqlite3_stmt* st, Work&& work)
    {
        try {
            work();
        } catch (const error& e) {
            sqlite3_reset(st);
            if (e.kind() == errc::connection_lost) {
                broken_ = true;
            }
            throw;
        } catch (...) {
            sqlite3_reset(st);
            throw;
        }
    }

    // A transaction abandoned while a statement held its lock rolls back here.
    void roll_back_if_needed()
    {
        if (needs_rollback_) {
            needs_rollback_ = false;
            if (sqlite3_get_autocommit(db_) == 0) {
                sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
            }
        }
    }

    [[noreturn, gnu::cold]] void fail(int rc)
    {
        error e = sqlite_error(db_, rc);
        if (e.kind() == errc::connection_lost) {
            broken_ = true;
        }
        throw e;
    }

    struct prepared {
        sqlite3_stmt* st;
        bool multi;
        statement_memo* memo = nullptr;
    };

    // `fixed_text`: see direct_body.
    prepared prepare(std::string_view sql, bool fixed_text = false)
    {
        // Most SQL comes from the same few strings (a model's cached SQL, literals):
        // a small table keyed by the text's address, confirmed by comparing the
        // text, is cheaper than hashing it. A slot filled from a fixed text needs
        // no comparison: no other string can ever start at its address.
        const std::size_t slot_index = (reinterpret_cast<std::uintptr_t>(sql.data()) >> 4) % recent_.size();
        const recent& slot = recent_[slot_index];
        if (slot.entry != nullptr && slot.data == sql.data() && slot.text.size() == sql.size() &&
            (slot.fixed || std::memcmp(slot.text.data(), sql.data(), sql.size()) == 0)) {
            return {slot.entry->st, false, &slot.entry->memo};
        }
        return prepare_missed(sql, fixed_text, slot_index);
    }

    // The statement not in the recent table: the cache by text, or a new
    // statement. Cold and out of line, so the hit above stays a few lines of code.
    [[gnu::cold, gnu::noinline]] prepared prepare_missed(std::string_view sql, bool fixed_text,
                                                         std::size_t slot_index)
    {
        recent& slot = recent_[slot_index];
        if (auto it = cache_.find(sql); it != cache_.end()) {
            slot = {sql.data(), it->first, &it->second, fixed_text};
            return {it->second.st, false, &it->second.memo};
        }
        const std::string text = rewrite_placeholders(sql);
        sqlite3_stmt* st = nullptr;
        const char* tail = nullptr;
        const int rc = sqlite3_prepare_v3(db_, text.data(), static_cast<int>(text.size()),
                                          SQLITE_PREPARE_PERSISTENT, &st, &tail);
        if (rc != SQLITE_OK) {
            fail(rc);
        }
        if (!only_blank(tail) || st == nullptr) {
            sqlite3_finalize(st);
            return {nullptr, true};
        }
        if (cache_.size() >= max_cached) {
            recent_.fill({});
            for (auto& [key, old] : cache_) {
                sqlite3_finalize(old.st);
            }
            cache_.clear();
        }
        statement_memo memo;
        memo.read_only = sqlite3_stmt_readonly(st) != 0;  // fixed for the statement's life
        auto [it, inserted] = cache_.emplace(std::string(sql), cached{st, memo});
        (void)inserted;
        slot = {sql.data(), it->first, &it->second, fixed_text};
        return {st, false, &it->second.memo};
    }

    // Several statements in one string (schema scripts): no parameters, no rows.
    statement_result run_script(std::string_view sql, std::span<const value> params)
    {
        if (!params.empty()) {
            throw error(errc::query_error, "42601", "parameters are not allowed in a multi-statement script");
        }
        const std::string text(sql);
        char* message = nullptr;
        const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
        if (rc != SQLITE_OK) {
            std::string m = message != nullptr ? message : sqlite3_errstr(rc);
            sqlite3_free(message);
            const int extended = sqlite3_extended_errcode(db_);
            const char* state = sql_state_of(extended);
            throw error(kind_of_sql_state(state), state, m);
        }
        return {static_cast<std::uint64_t>(sqlite3_changes64(db_))};
    }

    struct cached {
        sqlite3_stmt* st;
        statement_memo memo;
    };
    struct recent {
        const char* data = nullptr;
        std::string_view text;    // the cache's own key (stable: node-based map)
        cached* entry = nullptr;  // (stable too)
        bool fixed = false;
    };

    static constexpr std::size_t max_cached = 256;
    std::array<recent, 16> recent_{};
    sqlite3* db_;
    bool offload_;
    bool broken_ = false;
    bool needs_rollback_ = false;
    std::unordered_map<std::string, cached, string_hash, std::equal_to<>> cache_;
};

// A cached statement stepped a batch at a time. The stream owning it holds
// the connection, so nothing else resets the statement meanwhile.
class sqlite_cursor final : public cursor {
public:
    sqlite_cursor(sqlite_connection& c, sqlite3_stmt* st, std::string_view sql) noexcept
        : conn_(c), st_(st), sql_(sql)
    {
    }
    ~sqlite_cursor() override
    {
        if (!done_) {
            sqlite3_reset(st_);  // abandoned early: the statement is ready for its next use
        }
    }
    sqlite_cursor(const sqlite_cursor&) = delete;
    sqlite_cursor& operator=(const sqlite_cursor&) = delete;

    task<bool> fetch(row_sink& sink, std::size_t max_rows) override
    {
        bool more = false;
        if (done_) {
            co_return more;
        }
        try {
            if (conn_.offloads()) {
                more = co_await net::offload([this, &sink, max_rows] { return step(sink, max_rows); });
            } else {
                more = step(sink, max_rows);
            }
        } catch (...) {
            done_ = true;  // step_rows reset the statement before throwing
            throw;
        }
        done_ = !more;
        co_return more;
    }

private:
    bool step(row_sink& sink, std::size_t max_rows) { return conn_.step_rows(st_, sql_, sink, max_rows); }

    sqlite_connection& conn_;
    sqlite3_stmt* st_;
    std::string_view sql_;
    bool done_ = false;
};

bool sqlite_connection::step_rows(sqlite3_stmt* st, std::string_view sql, row_sink& sink,
                                  std::size_t max_rows)
{
    direct_statement lent(st, sql);
    const sqlite_row r(lent);
    bool more = true;
    resetting_on_error(st, [&] {
        for (std::size_t n = 0; n < max_rows && more; ++n) {
            more = lent.step();
            if (more) {
                sink.on_row(r);
            }
        }
    });
    if (!more) {
        sqlite3_reset(st);
    }
    return more;
}

std::unique_ptr<cursor> sqlite_connection::open_cursor(std::string_view sql, std::span<const value> params)
{
    roll_back_if_needed();
    auto [st, multi, memo] = prepare(sql);
    (void)memo;
    if (multi) {
        throw error(errc::query_error, "42601", "covet::orm: a multi-statement script cannot be streamed");
    }
    direct_statement lent(st, sql);
    resetting_on_error(st, [&] { bind_values(lent, params); });
    return std::make_unique<sqlite_cursor>(*this, st, sql);
}

void exec_or_throw(sqlite3* db, const char* sql)
{
    char* message = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string m = message != nullptr ? message : "sqlite error";
        sqlite3_free(message);
        sqlite3_close_v2(db);
        throw error(errc::connection_lost, "08006", m);
    }
}

}  // namespace

task<std::unique_ptr<connection>> connect_sqlite(url u, connect_options options)
{
    sqlite3* db = nullptr;
    const std::string path = u.memory ? std::string(":memory:") : u.database;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (auto mode = u.query.find("mode"); mode != u.query.end() && mode->second == "ro") {
        flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    }
    const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string m = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
        sqlite3_close_v2(db);
        throw error(errc::connection_lost, "08006", "cannot open " + path + ": " + m);
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));
    exec_or_throw(db, "PRAGMA foreign_keys = ON");
    if (!u.memory && (flags & SQLITE_OPEN_READONLY) == 0) {
        exec_or_throw(db, "PRAGMA journal_mode = WAL");
        exec_or_throw(db, "PRAGMA synchronous = NORMAL");
    }
    co_return std::make_unique<sqlite_connection>(db, !u.memory && options.offload_blocking);
}

}  // namespace covet::orm::detail

namespace covet::orm {

namespace {
sqlite3_stmt* native(void* st) noexcept
{
    return static_cast<sqlite3_stmt*>(st);
}
}  // namespace

[[gnu::cold]] void direct_statement::fail(int rc)
{
    throw detail::sqlite_error(sqlite3_db_handle(native(statement_)), rc);
}

void direct_statement::expect_parameters(std::size_t count)
{
    const auto expected = static_cast<std::size_t>(sqlite3_bind_parameter_count(native(statement_)));
    if (count > expected) {
        throw error(errc::query_error, "08P01", "more parameters than placeholders in: " + std::string(sql_));
    }
    if (count < expected) {
        sqlite3_clear_bindings(native(statement_));
    }
}

[[gnu::hot]] void direct_statement::bind(int index, null_t)
{
    if (const int rc = sqlite3_bind_null(native(statement_), index); rc != SQLITE_OK) {
        fail(rc);
    }
}
[[gnu::hot]] void direct_statement::bind(int index, std::int64_t v)
{
    if (const int rc = sqlite3_bind_int64(native(statement_), index, v); rc != SQLITE_OK) {
        fail(rc);
    }
}
[[gnu::hot]] void direct_statement::bind(int index, double v)
{
    if (const int rc = sqlite3_bind_double(native(statement_), index, v); rc != SQLITE_OK) {
        fail(rc);
    }
}
[[gnu::hot]] void direct_statement::bind(int index, std::string_view v)
{
    const int rc =
        sqlite3_bind_text64(native(statement_), index, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
    if (rc != SQLITE_OK) {
        fail(rc);
    }
}
void direct_statement::bind(int index, std::span<const std::byte> v)
{
    if (const int rc = sqlite3_bind_blob64(native(statement_), index, v.data(), v.size(), SQLITE_STATIC);
        rc != SQLITE_OK) {
        fail(rc);
    }
}
void direct_statement::bind_value(int index, const value& v)
{
    std::visit(
        [&](const auto& x) {
            using V = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<V, std::string>) {
                bind(index, std::string_view(x));
            } else if constexpr (std::is_same_v<V, blob>) {
                bind(index, std::span<const std::byte>(x));
            } else {
                bind(index, x);
            }
        },
        v);
}

[[gnu::hot]] bool direct_statement::step()
{
    const int rc = sqlite3_step(native(statement_));
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc != SQLITE_DONE) {
        fail(rc);
    }
    return false;
}

[[gnu::hot]] bool direct_statement::read_only() const noexcept
{
    return memo_ != nullptr ? memo_->read_only : sqlite3_stmt_readonly(native(statement_)) != 0;
}

int direct_statement::learned_in_order(const void* row_type) const noexcept
{
    if (memo_ == nullptr || memo_->row_type != row_type ||
        memo_->recompiled != sqlite3_stmt_status(native(statement_), SQLITE_STMTSTATUS_REPREPARE, 0)) {
        return -1;
    }
    return memo_->in_order ? 1 : 0;
}

void direct_statement::learn_in_order(const void* row_type, bool in_order) noexcept
{
    if (memo_ != nullptr) {
        memo_->row_type = row_type;
        memo_->recompiled = sqlite3_stmt_status(native(statement_), SQLITE_STMTSTATUS_REPREPARE, 0);
        memo_->in_order = in_order;
    }
}

[[gnu::hot]] std::size_t direct_statement::size() const noexcept
{
    return static_cast<std::size_t>(sqlite3_column_count(native(statement_)));
}
std::string_view direct_statement::name(std::size_t c) const noexcept
{
    const char* n = sqlite3_column_name(native(statement_), static_cast<int>(c));
    return n == nullptr ? std::string_view{} : std::string_view(n);
}
[[gnu::hot]] bool direct_statement::is_null(std::size_t c) const noexcept
{
    return sqlite3_column_type(native(statement_), static_cast<int>(c)) == SQLITE_NULL;
}
[[gnu::hot]] std::int64_t direct_statement::get_int(std::size_t c) const
{
    return sqlite3_column_int64(native(statement_), static_cast<int>(c));
}
[[gnu::hot]] double direct_statement::get_double(std::size_t c) const
{
    return sqlite3_column_double(native(statement_), static_cast<int>(c));
}
[[gnu::hot]] std::string_view direct_statement::get_text(std::size_t c) const
{
    const auto* p = sqlite3_column_text(native(statement_), static_cast<int>(c));
    const int n = sqlite3_column_bytes(native(statement_), static_cast<int>(c));
    return p == nullptr ? std::string_view{} : std::string_view(reinterpret_cast<const char*>(p), n);
}
blob direct_statement::get_blob(std::size_t c) const
{
    const auto* p =
        static_cast<const std::byte*>(sqlite3_column_blob(native(statement_), static_cast<int>(c)));
    const int n = sqlite3_column_bytes(native(statement_), static_cast<int>(c));
    return p == nullptr ? blob{} : blob(p, p + n);
}

}  // namespace covet::orm
