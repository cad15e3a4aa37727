#pragma once
// The database-free pieces of eager loading (covet/orm/relations.hpp): the
// statement that fetches the related rows of many parents at once and the
// index that hands them back to their parents.

#include <covet/orm/model.hpp>
#include <covet/orm/query.hpp>
#include <covet/orm/value.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace covet::orm::detail {

template <class K>
void sort_unique(std::vector<K>& keys)
{
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
}

/// `value` in PostgreSQL's text array syntax: {1,2} or {"a","b\"c"}.
template <class K>
std::string pg_array_literal(const std::vector<K>& keys)
{
    std::string out = "{";
    for (std::size_t i = 0; i < keys.size(); ++i) {
        out += i == 0 ? "" : ",";
        if constexpr (std::is_integral_v<K>) {
            out += std::to_string(keys[i]);
        } else {
            out += '"';
            for (char ch : std::string_view(keys[i])) {
                if (ch == '"' || ch == '\\') {
                    out += '\\';
                }
                out += ch;
            }
            out += '"';
        }
    }
    out += '}';
    return out;
}

template <class K>
inline constexpr bool array_key = std::is_integral_v<K> || std::is_convertible_v<const K&, std::string_view>;

/// Statements on SQLite bind at most this many keys (its limit is 32766 parameters).
inline constexpr std::size_t max_keys_per_statement = 16'384;

/// SELECT Row's columns FROM Row's table WHERE column IN keys ORDER BY
/// Row's primary key. `keys` are sorted, distinct and non-empty; the
/// parameters refer to them (keep `keys` alive while the statement runs).
template <model Row, class K>
statement select_where_in(std::string_view column, const std::vector<K>& keys, std::size_t first,
                          std::size_t count, std::string_view dialect)
{
    statement st;
    st.sql = "SELECT ";
    append_all_columns<Row>(st.sql, false);
    st.sql += " FROM ";
    append_identifier(st.sql, model_of<Row>.table);
    st.sql += " WHERE ";
    append_identifier(st.sql, column);
    if constexpr (array_key<K>) {
        if (dialect == "postgresql") {
            // One statement text whatever the number of keys, one parameter.
            st.sql += " = ANY($1)";
            std::vector<K> slice(keys.begin() + static_cast<std::ptrdiff_t>(first),
                                 keys.begin() + static_cast<std::ptrdiff_t>(first + count));
            st.params.emplace_back(pg_array_literal(slice));
        }
    }
    if (st.params.empty()) {
        // A power of two of placeholders (the last key repeated): a handful of
        // statement texts for any number of parents.
        std::size_t padded = 1;
        while (padded < count) {
            padded *= 2;
        }
        st.sql += " IN (";
        for (std::size_t i = 0; i < padded; ++i) {
            st.sql += i == 0 ? "$" : ", $";
            st.sql += std::to_string(i + 1);
            st.params.push_back(to_value_view(keys[first + std::min(i, count - 1)]));
        }
        st.sql += ')';
    }
    st.sql += " ORDER BY ";
    append_identifier(st.sql, model_of<Row>.key_name);
    return st;
}

/// (key, position) pairs sorted by key: parents found by key with equal_range.
template <class K>
class key_index {
public:
    void add(K key, std::size_t position) { entries_.emplace_back(std::move(key), position); }
    void finish() { std::sort(entries_.begin(), entries_.end()); }
    template <class F>
    void for_each(const K& key, F&& f) const
    {
        auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                                   [](const auto& e, const K& k) { return e.first < k; });
        for (; it != entries_.end() && it->first == key; ++it) {
            f(it->second);
        }
    }

private:
    std::vector<std::pair<K, std::size_t>> entries_;
};

}  // namespace covet::orm::detail
