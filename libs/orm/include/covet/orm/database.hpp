#pragma once
// covet::orm::database: a connection pool over one URL and the query API.
//
//   auto db = covet::orm::database::open("sqlite:///var/app.db");
//   co_await db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, age INT)");
//   auto id   = co_await db.insert(user{.name = "ann", .age = 31});        // the new key
//   auto rows = co_await db.query<user>("SELECT * FROM users WHERE age > $1", 18);
//   std::optional<user> u = co_await db.find<user>(id);
//   auto tx = co_await db.begin();
//   co_await tx.execute("UPDATE users SET age = age + 1 WHERE id = $1", id);
//   co_await tx.commit();                         // dropped without commit: rolled back
//
// Lifetimes: arguments are copied into the call, but `sql` is a string_view
// and update() reads its model by reference:
// co_await the call in the same expression (string literals are always fine).
// A database must outlive its transactions and calls in progress.
// Errors: covet::orm::error (see error.hpp).

#include <covet/orm/driver.hpp>
#include <covet/orm/eager.hpp>
#include <covet/orm/error.hpp>
#include <covet/orm/model.hpp>
#include <covet/orm/query.hpp>
#include <covet/orm/relations.hpp>
#include <covet/orm/value.hpp>
#include <covet/pool/pool.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace covet::orm {

namespace detail {

template <class Row>
inline constexpr bool scalar_row = !json::reflected<Row>;

// Maps result rows into reflected structs by column name (or a scalar from
// column 0); the column-to-field table is built once per result.
template <class Row>
class mapper {
public:
    /// The columns are Row's columns in declaration order (SQL the ORM built
    /// from the model): no lookup by name, one direct read per column.
    void assume_positional() noexcept { positional_ = true; }

    /// True when r's columns are exactly Row's fields in declaration order
    /// (then assume_positional() maps them without names).
    template <class R>
    static bool in_order(const R& r)
    {
        if constexpr (scalar_row<Row>) {
            (void)r;
            return false;
        } else {
            if (r.size() != column_count<Row>) {
                return false;
            }
            for (std::size_t i = 0; i < column_count<Row>; ++i) {
                if (!field_named(i, r.name(i), std::make_index_sequence<column_count<Row>>{})) {
                    return false;
                }
            }
            return true;
        }
    }

    /// `r`: an orm::row or a direct_statement positioned on a row.
    template <class R>
    void map(const R& r, Row& out)
    {
        if constexpr (scalar_row<Row>) {
            read_column(r, 0, out);
        } else {
            if (positional_ && r.size() >= column_count<Row>) {
                read_in_order(r, out, std::make_index_sequence<column_count<Row>>{});
                return;
            }
            if (!ready_) {
                prepare(r);
            }
            for (std::size_t i = 0; i < columns_; ++i) {
                if (targets_[i] >= 0) {
                    setters<R>()[static_cast<std::size_t>(targets_[i])](r, i, out);
                }
            }
        }
    }

private:
    template <class R>
    using setter = void (*)(const R&, std::size_t, Row&);

    template <class R, std::size_t... I>
    static void read_in_order(const R& r, Row& out, std::index_sequence<I...>)
    {
        (read_column(r, I, out.*(std::get<I>(columns_of<Row>).member)), ...);
    }

    template <class R, std::size_t... I>
    static constexpr std::array<setter<R>, sizeof...(I)> make_setters(std::index_sequence<I...>)
    {
        return {{[](const R& r, std::size_t column, Row& o) {
            read_column(r, column, o.*(std::get<I>(columns_of<Row>).member));
        }...}};
    }
    template <class R>
    static const auto& setters()
    {
        static constexpr auto table = make_setters<R>(std::make_index_sequence<column_count<Row>>{});
        return table;
    }
    template <std::size_t... I>
    static int field_index(std::string_view name, std::index_sequence<I...>)
    {
        int found = -1;
        ((found < 0 && std::get<I>(columns_of<Row>).cpp_name == name ? (found = static_cast<int>(I)) : 0),
         ...);
        return found;
    }
    template <std::size_t... I>
    static bool field_named(std::size_t index, std::string_view name, std::index_sequence<I...>)
    {
        bool same = false;
        ((I == index ? (same = std::get<I>(columns_of<Row>).cpp_name == name) : false), ...);
        return same;
    }
    template <class R>
    void prepare(const R& r)
    {
        constexpr auto fields = std::make_index_sequence<column_count<Row>>{};
        // Columns beyond the table's capacity cannot name a field twice, so they are ignored.
        columns_ = std::min(r.size(), targets_.size());
        for (std::size_t i = 0; i < columns_; ++i) {
            const std::string_view name = r.name(i);
            // The usual case (SELECT of the model's columns in order) needs one comparison.
            targets_[i] = field_named(i, name, fields) ? static_cast<int>(i) : field_index(name, fields);
        }
        ready_ = true;
    }

    static constexpr std::size_t capacity()
    {
        if constexpr (scalar_row<Row>) {
            return 1;
        } else {
            return column_count<Row> + 8;
        }
    }
    std::array<int, capacity()> targets_{};
    std::size_t columns_ = 0;
    bool ready_ = false;
    bool positional_ = false;
};

template <class Row>
class vector_sink final : public row_sink {
public:
    explicit vector_sink(std::vector<Row>& out, bool positional = false) : out_(out)
    {
        if (positional) {
            mapper_.assume_positional();
        }
    }
    void on_row(const row& r) override { mapper_.map(r, out_.emplace_back()); }

private:
    std::vector<Row>& out_;
    mapper<Row> mapper_;
};

template <class Row>
class first_sink final : public row_sink {
public:
    explicit first_sink(std::optional<Row>& out, bool positional = false) : out_(out)
    {
        if (positional) {
            mapper_.assume_positional();
        }
    }
    void on_row(const row& r) override
    {
        if (!out_) {
            mapper_.map(r, out_.emplace());
        }
    }
    bool satisfied() const noexcept override { return out_.has_value(); }

private:
    std::optional<Row>& out_;
    mapper<Row> mapper_;
};

template <model T>
bool key_is_auto(const T& obj)
{
    using K = typename std::decay_t<decltype(model_of<T>)>::key_type;
    if constexpr (std::is_integral_v<K>) {
        return obj.*(model_of<T>.key) == 0;
    } else {
        return false;
    }
}

// The cached SQL texts of a model (built once per type).
template <model T>
struct model_sql {
    static const std::string& select_by_key()
    {
        static const std::string sql = build_select_by_key();
        return sql;
    }
    // Built once, cold and out of line: the accessor stays a guard check that inlines.
    [[gnu::cold, gnu::noinline]] static std::string build_select_by_key()
    {
        std::string s = "SELECT ";
        append_all_columns<T>(s, false);
        s += " FROM ";
        append_identifier(s, model_of<T>.table);
        s += " WHERE ";
        append_identifier(s, model_of<T>.key_name);
        s += " = $1";
        return s;
    }
    static const std::string& remove_by_key()
    {
        static const std::string sql = build_remove_by_key();
        return sql;
    }
    // Built once, cold and out of line: the accessor stays a guard check that inlines.
    [[gnu::cold, gnu::noinline]] static std::string build_remove_by_key()
    {
        std::string s = "DELETE FROM ";
        append_identifier(s, model_of<T>.table);
        s += " WHERE ";
        append_identifier(s, model_of<T>.key_name);
        s += " = $1";
        return s;
    }
    // INSERT ... VALUES (...), ... RETURNING key, for `rows` rows.
    static std::string insert(bool with_key, std::size_t rows, bool returning = true)
    {
        std::string s = "INSERT INTO ";
        append_identifier(s, model_of<T>.table);
        s += " (";
        std::size_t per_row = 0;
        for (const std::string_view name : column_names<T>) {
            if (!with_key && name == model_of<T>.key_name) {
                continue;
            }
            s += per_row == 0 ? "" : ", ";
            append_identifier(s, name);
            ++per_row;
        }
        s += ") VALUES ";
        std::size_t n = 1;
        for (std::size_t r = 0; r < rows; ++r) {
            s += r == 0 ? "(" : ", (";
            for (std::size_t i = 0; i < per_row; ++i) {
                s += i == 0 ? "$" : ", $";
                s += std::to_string(n++);
            }
            s += ')';
        }
        if (returning) {
            s += " RETURNING ";
            append_identifier(s, model_of<T>.key_name);
        }
        return s;
    }
    static const std::string& insert_one(bool with_key, bool returning)
    {
        static const std::string with = insert(true, 1, true);
        static const std::string without = insert(false, 1, true);
        static const std::string with_plain = insert(true, 1, false);
        static const std::string without_plain = insert(false, 1, false);
        if (returning) {
            return with_key ? with : without;
        }
        return with_key ? with_plain : without_plain;
    }
    static const std::string& update_by_key()
    {
        static const std::string sql = build_update_by_key();
        return sql;
    }
    // Built once, cold and out of line: the accessor stays a guard check that inlines.
    [[gnu::cold, gnu::noinline]] static std::string build_update_by_key()
    {
        std::string s = "UPDATE ";
        append_identifier(s, model_of<T>.table);
        s += " SET ";
        std::size_t n = 1;
        for (const std::string_view name : column_names<T>) {
            if (name == model_of<T>.key_name) {
                continue;
            }
            s += n == 1 ? "" : ", ";
            append_identifier(s, name);
            s += " = $";
            s += std::to_string(n++);
        }
        s += " WHERE ";
        append_identifier(s, model_of<T>.key_name);
        s += " = $";
        s += std::to_string(n);
        return s;
    }
};

// The position of T's key among its columns (found at compile time).
template <model T>
inline constexpr std::size_t key_column = [] {
    std::size_t found = column_count<T>;
    std::size_t i = 0;
    std::apply(
        [&](const auto&... f) {
            ((found = found == column_count<T> && f.cpp_name == model_of<T>.key_name ? i : found, ++i), ...);
        },
        columns_of<T>);
    return found;
}();

template <model T, class F, std::size_t... I>
void for_each_bound_field_in(const T& obj, bool skip_key, F& f, std::index_sequence<I...>)
{
    (
        [&] {
            if (!(I == key_column<T> && skip_key)) {
                f(obj.*(std::get<I>(columns_of<T>).member));
            }
        }(),
        ...);
}

// Calls f with each of T's column values in parameter order: the key in
// place, last or skipped.
template <model T, class F>
void for_each_bound_field(const T& obj, bool with_key, bool key_last, F&& f)
{
    for_each_bound_field_in(obj, !with_key || key_last, f, std::make_index_sequence<column_count<T>>{});
    if (key_last) {
        f(obj.*(model_of<T>.key));
    }
}

// Appends T's column values (views into obj), the key in place, last or skipped.
template <model T, class Out>
void append_values(const T& obj, bool with_key, bool key_last, Out& out)
{
    for_each_bound_field(obj, with_key, key_last, [&](const auto& v) { out.push_back(to_value_view(v)); });
}

// The typed path (direct_statement): parameters bound from the C++ values,
// columns read into the fields, no value/row objects in between.
// (The model's own SQL: its placeholders are exactly these fields.)
template <model T>
void bind_fields(direct_statement& st, const T& obj, bool with_key, bool key_last)
{
    int index = 0;
    for_each_bound_field(obj, with_key, key_last, [&](const auto& v) { st.bind_any(++index, v); });
}

template <class... Args>
void bind_arguments(direct_statement& st, const Args&... args)
{
    st.expect_parameters(sizeof...(Args));
    int index = 0;
    (st.bind_any(++index, args), ...);
}

// Steps a statement to its end (writes).
inline void run_to_end(direct_statement& st)
{
    while (st.step()) {
    }
}

template <class Row>
inline constexpr char row_type_tag = 0;

// Whether the columns of st (on its first row) are Row's fields in order:
// looked up by name once per cached statement, then remembered with it.
template <class Row>
bool columns_in_order(direct_statement& st)
{
    if constexpr (scalar_row<Row>) {
        (void)st;
        return false;
    } else {
        const int known = st.learned_in_order(&row_type_tag<Row>);
        if (known >= 0) {
            return known > 0;
        }
        const bool in_order = mapper<Row>::in_order(st);
        st.learn_in_order(&row_type_tag<Row>, in_order);
        return in_order;
    }
}

// `positional`: the SQL selects Row's columns in order (else learned, see columns_in_order).
template <class Row>
void read_all(direct_statement& st, std::vector<Row>& out, bool positional)
{
    if (!st.step()) {
        return;
    }
    mapper<Row> m;
    if (positional || columns_in_order<Row>(st)) {
        m.assume_positional();
    }
    do {
        m.map(st, out.emplace_back());
    } while (st.step());
}

// The first row; `select`: a SELECT, which stops there (a write runs to its end).
template <class Row>
void read_first(direct_statement& st, std::optional<Row>& out, bool positional, bool select)
{
    if (!st.step()) {
        return;
    }
    mapper<Row> m;
    if (positional || columns_in_order<Row>(st)) {
        m.assume_positional();
    }
    m.map(st, out.emplace());
    if (!select && !st.read_only()) {
        run_to_end(st);
    }
}

// Argument `index` of `args` bound at `position`.
template <class... Args>
void bind_argument(direct_statement& st, int position, std::size_t index, const Args&... args)
{
    std::size_t i = 0;
    ((i++ == index ? st.bind_any(position, args) : void()), ...);
}

// Up to N parameters without a heap allocation.
template <std::size_t N>
struct fixed_params {
    std::array<value, N> values{};
    std::size_t size = 0;
    void push_back(value v) { values[size++] = std::move(v); }
    std::span<const value> view() const noexcept { return {values.data(), size}; }
};

// Parameters of a size known at run time, inline up to 4 (a coroutine frame
// stays within what Asio recycles per thread), on the heap beyond.
class small_params {
public:
    explicit small_params(std::size_t n) : size_(n)
    {
        if (n > inline_.size()) {
            heap_.resize(n);
        }
    }
    std::span<value> view() noexcept
    {
        return {size_ > inline_.size() ? heap_.data() : inline_.data(), size_};
    }

private:
    std::array<value, 4> inline_{};
    std::vector<value> heap_;
    std::size_t size_;
};

template <class... Args>
std::array<value, sizeof...(Args)> bind_all(const Args&... args)
{
    return {{to_value_view(args)...}};
}

}  // namespace detail

enum class isolation { default_level, read_uncommitted, read_committed, repeatable_read, serializable };

class transaction;
struct stream_source;
template <class Row>
class row_stream;

/// The query API shared by database (one pooled connection per call) and
/// transaction (its own connection).
class session {
public:
    /// Runs `sql` ($1..$N placeholders) and returns the rows affected.
    template <class... Args>
    requires(bindable<Args>&&...) task<std::uint64_t> execute(std::string_view sql, Args... args)
    {
        auto typed = [&](direct_statement& st) {
            detail::bind_arguments(st, args...);
            detail::run_to_end(st);
        };
        statement_result done;
        if (!run_direct(sql, direct_body(typed), done)) {
            auto params = detail::bind_all(args...);
            if (!run_now(sql, params, nullptr, done)) {
                done = co_await run_statement(sql, params, nullptr);
            }
        }
        co_return done.rows_affected;
    }

    /// All rows, each mapped into Row (a reflected struct by column name, or a
    /// scalar from the first column).
    template <class Row, class... Args>
    requires(bindable<Args>&&...) task<std::vector<Row>> query(std::string_view sql, Args... args)
    {
        std::vector<Row> rows;
        auto typed = [&](direct_statement& st) {
            detail::bind_arguments(st, args...);
            detail::read_all(st, rows, false);
        };
        statement_result done;
        if (!run_direct(sql, direct_body(typed), done)) {
            auto params = detail::bind_all(args...);
            detail::vector_sink<Row> sink(rows);
            if (!run_now(sql, params, &sink, done)) {
                co_await run_statement(sql, params, &sink);
            }
        }
        co_return rows;
    }

    /// The first row, or nullopt.
    template <class Row, class... Args>
    requires(bindable<Args>&&...) task<std::optional<Row>> query_one(std::string_view sql, Args... args)
    {
        std::optional<Row> first;
        auto typed = [&](direct_statement& st) {
            detail::bind_arguments(st, args...);
            detail::read_first(st, first, false, false);
        };
        statement_result done;
        if (!run_direct(sql, direct_body(typed), done)) {
            auto params = detail::bind_all(args...);
            detail::first_sink<Row> sink(first);
            if (!run_now(sql, params, &sink, done)) {
                co_await run_statement(sql, params, &sink);
            }
        }
        co_return first;
    }

    /// Runs a built statement (query builder) into rows of Row.
    template <class Row>
    task<std::vector<Row>> fetch(statement st)
    {
        return fetch_rows<Row>(std::move(st), false);
    }
    template <class Row, model T>
    task<std::vector<Row>> fetch(const select_query<T>& q)
    {
        return fetch<Row>(q.build());
    }
    /// Runs a prepared query with `args` for its arg(0), arg(1), ...
    /// (`q` must outlive the call: co_await it in the same expression or keep q).
    template <class Row, class... Args>
    requires(bindable<Args>&&...) task<std::vector<Row>> fetch(const prepared_query<Row>& q, Args... args)
    {
        q.check_arguments(sizeof...(Args));
        std::vector<Row> rows;
        auto typed = [&](direct_statement& st) {
            const auto& stored = q.parameters();
            st.expect_parameters(stored.size());
            for (std::size_t i = 0; i < stored.size(); ++i) {
                const int position = static_cast<int>(i + 1);
                const std::size_t index = detail::argument_index(stored[i]);
                if (index < detail::max_arguments) {
                    detail::bind_argument(st, position, index, args...);
                } else {
                    st.bind_value(position, stored[i]);
                }
            }
            detail::read_all(st, rows, q.positional());
        };
        statement_result done;
        if (!run_direct(q.sql(), direct_body(typed), done)) {
            const std::array<value, sizeof...(Args)> given{to_value_view(args)...};
            detail::small_params params(q.parameter_count());
            q.bind(params.view(), given);
            detail::vector_sink<Row> sink(rows, q.positional());
            if (!run_now(q.sql(), params.view(), &sink, done)) {
                co_await run_statement(q.sql(), params.view(), &sink);
            }
        }
        co_return rows;
    }
    /// The rows of `q`, with the relations named by q.with(...) loaded.
    template <model T>
    task<std::vector<T>> all(const select_query<T>& q)
    {
        if (q.eager().empty()) {
            return fetch_rows<T>(q.build(), q.selects_model_columns());
        }
        return fetch_eager<T>(q.build(), q.eager(), q.selects_model_columns());
    }
    template <model T>
    task<std::optional<T>> first(select_query<T> q)
    {
        q.limit(1);
        auto rows = co_await all(q);
        std::optional<T> out;
        if (!rows.empty()) {
            out.emplace(std::move(rows.front()));
        }
        co_return out;
    }
    /// COUNT(*) of the query's rows.
    template <model T>
    task<std::int64_t> count(const select_query<T>& q)
    {
        auto one = co_await scalar<std::int64_t>(q.build_with("COUNT(*)"));
        co_return one.value_or(0);
    }
    /// SUM/AVG/MIN/MAX and friends: the first column of the first row
    /// (nullopt for NULL, e.g. SUM over no rows).
    template <class V, model T>
    task<std::optional<V>> aggregate(const select_query<T>& q, selection what)
    {
        return scalar<V>(q.build_with(what.sql, what.params));
    }

    /// The row with primary key `key`, or nullopt.
    template <model T, class K>
    [[gnu::hot]] task<std::optional<T>> find(K key)
    {
        std::optional<T> found;
        const std::string& sql = detail::model_sql<T>::select_by_key();
        auto typed = [&](direct_statement& st) {
            st.bind_any(1, key);  // the model's SQL has this one placeholder
            detail::read_first(st, found, true, true);
        };
        statement_result done;
        if (!run_direct(sql, direct_body(typed, true), done)) {
            co_await find_by_values<T>(key, found);
        }
        co_return found;
    }
    /// The row with primary key `key`; throws error(not_found) when missing.
    template <model T, class K>
    task<T> get(K key)
    {
        auto found = co_await find<T>(key);
        if (!found) {
            throw error(errc::not_found, "02000", std::string("no row in ") + std::string(model_of<T>.table));
        }
        co_return std::move(*found);
    }

    /// Inserts `obj` and returns its primary key (the database's when the
    /// integral key is 0).
    template <model T>
    task<typename std::decay_t<decltype(model_of<T>)>::key_type> insert(const T& obj)
    {
        // Not a coroutine itself: the object is copied into insert_copy's frame here,
        // before the caller suspends (so a temporary argument is never needed later).
        return insert_copy<T>(obj);
    }
    template <model T>
    task<typename std::decay_t<decltype(model_of<T>)>::key_type> insert_copy(T obj)
    {
        using K = typename std::decay_t<decltype(model_of<T>)>::key_type;
        const bool with_key = !detail::key_is_auto(obj);
        std::optional<K> key;
        if (dialect() == "sqlite") {
            const std::string& sql = detail::model_sql<T>::insert_one(with_key, false);
            auto typed = [&](direct_statement& st) {
                detail::bind_fields(st, obj, with_key, false);
                detail::run_to_end(st);
            };
            statement_result done;
            if (!run_direct(sql, direct_body(typed, true), done)) {
                detail::fixed_params<column_count<T>> params;
                detail::append_values(obj, with_key, false, params);
                if (!run_now(sql, params.view(), nullptr, done)) {
                    done = co_await run_statement(sql, params.view(), nullptr);
                }
            }
            if (with_key) {
                key = obj.*(model_of<T>.key);
            } else if constexpr (std::is_integral_v<K>) {
                key = static_cast<K>(done.last_insert_id);
            }
        } else {
            detail::fixed_params<column_count<T>> params;
            detail::append_values(obj, with_key, false, params);
            detail::first_sink<K> sink(key);
            co_await run_statement(detail::model_sql<T>::insert_one(with_key, true), params.view(), &sink);
        }
        if (!key) {
            throw error(errc::query_error, "", "insert returned no key");
        }
        co_return *key;
    }

    /// Inserts every row in as few statements as the parameter limits allow.
    /// Returns the number of rows inserted. Not atomic by itself: run it in
    /// a transaction for all-or-nothing.
    template <model T>
    task<std::uint64_t> insert_all(std::vector<T> objs)
    {
        std::uint64_t inserted = 0;
        std::size_t i = 0;
        while (i < objs.size()) {
            const bool with_key = !detail::key_is_auto(objs[i]);
            // A run of rows that agree on with_key, at most 30000 parameters.
            std::size_t end = i;
            const std::size_t max_rows = std::max<std::size_t>(1, 30'000 / column_count<T>);
            while (end < objs.size() && end - i < max_rows && !detail::key_is_auto(objs[end]) == with_key) {
                ++end;
            }
            std::vector<value> params;
            params.reserve((end - i) * column_count<T>);
            for (std::size_t r = i; r < end; ++r) {
                detail::append_values(objs[r], with_key, false, params);
            }
            const std::string sql = detail::model_sql<T>::insert(with_key, end - i, false);
            auto done = co_await run_statement(sql, params, nullptr);
            inserted += done.rows_affected > 0 ? done.rows_affected : end - i;
            i = end;
        }
        co_return inserted;
    }

    /// Updates every column of the row with obj's key; returns rows affected (0 or 1).
    /// `obj` is read by reference when the call runs (no copy): co_await the
    /// call in the same expression, as for `sql` (a temporary is fine then).
    template <model T>
    [[gnu::hot]] task<std::uint64_t> update(const T& obj)
    {
        const std::string& sql = detail::model_sql<T>::update_by_key();
        auto typed = [&](direct_statement& st) {
            detail::bind_fields(st, obj, true, true);
            detail::run_to_end(st);
        };
        statement_result done;
        std::uint64_t changed = 0;
        if (run_direct(sql, direct_body(typed, true), done)) {
            changed = done.rows_affected;
        } else {
            changed = co_await update_by_values(obj);
        }
        co_return changed;
    }

    /// Deletes the row with primary key `key`; returns rows affected.
    template <model T, class K>
    [[gnu::hot]] task<std::uint64_t> remove(K key)
    {
        const std::string& sql = detail::model_sql<T>::remove_by_key();
        auto typed = [&](direct_statement& st) {
            st.bind_any(1, key);
            detail::run_to_end(st);
        };
        statement_result done;
        std::uint64_t changed = 0;
        if (run_direct(sql, direct_body(typed, true), done)) {
            changed = done.rows_affected;
        } else {
            changed = co_await remove_by_values<T>(key);
        }
        co_return changed;
    }

    /// Deletes the rows matching `condition`; returns rows affected.
    template <model T>
    task<std::uint64_t> remove_where(expr condition)
    {
        std::string sql = "DELETE FROM ";
        append_identifier(sql, model_of<T>.table);
        sql += " WHERE ";
        sql += condition.sql;
        sql = detail::number_params(sql);
        auto done = co_await run_statement(sql, condition.params, nullptr);
        co_return done.rows_affected;
    }

    /// Inserts obj when its integral key is 0 (or no row has its key),
    /// updates it otherwise; returns the key.
    template <model T>
    task<typename std::decay_t<decltype(model_of<T>)>::key_type> save(T obj)
    {
        using K = typename std::decay_t<decltype(model_of<T>)>::key_type;
        K key{};
        bool done = false;
        if (!detail::key_is_auto(obj)) {
            auto changed = co_await update(obj);
            if (changed > 0) {
                key = obj.*(model_of<T>.key);
                done = true;
            }
        }
        if (!done) {
            key = co_await insert(std::move(obj));
        }
        co_return key;
    }

    /// Loads the relations `members` (declared with COVET_RELATIONS) of every
    /// parent with one statement per relation for the whole list, and
    /// returns the parents: `posts = co_await db.load_related(std::move(posts), &post::author);`
    template <model T, class... M>
    task<std::vector<T>> load_related(std::vector<T> parents, M T::*... members)
    {
        static_assert(has_relations<T>, "load_related(): declare the model's relations with COVET_RELATIONS");
        static_assert((detail::has_relation_member<T, M>() && ...),
                      "load_related(): the member is not a relation declared in COVET_RELATIONS");
        const std::array<std::size_t, sizeof...(M)> which{detail::relation_index(members)...};
        for (const std::size_t index : which) {
            co_await load_relation_at<T>(parents, index);
        }
        co_return parents;
    }
    /// The same for one parent.
    template <model T, class... M>
    task<T> load_related(T parent, M T::*... members)
    {
        std::vector<T> one;
        one.push_back(std::move(parent));
        auto loaded = co_await load_related(std::move(one), members...);
        co_return std::move(loaded.front());
    }

    /// The SQL dialect of the connections ("sqlite", "postgresql").
    virtual std::string_view dialect() const noexcept = 0;

    /// The primitive every call above goes through.
    virtual task<statement_result> run_statement(std::string_view sql, std::span<const value> params,
                                                 row_sink* sink) = 0;

    /// Runs the statement at once when its connection never blocks (SQLite
    /// in memory) and returns true; false: co_await run_statement instead.
    /// Saves the coroutine frame of run_statement on the fast path.
    virtual bool run_now(std::string_view sql, std::span<const value> params, row_sink* sink,
                         statement_result& out)
    {
        (void)sql;
        (void)params;
        (void)sink;
        (void)out;
        return false;
    }

    /// The typed path: when the connection lends its statements (SQLite run
    /// inline), runs `sql` through `body` (binding from C++ values, reading
    /// into fields) and returns true; false: use run_now / run_statement.
    virtual bool run_direct(std::string_view sql, const direct_body& body, statement_result& out)
    {
        (void)sql;
        (void)body;
        (void)out;
        return false;
    }

protected:
    // The value paths of find, update and remove (PostgreSQL, offloaded SQLite
    // files): coroutines of their own, cold and out of line, so that their
    // parameters, sinks and awaits stay out of the typed calls' frames and code.
    template <model T, class K>
    [[gnu::cold, gnu::noinline]] task<void> find_by_values(K key, std::optional<T>& found)
    {
        const std::string& sql = detail::model_sql<T>::select_by_key();
        std::array<value, 1> params{to_value_view(key)};
        detail::first_sink<T> sink(found, true);
        statement_result done;
        if (!run_now(sql, params, &sink, done)) {
            co_await run_statement(sql, params, &sink);
        }
    }
    template <model T>
    [[gnu::cold, gnu::noinline]] task<std::uint64_t> update_by_values(const T& obj)
    {
        const std::string& sql = detail::model_sql<T>::update_by_key();
        detail::fixed_params<column_count<T>> params;
        detail::append_values(obj, true, true, params);
        statement_result done;
        if (!run_now(sql, params.view(), nullptr, done)) {
            done = co_await run_statement(sql, params.view(), nullptr);
        }
        co_return done.rows_affected;
    }
    template <model T, class K>
    [[gnu::cold, gnu::noinline]] task<std::uint64_t> remove_by_values(K key)
    {
        const std::string& sql = detail::model_sql<T>::remove_by_key();
        std::array<value, 1> params{to_value_view(key)};
        statement_result done;
        if (!run_now(sql, params, nullptr, done)) {
            done = co_await run_statement(sql, params, nullptr);
        }
        co_return done.rows_affected;
    }

    // `positional`: the statement selects Row's columns in declaration order.
    template <class Row>
    task<std::vector<Row>> fetch_rows(statement st, bool positional)
    {
        std::vector<Row> rows;
        auto typed = [&](direct_statement& lent) {
            detail::bind_values(lent, st.params);
            detail::read_all(lent, rows, positional);
        };
        statement_result done;
        if (!run_direct(st.sql, direct_body(typed), done)) {
            detail::vector_sink<Row> sink(rows, positional);
            if (!run_now(st.sql, st.params, &sink, done)) {
                co_await run_statement(st.sql, st.params, &sink);
            }
        }
        co_return rows;
    }

    template <model T>
    task<std::vector<T>> fetch_eager(statement st, std::vector<std::size_t> which, bool positional)
    {
        auto rows = co_await fetch_rows<T>(std::move(st), positional);
        if constexpr (has_relations<T>) {
            for (const std::size_t index : which) {
                co_await load_relation_at<T>(rows, index);
            }
        }
        co_return rows;
    }

    // Relation number `index` of T (not a coroutine: picks the loader).
    template <model T, std::size_t I = 0>
    task<void> load_relation_at(std::vector<T>& parents, std::size_t index)
    {
        if constexpr (I + 1 < detail::relation_count<T>) {
            if (index != I) {
                return load_relation_at<T, I + 1>(parents, index);
            }
        }
        return load_relation(parents, std::get<I>(relations_of<T>));
    }

    // The rows of Row whose `column` is one of `keys` (sorted, distinct), appended to `out`.
    template <model Row, class K>
    task<void> fetch_by_keys(std::string_view column, const std::vector<K>& keys, std::vector<Row>& out)
    {
        const std::size_t per_statement = dialect() == "postgresql" && detail::array_key<K>
                                              ? std::max<std::size_t>(keys.size(), 1)
                                              : detail::max_keys_per_statement;
        for (std::size_t first = 0; first < keys.size(); first += per_statement) {
            const std::size_t count = std::min(per_statement, keys.size() - first);
            const statement st = detail::select_where_in<Row>(column, keys, first, count, dialect());
            detail::vector_sink<Row> sink(out, true);
            co_await run_statement(st.sql, st.params, &sink);
        }
    }

    template <model P, model U, class FK>
    task<void> load_relation(std::vector<P>& parents, belongs_to_relation<P, U, FK> rel)
    {
        using K = detail::key_of_t<U>;
        std::vector<K> keys;
        keys.reserve(parents.size());
        for (auto& p : parents) {
            (p.*rel.member).reset();
            if (auto k = detail::key_value<K>(p.*rel.foreign_key)) {
                keys.push_back(std::move(*k));
            }
        }
        detail::sort_unique(keys);
        std::vector<U> found;
        co_await fetch_by_keys<U>(model_of<U>.key_name, keys, found);
        detail::key_index<K> by_key;
        for (std::size_t i = 0; i < found.size(); ++i) {
            by_key.add(found[i].*(model_of<U>.key), i);
        }
        by_key.finish();
        for (auto& p : parents) {
            if (auto k = detail::key_value<K>(p.*rel.foreign_key)) {
                by_key.for_each(*k, [&](std::size_t i) { p.*rel.member = found[i]; });
            }
        }
    }

    // has-many and has-one: children whose foreign key is a parent's primary key.
    template <model P, model C, class FK, class Member>
    task<void> load_children(std::vector<P>& parents, Member P::*member, FK C::*foreign_key)
    {
        using K = detail::key_of_t<P>;
        std::vector<K> keys;
        keys.reserve(parents.size());
        detail::key_index<K> by_key;
        for (std::size_t i = 0; i < parents.size(); ++i) {
            parents[i].*member = Member{};
            keys.push_back(parents[i].*(model_of<P>.key));
            by_key.add(parents[i].*(model_of<P>.key), i);
        }
        detail::sort_unique(keys);
        by_key.finish();
        std::vector<C> children;
        co_await fetch_by_keys<C>(column_name<C>(foreign_key), keys, children);
        for (auto& child : children) {
            if (auto k = detail::key_value<K>(child.*foreign_key)) {
                by_key.for_each(*k, [&](std::size_t i) {
                    if constexpr (detail::is_optional_v<Member>) {
                        if (!(parents[i].*member)) {
                            parents[i].*member = child;  // the lowest primary key: rows come in key order
                        }
                    } else {
                        (parents[i].*member).push_back(child);
                    }
                });
            }
        }
    }
    template <model P, model C, class FK>
    task<void> load_relation(std::vector<P>& parents, has_many_relation<P, C, FK> rel)
    {
        return load_children<P, C>(parents, rel.member, rel.foreign_key);
    }
    template <model P, model C, class FK>
    task<void> load_relation(std::vector<P>& parents, has_one_relation<P, C, FK> rel)
    {
        return load_children<P, C>(parents, rel.member, rel.foreign_key);
    }

    session() = default;
    ~session() = default;
    session(const session&) = default;
    session& operator=(const session&) = default;

    template <class V>
    task<std::optional<V>> scalar(statement st)
    {
        std::optional<std::optional<V>> first;
        auto typed = [&](direct_statement& lent) {
            detail::bind_values(lent, st.params);
            detail::read_first(lent, first, false, true);
        };
        statement_result done;
        if (!run_direct(st.sql, direct_body(typed), done)) {
            detail::first_sink<std::optional<V>> sink(first);
            co_await run_statement(st.sql, st.params, &sink);
        }
        std::optional<V> out;
        if (first && *first) {
            out = std::move(**first);
        }
        co_return out;
    }
};

struct database_options {
    /// Connections in the pool (SQLite in memory always uses one: every
    /// connection to :memory: would be a different database).
    std::size_t max_connections = 8;
    std::size_t min_connections = 0;
    std::chrono::milliseconds acquire_timeout{5'000};
    std::chrono::milliseconds idle_timeout{std::chrono::minutes(10)};
    std::chrono::milliseconds max_lifetime{0};
    /// shared: usable from every runtime worker (a mutex, uncontended: ~5 ns).
    /// per_thread: no lock, one thread (e.g. one database per worker).
    pool::mode pool_mode = pool::mode::shared;
    connect_options connect{};
    /// Called with the SQL of every statement this database (and its
    /// transactions) runs, before it runs: logging, tracing, counting.
    std::function<void(std::string_view sql)> on_statement;
};

class database final : public session {
public:
    using connection_pool = pool::pool<std::unique_ptr<connection>>;

    /// Opens a database for `url` (connections are made on first use).
    /// Throws error(invalid_argument) for a bad URL or unknown driver.
    static database open(std::string_view url, database_options options = {});

    database(database&&) noexcept;
    database& operator=(database&&) noexcept;
    ~database();

    /// Starts a transaction on a connection of its own.
    task<transaction> begin(isolation level = isolation::default_level);

    /// The rows of `sql` read a batch at a time (bounded memory), on a
    /// connection of the stream's own until the last row or until the stream
    /// is dropped:
    ///   auto rows = co_await db.stream<user>("SELECT * FROM users WHERE age > $1", 18);
    ///   while (auto u = co_await rows.next()) { ... }
    /// SQLite steps its statement; PostgreSQL declares a server-side cursor in
    /// a transaction and FETCHes batch by batch.
    template <class Row, class... Args>
    requires(bindable<Args>&&...) task<row_stream<Row>> stream(std::string_view sql, Args... args);
    /// The rows of a built query, streamed.
    template <model T>
    task<row_stream<T>> stream(const select_query<T>& q);

    /// Runs `body(tx)` (a coroutine taking transaction&) in a transaction and
    /// commits; on error(serialization_failure) (PostgreSQL 40001/40P01) it
    /// rolls back and runs the whole body again, up to `retries` more times.
    /// Other exceptions roll back and propagate. Returns the body's value.
    template <class Body>
    auto transact(Body body, isolation level = isolation::serializable, int retries = 3)
        -> task<typename std::invoke_result_t<Body&, transaction&>::value_type>;

    std::string_view dialect() const noexcept override;
    task<statement_result> run_statement(std::string_view sql, std::span<const value> params,
                                         row_sink* sink) override;
    bool run_now(std::string_view sql, std::span<const value> params, row_sink* sink,
                 statement_result& out) override;
    bool run_direct(std::string_view sql, const direct_body& body, statement_result& out) override;

    /// Pool counters (connections in use, idle, waiting, timeouts, ...).
    pool::metrics pool_stats() const;
    /// Closes the pool: new calls fail with error(shutting_down).
    void close();

    struct state;

private:
    explicit database(std::unique_ptr<state> s) noexcept;
    task<std::unique_ptr<stream_source>> open_stream(std::string sql, std::vector<value> params);
    std::unique_ptr<state> state_;
};

/// A transaction holding one connection. Dropped (destroyed, or by an
/// exception) without commit(): rolled back. Savepoints nest inside.
class transaction final : public session {
public:
    transaction() = default;
    transaction(transaction&&) noexcept = default;
    transaction& operator=(transaction&& other) noexcept;
    ~transaction();

    task<void> commit();
    task<void> rollback();
    /// SAVEPOINT; returns its name for release_savepoint / rollback_to.
    task<std::string> savepoint();
    task<void> release_savepoint(std::string name);
    task<void> rollback_to(std::string name);

    bool active() const noexcept { return static_cast<bool>(conn_) && !finished_; }

    std::string_view dialect() const noexcept override;
    task<statement_result> run_statement(std::string_view sql, std::span<const value> params,
                                         row_sink* sink) override;
    bool run_now(std::string_view sql, std::span<const value> params, row_sink* sink,
                 statement_result& out) override;
    bool run_direct(std::string_view sql, const direct_body& body, statement_result& out) override;

private:
    friend class database;
    transaction(database::connection_pool::handle h,
                const std::function<void(std::string_view)>* hook) noexcept
        : conn_(std::move(h)), on_statement_(hook)
    {
    }
    void abandon() noexcept;

    database::connection_pool::handle conn_;
    const std::function<void(std::string_view)>* on_statement_ = nullptr;
    bool finished_ = false;
    unsigned savepoints_ = 0;
};

/// The untyped part of a row_stream: its connection, statement and cursor
/// (the cursor refers to the statement and parameters, so it goes first).
struct stream_source {
    database::connection_pool::handle conn;
    std::string sql;
    std::vector<value> params;
    std::unique_ptr<cursor> rows;
    bool finished = false;

    /// Up to `max_rows` rows to `sink`; false at the end. At the end or on an
    /// error the cursor is closed and the connection goes back to the pool.
    task<bool> fetch(row_sink& sink, std::size_t max_rows);
};

/// Rows of one statement, read a batch at a time: at most batch_rows() rows
/// are in memory at once. Dropping the stream early abandons the statement
/// and returns its connection (usable) to the pool. Errors in the middle of
/// the rows are thrown by next() / next_batch().
template <class Row>
class row_stream {
public:
    explicit row_stream(std::unique_ptr<stream_source> source) noexcept : source_(std::move(source)) {}

    /// Rows per batch (default 256); set before reading, or between batches.
    void set_batch_rows(std::size_t n) noexcept { batch_rows_ = std::max<std::size_t>(1, n); }
    std::size_t batch_rows() const noexcept { return batch_rows_; }

    /// The next row, or nullopt after the last one.
    task<std::optional<Row>> next()
    {
        if (position_ == buffer_.size()) {
            buffer_ = co_await next_batch();
            position_ = 0;
        }
        std::optional<Row> out;
        if (position_ < buffer_.size()) {
            out.emplace(std::move(buffer_[position_++]));
        }
        co_return out;
    }

    /// The next batch (at most batch_rows() rows); empty after the last one.
    task<std::vector<Row>> next_batch()
    {
        std::vector<Row> rows;
        if (source_ && !source_->finished) {
            batch_sink sink(rows, mapper_);
            co_await source_->fetch(sink, batch_rows_);
        }
        co_return rows;
    }

    /// Stops reading: the connection goes back to the pool now.
    void close() noexcept
    {
        source_.reset();
        buffer_.clear();
        position_ = 0;
    }

private:
    class batch_sink final : public row_sink {
    public:
        batch_sink(std::vector<Row>& out, detail::mapper<Row>& m) : out_(out), mapper_(m) {}
        void on_row(const row& r) override { mapper_.map(r, out_.emplace_back()); }

    private:
        std::vector<Row>& out_;
        detail::mapper<Row>& mapper_;
    };

    std::unique_ptr<stream_source> source_;
    detail::mapper<Row> mapper_;  // column positions learned once for the whole stream
    std::vector<Row> buffer_;
    std::size_t position_ = 0;
    std::size_t batch_rows_ = 256;
};

template <class Row, class... Args>
requires(bindable<Args>&&...) task<row_stream<Row>> database::stream(std::string_view sql, Args... args)
{
    // The stream outlives this call: it owns its SQL and parameters.
    std::vector<value> params;
    params.reserve(sizeof...(Args));
    (params.push_back(to_value_owned(args)), ...);
    std::string text(sql);
    auto source = co_await open_stream(std::move(text), std::move(params));
    co_return row_stream<Row>(std::move(source));
}

template <model T>
task<row_stream<T>> database::stream(const select_query<T>& q)
{
    statement st = q.build();
    auto source = co_await open_stream(std::move(st.sql), std::move(st.params));
    co_return row_stream<T>(std::move(source));
}

template <class Body>
auto database::transact(Body body, isolation level, int retries)
    -> task<typename std::invoke_result_t<Body&, transaction&>::value_type>
{
    using R = typename std::invoke_result_t<Body&, transaction&>::value_type;
    for (int attempt = 0;; ++attempt) {
        bool retry = false;
        try {
            auto tx = co_await begin(level);
            if constexpr (std::is_void_v<R>) {
                co_await body(tx);
                co_await tx.commit();
                co_return;
            } else {
                R out = co_await body(tx);
                co_await tx.commit();
                co_return out;
            }
        } catch (const error& e) {
            if (e.kind() != errc::serialization_failure || attempt >= retries) {
                throw;
            }
            retry = true;  // the transaction was rolled back when it went out of scope
        }
        (void)retry;
    }
}

/// Named databases with an optional read replica each:
///   registry dbs;
///   dbs.add("main", database::open(primary_url), database::open(replica_url));
///   co_await dbs.writer("main").execute(...);   // the primary
///   co_await dbs.reader("main").query<T>(...);  // the replica (the primary when there is none)
class registry {
public:
    void add(std::string name, database primary, std::optional<database> replica = std::nullopt);
    database& writer(std::string_view name = "default");
    database& reader(std::string_view name = "default");
    bool contains(std::string_view name) const;
    /// Closes every database.
    void close();

private:
    struct entry {
        std::string name;
        std::unique_ptr<database> primary;
        std::unique_ptr<database> replica;
    };
    entry& find(std::string_view name);
    std::vector<entry> entries_;
};

}  // namespace covet::orm
