#pragma once
// The query builder: column references, conditions, ordering, aggregates and
// select<T>(). Values are always parameters; identifiers come only from model
// declarations (or aliases checked to be plain identifiers).
//
//   auto q = select<user>()
//                .where(c(&user::age) > 18 && c(&user::name).like("a%"))
//                .order_by(c(&user::age).desc())
//                .limit(10);
//   std::vector<user> adults = co_await db.all(q);

#include <covet/orm/model.hpp>
#include <covet/orm/relations.hpp>
#include <covet/orm/value.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::orm {

namespace detail {
// Stands for "the next parameter" inside fragments; numbered $1..$N at build().
inline constexpr char param_marker = '\x01';

// The parameter standing for argument N of a prepared_query: an empty span
// at argument_slots + N (one address per N, recognised by prepared_query).
inline constexpr std::size_t max_arguments = 32;
inline constexpr std::byte argument_slots[max_arguments]{};

// The arg(N) a parameter stands for, or max_arguments for a value.
inline std::size_t argument_index(const value& v) noexcept
{
    if (const auto* s = std::get_if<std::span<const std::byte>>(&v)) {
        if (s->empty() && s->data() >= argument_slots && s->data() < argument_slots + max_arguments) {
            return static_cast<std::size_t>(s->data() - argument_slots);
        }
    }
    return max_arguments;
}

// Built SQL with arg(N) placeholders runs only through a prepared_query.
inline void refuse_arguments(const std::vector<value>& params)
{
    for (const value& p : params) {
        if (argument_index(p) < max_arguments) {
            throw error(errc::invalid_argument, "08P01",
                        "covet::orm: a query with arg() placeholders runs through prepared_query");
        }
    }
}
}  // namespace detail

/// Argument `index` (from 0) of a prepared_query, in place of a value:
/// c(&user::id) == arg(0). A query with arguments runs only prepared.
struct argument {
    std::size_t index;
};
inline argument arg(std::size_t index)
{
    if (index >= detail::max_arguments) {
        throw error(errc::invalid_argument, "42P02", "covet::orm: at most 32 prepared query arguments");
    }
    return {index};
}

/// A SQL fragment with its parameters (owned).
struct expr {
    std::string sql;
    std::vector<value> params;

    bool empty() const noexcept { return sql.empty(); }
};

namespace detail {
// "table"."column" of each of T's columns, built once.
template <model T>
std::string_view qualified_column(std::size_t index)
{
    static const auto names = [] {
        std::array<std::string, column_count<T>> out;
        for (std::size_t i = 0; i < out.size(); ++i) {
            append_identifier(out[i], model_of<T>.table);
            out[i] += '.';
            append_identifier(out[i], column_names<T>[i]);
        }
        return out;
    }();
    return names[index];
}
}  // namespace detail

/// A reference to a model column: c(&user::age).
template <class T, class M>
struct column {
    std::string_view table;
    std::string_view name;
    std::string_view quoted;  ///< "table"."name" (from c(); built here when empty)

    /// "table"."name"
    std::string qualified() const
    {
        std::string out;
        out.reserve(qualified_size());
        append_qualified(out);
        return out;
    }
    void append_qualified(std::string& out) const
    {
        if (!quoted.empty()) {
            out += quoted;
            return;
        }
        append_identifier(out, table);
        out += '.';
        append_identifier(out, name);
    }
    std::size_t qualified_size() const noexcept { return table.size() + name.size() + 5; }

    expr like(std::string_view pattern) const { return binary(" LIKE ", pattern); }
    /// LIKE with an escape character (a parameter too): parts of `pattern`
    /// made with escape_like(text, escape) match `text` literally.
    expr like(std::string_view pattern, char escape) const
    {
        expr e = binary(" LIKE ", pattern);
        e.sql += " ESCAPE ";
        e.sql += detail::param_marker;
        e.params.push_back(to_value_owned(std::string(1, escape)));
        return e;
    }
    expr is_null() const { return {qualified() + " IS NULL", {}}; }
    expr is_not_null() const { return {qualified() + " IS NOT NULL", {}}; }
    template <class V>
    requires bindable<V> expr in(const std::vector<V>& values)
    const
    {
        if (values.empty()) {
            return {"1 = 0", {}};
        }
        expr e{qualified() + " IN (", {}};
        for (std::size_t i = 0; i < values.size(); ++i) {
            e.sql += i == 0 ? "" : ", ";
            e.sql += detail::param_marker;
            e.params.push_back(to_value_owned(values[i]));
        }
        e.sql += ')';
        return e;
    }
    template <class V>
    requires bindable<V> expr between(const V& low, const V& high)
    const
    {
        expr e{qualified() + " BETWEEN ", {}};
        e.sql += detail::param_marker;
        e.sql += " AND ";
        e.sql += detail::param_marker;
        e.params.push_back(to_value_owned(low));
        e.params.push_back(to_value_owned(high));
        return e;
    }

    struct order {
        std::string sql;
    };
    order asc() const { return {qualified() + " ASC"}; }
    order desc() const { return {qualified() + " DESC"}; }

    template <class V>
    expr binary(std::string_view op, const V& v) const
    {
        expr e;
        e.sql.reserve(qualified_size() + op.size() + 1);
        append_qualified(e.sql);
        e.sql += op;
        e.sql += detail::param_marker;
        if constexpr (std::is_same_v<V, argument>) {
            e.params.emplace_back(std::span<const std::byte>(detail::argument_slots + v.index, 0));
        } else {
            e.params.push_back(to_value_owned(v));
        }
        return e;
    }
};

/// `text` with LIKE's wildcards (% and _) and `escape` itself escaped, for a
/// pattern matched with like(pattern, escape): a substring search is
///   c(&todo::title).like("%" + escape_like(q) + "%", '\\')
inline std::string escape_like(std::string_view text, char escape = '\\')
{
    std::string out;
    out.reserve(text.size() + 8);
    for (const char ch : text) {
        if (ch == '%' || ch == '_' || ch == escape) {
            out += escape;
        }
        out += ch;
    }
    return out;
}

/// The column of member `member` of model T.
template <model T, class M>
column<T, M> c(M T::*member)
{
    const std::size_t index = column_index<T>(member);
    return {model_of<T>.table, column_names<T>[index], detail::qualified_column<T>(index)};
}

// Comparisons: column op value (a parameter) and column op column.
#define COVET_ORM_DETAIL_COMPARE(op, sqlop)                                    \
    template <class T, class M, class V>                                       \
    requires bindable<V> expr operator op(const column<T, M>& col, const V& v) \
    {                                                                          \
        return col.binary(sqlop, v);                                           \
    }                                                                          \
    template <class T, class M>                                                \
    expr operator op(const column<T, M>& col, argument a)                      \
    {                                                                          \
        return col.binary(sqlop, a);                                           \
    }                                                                          \
    template <class T, class M, class U, class N>                              \
    expr operator op(const column<T, M>& a, const column<U, N>& b)             \
    {                                                                          \
        expr e;                                                                \
        e.sql.reserve(a.qualified_size() + b.qualified_size() + 4);            \
        a.append_qualified(e.sql);                                             \
        e.sql += sqlop;                                                        \
        b.append_qualified(e.sql);                                             \
        return e;                                                              \
    }
COVET_ORM_DETAIL_COMPARE(==, " = ")
COVET_ORM_DETAIL_COMPARE(!=, " <> ")
COVET_ORM_DETAIL_COMPARE(<, " < ")
COVET_ORM_DETAIL_COMPARE(<=, " <= ")
COVET_ORM_DETAIL_COMPARE(>, " > ")
COVET_ORM_DETAIL_COMPARE(>=, " >= ")
#undef COVET_ORM_DETAIL_COMPARE

inline expr operator&&(expr a, expr b)
{
    expr e{"(" + std::move(a.sql) + " AND " + b.sql + ")", std::move(a.params)};
    for (auto& p : b.params) {
        e.params.push_back(std::move(p));
    }
    return e;
}
inline expr operator||(expr a, expr b)
{
    expr e{"(" + std::move(a.sql) + " OR " + b.sql + ")", std::move(a.params)};
    for (auto& p : b.params) {
        e.params.push_back(std::move(p));
    }
    return e;
}
inline expr operator!(expr a)
{
    return {"(NOT " + std::move(a.sql) + ")", std::move(a.params)};
}

/// A selected expression with an optional alias (aggregates, join columns).
struct selection {
    std::string sql;
    std::vector<value> params;
    /// AS "alias"; throws invalid_argument for anything but a plain identifier.
    selection as(std::string_view alias) &&
    {
        if (!detail::plain_identifier(alias)) {
            throw error(errc::invalid_argument, "42601", "covet::orm: an alias must be a plain identifier");
        }
        sql += " AS ";
        append_identifier(sql, alias);
        return std::move(*this);
    }
};

// Comparisons of an aggregate with a value, for having(): count() > 1.
#define COVET_ORM_DETAIL_COMPARE_SELECTION(op, sqlop)                     \
    template <class V>                                                    \
    requires bindable<V> expr operator op(const selection& s, const V& v) \
    {                                                                     \
        expr e{s.sql + sqlop, s.params};                                  \
        e.sql += detail::param_marker;                                    \
        e.params.push_back(to_value_owned(v));                            \
        return e;                                                         \
    }
COVET_ORM_DETAIL_COMPARE_SELECTION(==, " = ")
COVET_ORM_DETAIL_COMPARE_SELECTION(!=, " <> ")
COVET_ORM_DETAIL_COMPARE_SELECTION(<, " < ")
COVET_ORM_DETAIL_COMPARE_SELECTION(<=, " <= ")
COVET_ORM_DETAIL_COMPARE_SELECTION(>, " > ")
COVET_ORM_DETAIL_COMPARE_SELECTION(>=, " >= ")
#undef COVET_ORM_DETAIL_COMPARE_SELECTION

template <class T, class M>
selection sel(const column<T, M>& col)
{
    return {col.qualified(), {}};
}
inline selection count()
{
    return {"COUNT(*)", {}};
}
template <class T, class M>
selection count(const column<T, M>& col)
{
    return {"COUNT(" + col.qualified() + ")", {}};
}
template <class T, class M>
selection sum(const column<T, M>& col)
{
    return {"SUM(" + col.qualified() + ")", {}};
}
template <class T, class M>
selection avg(const column<T, M>& col)
{
    return {"AVG(" + col.qualified() + ")", {}};
}
template <class T, class M>
selection min(const column<T, M>& col)
{
    return {"MIN(" + col.qualified() + ")", {}};
}
template <class T, class M>
selection max(const column<T, M>& col)
{
    return {"MAX(" + col.qualified() + ")", {}};
}

namespace detail {
/// Replaces the parameter markers by $first, $first+1, ...
std::string number_params(std::string_view sql, std::size_t first = 1);
/// Appends `fragment` with its markers numbered $next, $next+1, ... (advances next).
void append_numbered(std::string& out, std::string_view fragment, std::size_t& next);

template <model T>
void append_all_columns(std::string& out, bool qualified)
{
    std::apply(
        [&](const auto&... f) {
            bool first = true;
            (
                [&](const auto& fd) {
                    if (!first) {
                        out += ", ";
                    }
                    first = false;
                    if (qualified) {
                        append_identifier(out, model_of<T>.table);
                        out += '.';
                    }
                    append_identifier(out, fd.cpp_name);
                }(f),
                ...);
        },
        columns_of<T>);
}
}  // namespace detail

/// A built statement: SQL with $N placeholders and its parameters.
struct statement {
    std::string sql;
    std::vector<value> params;
};

/// SELECT over model T (and joined models).
template <model T>
class select_query {
public:
    select_query& where(expr condition) &
    {
        if (where_.empty()) {
            where_ = std::move(condition);
        } else {
            where_ = std::move(where_) && std::move(condition);
        }
        return *this;
    }
    template <class... Orders>
    select_query& order_by(Orders... orders) &
    {
        (append_listed(order_, orders.sql), ...);
        return *this;
    }
    select_query& limit(std::int64_t n) &
    {
        limit_ = n;
        return *this;
    }
    select_query& offset(std::int64_t n) &
    {
        offset_ = n;
        return *this;
    }
    template <class... Columns>
    select_query& group_by(const Columns&... cols) &
    {
        (append_listed(group_, cols.qualified()), ...);
        return *this;
    }
    select_query& having(expr condition) &
    {
        having_ = std::move(condition);
        return *this;
    }
    /// INNER JOIN "U's table" ON condition.
    template <model U>
    select_query& join(expr on) &
    {
        return add_join<U>(" JOIN ", std::move(on));
    }
    template <model U>
    select_query& left_join(expr on) &
    {
        return add_join<U>(" LEFT JOIN ", std::move(on));
    }
    /// Selects these columns / aggregates instead of all of T's columns
    /// (map the result with db.fetch<Row>(q)).
    template <class... Selections>
    select_query& columns(Selections&&... s) &
    {
        columns_.clear();
        column_params_.clear();
        (add_column(std::forward<Selections>(s)), ...);
        return *this;
    }

    /// Eager-loads these relations (COVET_RELATIONS) of the rows db.all() and
    /// db.first() return: one extra statement per relation for all rows.
    template <class... M>
    select_query& with(M T::*... members) &
    {
        static_assert(has_relations<T>, "with(): declare the model's relations with COVET_RELATIONS");
        if constexpr (has_relations<T>) {
            static_assert((detail::has_relation_member<T, M>() && ...),
                          "with(): the member is not a relation declared in COVET_RELATIONS");
            (eager_.push_back(detail::relation_index(members)), ...);
        }
        return *this;
    }

    // The same on a temporary (select<T>().where(...)...): the query moves
    // along the chain instead of being copied into the variable at its end.
    select_query&& where(expr condition) && { return std::move(where(std::move(condition))); }
    template <class... Orders>
    select_query&& order_by(Orders... orders) &&
    {
        return std::move(order_by(std::move(orders)...));
    }
    select_query&& limit(std::int64_t n) && { return std::move(limit(n)); }
    select_query&& offset(std::int64_t n) && { return std::move(offset(n)); }
    template <class... Columns>
    select_query&& group_by(const Columns&... cols) &&
    {
        return std::move(group_by(cols...));
    }
    select_query&& having(expr condition) && { return std::move(having(std::move(condition))); }
    template <model U>
    select_query&& join(expr on) &&
    {
        return std::move(join<U>(std::move(on)));
    }
    template <model U>
    select_query&& left_join(expr on) &&
    {
        return std::move(left_join<U>(std::move(on)));
    }
    template <class... Selections>
    select_query&& columns(Selections&&... s) &&
    {
        return std::move(columns(std::forward<Selections>(s)...));
    }
    template <class... M>
    select_query&& with(M T::*... members) &&
    {
        return std::move(with(members...));
    }
    /// The relations to load (positions in relations_of<T>).
    const std::vector<std::size_t>& eager() const noexcept { return eager_; }

    /// The statement with the chosen columns (all of T's by default).
    /// Throws invalid_argument when the query has arg(N) placeholders (run
    /// those through prepared_query).
    statement build() const
    {
        return build_with(columns_.empty() ? all_columns() : columns_, column_params_);
    }
    /// The statement with `select_list` instead of the columns (aggregates).
    /// One pass: fragments are appended with their markers numbered in text
    /// order, which is the order of their parameters.
    statement build_with(std::string_view select_list, const std::vector<value>& select_params = {}) const
    {
        statement out = build_unchecked(select_list, select_params);
        detail::refuse_arguments(out.params);
        return out;
    }

    const expr& condition() const noexcept { return where_; }
    /// True unless columns(...) replaced the model's own columns.
    bool selects_model_columns() const noexcept { return columns_.empty(); }

private:
    template <class Row>
    friend class prepared_query;

    statement build_unchecked(std::string_view select_list, const std::vector<value>& select_params) const
    {
        statement out;
        std::string& sql = out.sql;
        sql.reserve(48 + select_list.size() + model_of<T>.table.size() + joins_.sql.size() +
                    where_.sql.size() + group_.size() + having_.sql.size() + order_.size());
        std::vector<value>& params = out.params;
        params.reserve(select_params.size() + joins_.params.size() + where_.params.size() +
                       having_.params.size() + 2);
        std::size_t next = 1;
        sql += "SELECT ";
        detail::append_numbered(sql, select_list, next);
        sql += " FROM ";
        append_identifier(sql, model_of<T>.table);
        detail::append_numbered(sql, joins_.sql, next);
        params.insert(params.end(), select_params.begin(), select_params.end());
        params.insert(params.end(), joins_.params.begin(), joins_.params.end());
        if (!where_.empty()) {
            sql += " WHERE ";
            detail::append_numbered(sql, where_.sql, next);
            params.insert(params.end(), where_.params.begin(), where_.params.end());
        }
        if (!group_.empty()) {
            sql += " GROUP BY ";
            sql += group_;
        }
        if (!having_.empty()) {
            sql += " HAVING ";
            detail::append_numbered(sql, having_.sql, next);
            params.insert(params.end(), having_.params.begin(), having_.params.end());
        }
        if (!order_.empty()) {
            sql += " ORDER BY ";
            sql += order_;
        }
        if (limit_ || offset_) {
            sql += " LIMIT ";
            detail::append_numbered(sql, std::string_view(&detail::param_marker, 1), next);
            params.emplace_back(limit_ ? *limit_ : std::int64_t{-1});
            if (offset_) {
                sql += " OFFSET ";
                detail::append_numbered(sql, std::string_view(&detail::param_marker, 1), next);
                params.emplace_back(*offset_);
            }
        }
        return out;
    }

    static const std::string& all_columns()
    {
        static const std::string columns = [] {
            std::string out;
            detail::append_all_columns<T>(out, true);
            return out;
        }();
        return columns;
    }
    template <model U>
    select_query& add_join(std::string_view kind, expr on)
    {
        joins_.sql += kind;
        append_identifier(joins_.sql, model_of<U>.table);
        joins_.sql += " ON ";
        joins_.sql += on.sql;
        for (auto& p : on.params) {
            joins_.params.push_back(std::move(p));
        }
        return *this;
    }
    // Appends ", item" (or "item" first) without a temporary string.
    static void append_listed(std::string& list, std::string_view item)
    {
        if (!list.empty()) {
            list += ", ";
        }
        list += item;
    }
    template <class U, class N>
    void add_column(const column<U, N>& col)
    {
        if (!columns_.empty()) {
            columns_ += ", ";
        }
        col.append_qualified(columns_);
    }
    void add_column(selection s)
    {
        append_listed(columns_, s.sql);
        for (auto& p : s.params) {
            column_params_.push_back(std::move(p));
        }
    }

    expr where_;
    expr having_;
    expr joins_;
    std::string order_;
    std::string group_;
    std::string columns_;
    std::vector<value> column_params_;
    std::optional<std::int64_t> limit_;
    std::optional<std::int64_t> offset_;
    std::vector<std::size_t> eager_;
};

template <model T>
select_query<T> select()
{
    return {};
}

/// A select built once (its SQL text and constant parameters) and run many
/// times with new values for its arg(N) placeholders, mapped into Row:
///   const orm::prepared_query<name_and_title> by_user(
///       select<user>().join<post>(c(&post::user_id) == c(&user::id))
///           .columns(c(&user::name), c(&post::title)).where(c(&user::id) == orm::arg(0)));
///   auto rows = co_await db.fetch(by_user, id);
/// Saves building the query per call; the statement cache finds its SQL by address.
template <class Row>
class prepared_query {
public:
    template <model T>
    explicit prepared_query(const select_query<T>& q)
        : built_(q.build_unchecked(q.columns_.empty() ? q.all_columns() : q.columns_, q.column_params_)),
          positional_(std::is_same_v<Row, T> && q.selects_model_columns())
    {
        for (std::size_t i = 0; i < built_.params.size(); ++i) {
            const std::size_t index = detail::argument_index(built_.params[i]);
            if (index < detail::max_arguments) {
                argument_of_.push_back({i, index});
                arguments_ = std::max(arguments_, index + 1);
            }
        }
    }

    const std::string& sql() const noexcept { return built_.sql; }
    /// The number of arguments a run takes (the highest arg(N) + 1).
    std::size_t arguments() const noexcept { return arguments_; }
    /// The statement selects Row's columns in declaration order.
    bool positional() const noexcept { return positional_; }

    /// The parameters with `given` in the argument places, as views (of the
    /// query's own values and of `given`'s). `out` has room for params().size().
    void bind(std::span<value> out, std::span<const value> given) const
    {
        check_arguments(given.size());
        for (std::size_t i = 0; i < built_.params.size(); ++i) {
            const value& p = built_.params[i];
            if (const auto* text = std::get_if<std::string>(&p)) {
                out[i] = std::string_view(*text);
            } else if (const auto* bytes = std::get_if<blob>(&p)) {
                out[i] = std::span<const std::byte>(*bytes);
            } else {
                out[i] = p;
            }
        }
        for (const auto& [position, index] : argument_of_) {
            out[position] = given[index];
        }
    }
    std::size_t parameter_count() const noexcept { return built_.params.size(); }
    /// The built parameters: values, and arg(N) placeholders (detail::argument_index).
    const std::vector<value>& parameters() const noexcept { return built_.params; }
    /// Throws unless a run with `given` arguments matches arguments().
    void check_arguments(std::size_t given) const
    {
        if (given != arguments_) {
            throw error(errc::invalid_argument, "08P01",
                        "covet::orm: prepared query run with " + std::to_string(given) +
                            " arguments, it takes " + std::to_string(arguments_));
        }
    }

private:
    struct argument_place {
        std::size_t position;  // in built_.params
        std::size_t index;     // arg(index)
    };
    statement built_;
    std::vector<argument_place> argument_of_;
    std::size_t arguments_ = 0;
    bool positional_ = false;
};

}  // namespace covet::orm
