// The PostgreSQL driver: libpq in non-blocking pipeline mode, driven by Asio.
//
// Every statement is sent as [Parse (first use on this connection)] + Bind/
// Execute + Sync. Sync after each statement keeps callers independent: an
// error aborts only the statement's own pipeline segment. A statement is queued
// (`pending`) and written to libpq's buffer at once; one pump coroutine per
// connection flushes the buffer and reads results while anything is queued,
// handing each result to the queue's front in order. Callers that arrive in
// the same turn of the event loop therefore go out in one write and come back
// from one read.
#include <covet/net/task.hpp>
#include <covet/net/timer.hpp>
#include <covet/orm/driver.hpp>
#include <covet/orm/error.hpp>
#include <covet/postgres/postgres.hpp>

#include "connect.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/posix/stream_descriptor.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>

#include <libpq-fe.h>
#include <poll.h>

#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <deque>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace covet::postgres {

namespace {

using detail::error_from;
using detail::trimmed;
using orm::errc;
using orm::error;
using orm::row;
using orm::row_sink;
using orm::statement_result;
using orm::value;

constexpr unsigned bytea_oid = 17;
constexpr std::size_t max_prepared = 512;

struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// Result columns travel in binary when every column of a statement has a
// binary form that is at least as cheap to read as its text (integers, floats,
// bool, bytea; text types are the same bytes either way) and one of them saves
// parsing. libpq takes one result format per statement, hence all or nothing.
constexpr Oid bool_oid = 16;
constexpr Oid name_oid = 19;
constexpr Oid int8_oid = 20;
constexpr Oid int2_oid = 21;
constexpr Oid int4_oid = 23;
constexpr Oid text_oid = 25;
constexpr Oid oid_oid = 26;
constexpr Oid float4_oid = 700;
constexpr Oid float8_oid = 701;
constexpr Oid bpchar_oid = 1042;
constexpr Oid varchar_oid = 1043;

bool is_text_type(Oid t) noexcept
{
    return t == text_oid || t == varchar_oid || t == bpchar_oid || t == name_oid;
}

bool binary_saves_parsing(Oid t) noexcept
{
    return t == bool_oid || t == bytea_oid || t == int2_oid || t == int4_oid || t == int8_oid ||
           t == oid_oid || t == float4_oid || t == float8_oid;
}

bool wants_binary_results(const PGresult* res) noexcept
{
    const int n = PQnfields(res);
    bool saves = false;
    for (int c = 0; c < n; ++c) {
        const Oid t = PQftype(res, c);
        if (!is_text_type(t) && !binary_saves_parsing(t)) {
            return false;
        }
        saves = saves || binary_saves_parsing(t);
    }
    return saves;
}

template <class U>
U load_big_endian(const char* p) noexcept
{
    U v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little) {
        if constexpr (sizeof(U) == 2) {
            v = __builtin_bswap16(v);
        } else if constexpr (sizeof(U) == 4) {
            v = __builtin_bswap32(v);
        } else {
            v = __builtin_bswap64(v);
        }
    }
    return v;
}

// The types of a binary result's columns, looked up once per result rather
// than per value (libpq's accessors check their arguments on every call).
using binary_columns = std::vector<Oid>;

class pg_row final : public row {
public:
    /// `binary_types`: empty for a text result, else every column's type.
    pg_row(const PGresult* res, int r, const binary_columns& binary_types) noexcept
        : res_(res), row_(r), binary_types_(binary_types)
    {
    }
    std::size_t size() const noexcept override { return static_cast<std::size_t>(PQnfields(res_)); }
    std::string_view name(std::size_t c) const noexcept override
    {
        return PQfname(res_, static_cast<int>(c));
    }
    bool is_null(std::size_t c) const noexcept override
    {
        return PQgetisnull(res_, row_, static_cast<int>(c)) != 0;
    }
    std::int64_t get_int(std::size_t c) const override
    {
        if (binary(c)) {
            return binary_int(c);
        }
        const std::string_view t = raw(c);
        if (t == "t") {
            return 1;
        }
        if (t == "f") {
            return 0;
        }
        std::int64_t v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc{} || (end != t.data() + t.size() && *end != '.')) {
            throw error(errc::query_error, "22P02", "not an integer: " + std::string(t));
        }
        return v;
    }
    double get_double(std::size_t c) const override
    {
        if (binary(c)) {
            return binary_double(c);
        }
        const std::string_view t = raw(c);
        double v = 0;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc{}) {
            throw error(errc::query_error, "22P02", "not a number: " + std::string(t));
        }
        (void)end;
        return v;
    }
    // A binary number is rendered as PostgreSQL's text would be; the view
    // then refers to this row's scratch buffer (valid until the next call).
    std::string_view get_text(std::size_t c) const override
    {
        if (!binary(c) || is_text_type(type(c))) {
            return raw(c);
        }
        const Oid t = type(c);
        if (t == bool_oid) {
            return binary_int(c) != 0 ? "t" : "f";
        }
        if (t == bytea_oid) {
            static constexpr char hex[] = "0123456789abcdef";
            scratch_ = "\\x";
            for (const char ch : raw(c)) {
                const auto b = static_cast<unsigned char>(ch);
                scratch_ += hex[b >> 4];
                scratch_ += hex[b & 15];
            }
            return scratch_;
        }
        char buf[32];
        std::to_chars_result out{};
        if (t == float4_oid || t == float8_oid) {
            const double v = binary_double(c);
            if (std::isnan(v)) {
                return "NaN";
            }
            if (std::isinf(v)) {
                return v > 0 ? "Infinity" : "-Infinity";
            }
            out = t == float4_oid ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v))
                                  : std::to_chars(buf, buf + sizeof buf, v);
        } else {
            out = std::to_chars(buf, buf + sizeof buf, binary_int(c));
        }
        scratch_.assign(buf, out.ptr);
        return scratch_;
    }
    orm::blob get_blob(std::size_t c) const override
    {
        if (binary(c)) {
            const std::string_view bytes = raw(c);
            const auto* first = reinterpret_cast<const std::byte*>(bytes.data());
            return orm::blob(first, first + bytes.size());
        }
        std::size_t n = 0;
        unsigned char* unescaped = PQunescapeBytea(
            reinterpret_cast<const unsigned char*>(PQgetvalue(res_, row_, static_cast<int>(c))), &n);
        if (unescaped == nullptr) {
            throw error(errc::query_error, "22P02", "bad bytea value");
        }
        orm::blob out(reinterpret_cast<std::byte*>(unescaped), reinterpret_cast<std::byte*>(unescaped) + n);
        PQfreemem(unescaped);
        return out;
    }

private:
    bool binary(std::size_t c) const noexcept { return c < binary_types_.size(); }
    Oid type(std::size_t c) const noexcept { return binary_types_[c]; }
    std::string_view raw(std::size_t c) const noexcept
    {
        const int col = static_cast<int>(c);
        return {PQgetvalue(res_, row_, col), static_cast<std::size_t>(PQgetlength(res_, row_, col))};
    }
    std::int64_t binary_int(std::size_t c) const
    {
        const std::string_view v = raw(c);
        const Oid t = type(c);
        if (t == bool_oid && v.size() == 1) {
            return v[0] != 0 ? 1 : 0;
        }
        if (t == int2_oid && v.size() == 2) {
            return static_cast<std::int16_t>(load_big_endian<std::uint16_t>(v.data()));
        }
        if (t == int4_oid && v.size() == 4) {
            return static_cast<std::int32_t>(load_big_endian<std::uint32_t>(v.data()));
        }
        if (t == oid_oid && v.size() == 4) {
            return load_big_endian<std::uint32_t>(v.data());
        }
        if (t == int8_oid && v.size() == 8) {
            return static_cast<std::int64_t>(load_big_endian<std::uint64_t>(v.data()));
        }
        if (t == float4_oid || t == float8_oid) {
            return static_cast<std::int64_t>(binary_double(c));  // truncated, as the text path reads "2.5"
        }
        throw error(errc::query_error, "22P02", "not an integer: a column of type oid " + std::to_string(t));
    }
    double binary_double(std::size_t c) const
    {
        const std::string_view v = raw(c);
        const Oid t = type(c);
        if (t == float8_oid && v.size() == 8) {
            return std::bit_cast<double>(load_big_endian<std::uint64_t>(v.data()));
        }
        if (t == float4_oid && v.size() == 4) {
            return std::bit_cast<float>(load_big_endian<std::uint32_t>(v.data()));
        }
        return static_cast<double>(binary_int(c));
    }

    const PGresult* res_;
    int row_;
    const binary_columns& binary_types_;
    mutable std::string scratch_;
};

struct prepared_statement {
    std::string name;
    bool binary_results = false;  // later runs ask for binary results (see wants_binary_results)
};

struct pending {
    row_sink* sink = nullptr;
    int commands = 1;           // command results still to come (Parse + Execute, or Execute)
    std::string prepared_name;  // set when this statement prepares: dropped from the cache if it fails
    std::string prepared_sql;
    std::uint64_t rows_affected = 0;
    std::exception_ptr failure;
    bool done = false;
    std::unique_ptr<asio::steady_timer> wake;  // null for fire-and-forget statements
};

// Parameters as libpq wants them: text (type left to the server), blobs binary bytea.
struct wire_params {
    explicit wire_params(std::span<const value> params)
    {
        const std::size_t n = params.size();
        storage.reserve(n);
        values.resize(n);
        lengths.resize(n);
        formats.resize(n);
        types.resize(n);
        for (std::size_t i = 0; i < n; ++i) {
            std::visit(
                [&](const auto& x) {
                    using V = std::decay_t<decltype(x)>;
                    if constexpr (std::is_same_v<V, orm::null_t>) {
                        values[i] = nullptr;
                    } else if constexpr (std::is_same_v<V, std::int64_t> || std::is_same_v<V, double>) {
                        char buf[64];
                        auto [end, ec] = std::to_chars(buf, buf + sizeof buf, x);
                        (void)ec;
                        values[i] = storage.emplace_back(buf, end).c_str();
                    } else if constexpr (std::is_same_v<V, std::string>) {
                        values[i] = x.c_str();
                    } else if constexpr (std::is_same_v<V, std::string_view>) {
                        values[i] = storage.emplace_back(x).c_str();  // libpq needs NUL-terminated text
                    } else {
                        // An empty blob's data() may be null, which libpq would send as NULL.
                        values[i] = x.empty() ? "" : reinterpret_cast<const char*>(x.data());
                        lengths[i] = static_cast<int>(x.size());
                        formats[i] = 1;
                        types[i] = bytea_oid;
                    }
                },
                params[i]);
        }
    }
    std::vector<std::string> storage;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats;
    std::vector<Oid> types;
};

// Splits a parameterless script into statements at top-level semicolons
// (outside quotes, dollar quotes and comments): the extended protocol that
// pipeline mode requires takes one statement per command.
std::vector<std::string> split_statements(std::string_view sql)
{
    std::vector<std::string> out;
    std::size_t start = 0;
    auto flush = [&](std::size_t end) {
        std::string_view piece = sql.substr(start, end - start);
        const auto first = piece.find_first_not_of(" \t\r\n");
        if (first != std::string_view::npos) {
            out.emplace_back(piece.substr(first));
        }
        start = end + 1;
    };
    for (std::size_t i = 0; i < sql.size(); ++i) {
        const char ch = sql[i];
        if (ch == '\'' || ch == '"') {
            const std::size_t end = sql.find(ch, i + 1);
            i = end == std::string_view::npos ? sql.size() : end;
        } else if (ch == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
            const std::size_t end = sql.find('\n', i);
            i = end == std::string_view::npos ? sql.size() : end;
        } else if (ch == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
            const std::size_t end = sql.find("*/", i + 2);
            i = end == std::string_view::npos ? sql.size() : end + 1;
        } else if (ch == '$') {
            const std::size_t close = sql.find('$', i + 1);
            if (close != std::string_view::npos) {
                const std::string_view tag = sql.substr(i, close - i + 1);  // $$ or $tag$
                bool is_tag = true;
                for (char t : tag.substr(1, tag.size() - 2)) {
                    is_tag = is_tag && (std::isalnum(static_cast<unsigned char>(t)) || t == '_');
                }
                if (is_tag && !(tag.size() > 2 && std::isdigit(static_cast<unsigned char>(tag[1])))) {
                    const std::size_t end = sql.find(tag, close + 1);
                    i = end == std::string_view::npos ? sql.size() : end + tag.size() - 1;
                }
            }
        } else if (ch == ';') {
            flush(i);
        }
    }
    flush(sql.size());
    return out;
}

std::uint64_t parse_count(const char* text)
{
    std::uint64_t v = 0;
    if (text != nullptr) {
        std::from_chars(text, text + std::strlen(text), v);
    }
    return v;
}

// The state shared by a connection and its pump coroutine.
struct core : std::enable_shared_from_this<core> {
    core(PGconn* c, const asio::any_io_executor& ex) : conn(c), socket(ex, PQsocket(c)) {}
    ~core()
    {
        asio::error_code ignored;
        socket.cancel(ignored);
        (void)socket.release();  // libpq owns the descriptor
        PQfinish(conn);
    }
    core(const core&) = delete;
    core& operator=(const core&) = delete;

    // Queues one statement in libpq's output buffer. Throws on a dead connection.
    void send(std::string_view sql, std::span<const value> params, pending& p)
    {
        wire_params wire(params);
        const int n = static_cast<int>(params.size());
        int ok = 0;
        std::vector<std::string> script;
        if (n == 0 && sql.find(';') != std::string_view::npos) {
            script = split_statements(sql);
        }
        if (script.size() > 1) {
            ok = 1;
            for (const auto& one : script) {
                ok = ok && PQsendQueryParams(conn, one.c_str(), 0, nullptr, nullptr, nullptr, nullptr, 0);
            }
            p.commands = static_cast<int>(script.size());
        } else if (auto it = prepared.find(sql); it != prepared.end()) {
            const int result_format = it->second.binary_results ? 1 : 0;
            ok = PQsendQueryPrepared(conn, it->second.name.c_str(), n, wire.values.data(),
                                     wire.lengths.data(), wire.formats.data(), result_format);
            p.commands = 1;
        } else if (prepared.size() < max_prepared) {
            std::string name = "covet_" + std::to_string(++next_name);
            const std::string text(sql);
            ok = PQsendPrepare(conn, name.c_str(), text.c_str(), n, wire.types.data()) &&
                 PQsendQueryPrepared(conn, name.c_str(), n, wire.values.data(), wire.lengths.data(),
                                     wire.formats.data(), 0);
            p.commands = 2;
            p.prepared_name = name;
            p.prepared_sql = text;
            prepared.emplace(text, prepared_statement{std::move(name)});
        } else {
            const std::string text(sql);
            ok = PQsendQueryParams(conn, text.c_str(), n, wire.types.data(), wire.values.data(),
                                   wire.lengths.data(), wire.formats.data(), 0);
            p.commands = 1;
        }
        if (!ok || !PQpipelineSync(conn)) {
            broken = true;
            throw error(errc::connection_lost, "08006", trimmed(PQerrorMessage(conn)));
        }
    }

    void complete_front()
    {
        auto p = std::move(queue.front());
        queue.pop_front();
        p->done = true;
        if (p->wake) {
            p->wake->cancel();
        }
    }

    void fail_all(const std::string& message)
    {
        broken = true;
        auto failure =
            std::make_exception_ptr(error(errc::connection_lost, "08006", "connection lost: " + message));
        while (!queue.empty()) {
            if (!queue.front()->failure) {
                queue.front()->failure = failure;
            }
            complete_front();
        }
    }

    void on_result(PGresult* res)
    {
        pending& p = *queue.front();
        if (res == nullptr) {
            --p.commands;
            return;
        }
        switch (PQresultStatus(res)) {
        case PGRES_PIPELINE_SYNC: complete_front(); break;
        case PGRES_TUPLES_OK:
        case PGRES_SINGLE_TUPLE:
            if (p.commands == 1 && p.sink != nullptr && !p.failure) {
                try {
                    result_types.clear();
                    if (PQbinaryTuples(res) == 1) {
                        for (int c = 0, n = PQnfields(res); c < n; ++c) {
                            result_types.push_back(PQftype(res, c));
                        }
                    }
                    const int rows = PQntuples(res);
                    for (int r = 0; r < rows; ++r) {
                        p.sink->on_row(pg_row(res, r, result_types));
                    }
                } catch (...) {
                    p.failure = std::current_exception();
                }
            }
            p.rows_affected = parse_count(PQcmdTuples(res));
            if (allow_binary && p.commands == 1 && !p.prepared_name.empty() && wants_binary_results(res)) {
                if (auto it = prepared.find(p.prepared_sql); it != prepared.end()) {
                    it->second.binary_results = true;  // its first run told us the column types
                }
            }
            break;
        case PGRES_COMMAND_OK:
            if (p.commands == 1) {
                p.rows_affected = parse_count(PQcmdTuples(res));
            }
            break;
        case PGRES_FATAL_ERROR:
        case PGRES_BAD_RESPONSE:
            if (!p.failure) {
                p.failure = std::make_exception_ptr(error_from(res));
            }
            if (p.commands == 2 && !p.prepared_name.empty()) {
                prepared.erase(p.prepared_sql);  // the Parse failed: nothing to reuse
            }
            break;
        default: break;  // PGRES_PIPELINE_ABORTED: the segment's error is already recorded
        }
        PQclear(res);
    }

    // Reads what has arrived and hands out complete results. False once broken.
    bool drain()
    {
        if (!PQconsumeInput(conn)) {
            fail_all(trimmed(PQerrorMessage(conn)));
            return false;
        }
        while (!queue.empty() && !PQisBusy(conn)) {
            on_result(PQgetResult(conn));
        }
        if (PQstatus(conn) == CONNECTION_BAD) {
            fail_all(trimmed(PQerrorMessage(conn)));
            return false;
        }
        return true;
    }

    static task<void> pump(std::shared_ptr<core> self)
    {
        while (!self->queue.empty() && !self->broken) {
            const int flushed = PQflush(self->conn);
            if (flushed < 0) {
                self->fail_all(trimmed(PQerrorMessage(self->conn)));
                break;
            }
            if (!self->drain() || self->queue.empty()) {
                break;
            }
            const auto what = flushed == 1 ? asio::posix::stream_descriptor::wait_write
                                           : asio::posix::stream_descriptor::wait_read;
            auto [ec] = co_await self->socket.async_wait(what, net::nothrow);
            if (ec) {
                self->fail_all(ec.message());
                break;
            }
        }
        self->pumping = false;
    }

    PGconn* conn;
    asio::posix::stream_descriptor socket;
    std::deque<std::shared_ptr<pending>> queue;
    std::unordered_map<std::string, prepared_statement, string_hash, std::equal_to<>> prepared;
    binary_columns result_types;  // of the result being read (reused)
    unsigned next_name = 0;
    bool allow_binary = true;  // URL binary_results=off keeps every result in text
    bool pumping = false;
    bool broken = false;
};

class pg_connection final : public orm::connection {
public:
    explicit pg_connection(std::shared_ptr<core> c) noexcept : core_(std::move(c)) {}
    ~pg_connection() override
    {
        // Callers never drop a connection with statements in flight, but a
        // fire-and-forget ROLLBACK may still be queued: nothing waits for it.
        core_->queue.clear();
    }

    task<statement_result> run(std::string_view sql, std::span<const value> params, row_sink* sink) override
    {
        if (core_->broken) {
            throw error(errc::connection_lost, "08006", "connection lost");
        }
        auto ex = co_await asio::this_coro::executor;
        auto p = std::make_shared<pending>();
        p->sink = sink;
        p->wake = std::make_unique<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
        core_->send(sql, params, *p);
        core_->queue.push_back(p);
        if (!core_->pumping) {
            core_->pumping = true;
            asio::co_spawn(ex, core::pump(core_), asio::detached);
        }
        // co_spawn dispatches: the pump may already have run and even finished
        // this statement; a timer cancelled before the wait would not wake us.
        if (!p->done) {
            auto [ec] = co_await p->wake->async_wait(net::nothrow);
            (void)ec;
        }
        if (!p->done) {
            p->sink = nullptr;  // the caller was cancelled; the result is dropped when it arrives
            throw error(errc::timeout, "57014", "the statement was cancelled while waiting for its result");
        }
        if (p->failure) {
            std::rethrow_exception(p->failure);
        }
        co_return statement_result{p->rows_affected};
    }

    bool pipelined() const noexcept override { return true; }

    void abandon_transaction() noexcept override
    {
        if (core_->broken) {
            return;
        }
        try {
            // Sent now (locks are released as soon as the server reads it);
            // its result is read by whichever statement runs next.
            auto p = std::make_shared<pending>();
            core_->send("ROLLBACK", {}, *p);
            core_->queue.push_back(std::move(p));
            (void)PQflush(core_->conn);
        } catch (...) {
            core_->broken = true;
        }
    }

    bool healthy() const noexcept override
    {
        if (core_->broken || PQstatus(core_->conn) != CONNECTION_OK) {
            return false;
        }
        if (core_->queue.empty()) {
            // Idle: anything readable now is a server notice or the goodbye of
            // a server that is shutting down. Read it to know which.
            pollfd pfd{PQsocket(core_->conn), POLLIN, 0};
            if (::poll(&pfd, 1, 0) > 0) {
                if (!PQconsumeInput(core_->conn) || PQstatus(core_->conn) != CONNECTION_OK) {
                    core_->broken = true;
                    return false;
                }
                // A FATAL message is followed by EOF: look once more.
                if (::poll(&pfd, 1, 0) > 0 && !PQconsumeInput(core_->conn)) {
                    core_->broken = true;
                    return false;
                }
            }
        }
        return true;
    }

    std::string_view dialect() const noexcept override { return "postgresql"; }

private:
    std::shared_ptr<core> core_;
};

task<std::unique_ptr<orm::connection>> connect(orm::url u, orm::connect_options options)
{
    bool allow_binary = true;
    if (auto it = u.query.find("binary_results"); it != u.query.end()) {
        allow_binary = it->second != "off" && it->second != "false" && it->second != "0";
        u.query.erase(it);  // ours, not a libpq keyword
    }
    detail::pgconn_ptr c = co_await detail::open_connection(u, options);
    if (PQenterPipelineMode(c.get()) != 1) {
        throw error(errc::connection_lost, "08001", trimmed(PQerrorMessage(c.get())));
    }
    auto ex = co_await asio::this_coro::executor;
    auto shared = std::make_shared<core>(c.release(), ex);
    shared->allow_binary = allow_binary;
    co_return std::make_unique<pg_connection>(std::move(shared));
}

}  // namespace

namespace detail {

error error_from(const PGresult* res)
{
    const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const std::string sql_state = state != nullptr ? state : "";
    return error(orm::kind_of_sql_state(sql_state), sql_state, trimmed(PQresultErrorMessage(res)));
}

std::string trimmed(const char* message)
{
    std::string m = message != nullptr ? message : "";
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) {
        m.pop_back();
    }
    return m;
}

// Waits on libpq's socket without taking ownership of it.
struct borrowed_socket {
    borrowed_socket(const asio::any_io_executor& ex, int fd) : d(ex, fd) {}
    ~borrowed_socket() { (void)d.release(); }
    borrowed_socket(const borrowed_socket&) = delete;
    borrowed_socket& operator=(const borrowed_socket&) = delete;
    asio::posix::stream_descriptor d;
};

// Drives PQconnectPoll; returns "" when connected, else libpq's message.
task<std::string> poll_connect(PGconn* c)
{
    auto ex = co_await asio::this_coro::executor;
    PostgresPollingStatusType status = PGRES_POLLING_WRITING;
    std::string failure;
    for (;;) {
        if (status == PGRES_POLLING_OK) {
            break;
        }
        if (status == PGRES_POLLING_FAILED) {
            failure = trimmed(PQerrorMessage(c));
            break;
        }
        borrowed_socket s(ex, PQsocket(c));
        auto [ec] = co_await s.d.async_wait(status == PGRES_POLLING_READING
                                                ? asio::posix::stream_descriptor::wait_read
                                                : asio::posix::stream_descriptor::wait_write,
                                            net::nothrow);
        if (ec) {
            failure = ec.message();
            break;
        }
        status = PQconnectPoll(c);
    }
    co_return failure;
}

task<pgconn_ptr> open_connection(const orm::url& u, const orm::connect_options& options)
{
    std::vector<std::string> keys;
    std::vector<std::string> vals;
    auto add = [&](std::string k, const std::string& v) {
        if (!v.empty()) {
            keys.push_back(std::move(k));
            vals.push_back(v);
        }
    };
    add("host", u.host);
    add("port", u.port);
    add("user", u.user);
    add("password", u.password);
    add("dbname", u.database);
    for (const auto& [k, v] : u.query) {
        if (k != "host" && k != "port") {
            add(k, v);
        }
    }
    std::vector<const char*> kw;
    std::vector<const char*> vv;
    for (std::size_t i = 0; i < keys.size(); ++i) {
        kw.push_back(keys[i].c_str());
        vv.push_back(vals[i].c_str());
    }
    kw.push_back(nullptr);
    vv.push_back(nullptr);

    pgconn_ptr c(PQconnectStartParams(kw.data(), vv.data(), 0));
    if (c == nullptr) {
        throw error(errc::connection_lost, "08001", "libpq could not allocate a connection");
    }
    if (PQstatus(c.get()) == CONNECTION_BAD) {
        throw error(errc::connection_lost, "08001", trimmed(PQerrorMessage(c.get())));
    }
    auto op = poll_connect(c.get());
    auto outcome = co_await net::with_timeout(std::move(op), options.connect_timeout);
    if (!outcome || !outcome->empty()) {
        std::string m = outcome ? *outcome : std::string("connect timed out");
        const bool timed_out = !outcome;
        throw error(timed_out ? errc::timeout : errc::connection_lost, "08001", "cannot connect: " + m);
    }
    // Server notices (e.g. "table does not exist, skipping") are not errors: keep them off stderr.
    PQsetNoticeProcessor(
        c.get(), [](void*, const char*) {}, nullptr);
    if (PQsetnonblocking(c.get(), 1) != 0) {
        throw error(errc::connection_lost, "08001", trimmed(PQerrorMessage(c.get())));
    }
    co_return c;
}

}  // namespace detail

bool register_driver()
{
    static const bool done = [] {
        auto factory = [](const orm::url& u, const orm::connect_options& o) { return connect(u, o); };
        orm::register_driver("postgresql", factory);
        orm::register_driver("postgres", factory);
        return true;
    }();
    return done;
}

}  // namespace covet::postgres
