#pragma once
// Models: a reflected struct (COVET_REFLECT from covet::json) plus a table
// and a primary key. Columns are the reflected fields under their C++ names;
// std::optional members are nullable; an integral primary key equal to 0 is
// left to the database (auto-increment) on insert.
//
//   struct user {
//       std::int64_t id = 0;
//       std::string name;
//       std::optional<int> age;
//   };
//   COVET_REFLECT(user, id, name, age);
//   COVET_MODEL(user, "users", id);
//
// Identifiers in SQL come only from these declarations (checked to be plain
// identifiers at compile time); every value is a bound parameter.

#include <covet/json/reflect.hpp>
#include <covet/orm/value.hpp>

#include <array>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

namespace covet::orm {

template <class T, class K>
struct model_desc {
    using key_type = K;
    std::string_view table;
    K T::*key;
    std::string_view key_name;
};

namespace detail {

constexpr bool plain_identifier(std::string_view s) noexcept
{
    if (s.empty() || s.size() > 63) {
        return false;
    }
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        const bool digit = c >= '0' && c <= '9';
        if (!(alpha || (i > 0 && digit))) {
            return false;
        }
    }
    return true;
}

template <class T, class K>
constexpr auto make_model(std::string_view table, K T::*key, std::string_view key_name) noexcept
{
    return model_desc<T, K>{table, key, key_name};
}

}  // namespace detail

/// T was declared with COVET_REFLECT and COVET_MODEL.
template <class T>
concept model = json::reflected<T> && requires
{
    covet_orm_model(json::tag<T>{});
};

template <model T>
inline constexpr auto model_of = covet_orm_model(json::tag<T>{});

namespace detail {
template <class M>
inline constexpr bool column_value =
    std::is_arithmetic_v<M> || std::is_same_v<M, std::string> || std::is_same_v<M, blob>;
template <class M>
constexpr bool column_member() noexcept
{
    if constexpr (is_optional_v<M>) {
        return column_value<typename M::value_type>;
    } else {
        return column_value<M>;
    }
}
template <class F>
constexpr auto column_or_nothing(const F& f) noexcept
{
    if constexpr (column_member<typename F::member_type>()) {
        return std::tuple<F>(f);
    } else {
        return std::tuple<>();
    }
}
}  // namespace detail

/// The reflected fields of T that are columns: numbers, bool, std::string,
/// blob and std::optional of those. Other reflected members (relations such
/// as std::optional<user> or std::vector<post>) are left to JSON.
template <json::reflected T>
inline constexpr auto columns_of = std::apply(
    [](const auto&... f) { return std::tuple_cat(detail::column_or_nothing(f)...); }, json::fields_of<T>);

/// Number of columns of T.
template <json::reflected T>
inline constexpr std::size_t column_count = std::tuple_size_v<std::decay_t<decltype(columns_of<T>)>>;

/// The position of member `member` among T's columns (a reflected column).
template <json::reflected T, class M>
constexpr std::size_t column_index(M T::*member)
{
    std::size_t found = column_count<T>;
    std::size_t i = 0;
    std::apply(
        [&](const auto&... f) {
            (
                [&](const auto& fd) {
                    if constexpr (std::is_same_v<std::decay_t<decltype(fd.member)>, M T::*>) {
                        if (fd.member == member && found == column_count<T>) {
                            found = i;
                        }
                    }
                    ++i;
                }(f),
                ...);
        },
        columns_of<T>);
    if (found == column_count<T>) {
        throw error(errc::invalid_argument, "42703", "covet::orm: the member is not a reflected field");
    }
    return found;
}

/// T's column names in declaration order.
template <json::reflected T>
inline constexpr auto column_names =
    std::apply([](const auto&... f) { return std::array<std::string_view, sizeof...(f)>{f.cpp_name...}; },
               columns_of<T>);

/// The column name of member `member` of T (a reflected column).
template <json::reflected T, class M>
constexpr std::string_view column_name(M T::*member)
{
    return column_names<T>[column_index<T>(member)];
}

/// Appends "name" (double-quoted; identifiers come from declarations only).
inline void append_identifier(std::string& out, std::string_view name)
{
    // One resize and a copy: three appends each checked the capacity.
    const std::size_t at = out.size();
    out.resize(at + name.size() + 2);
    char* p = out.data() + at;
    *p = '"';
    std::memcpy(p + 1, name.data(), name.size());
    p[name.size() + 1] = '"';
}

}  // namespace covet::orm

/// Declares the table and primary key of a reflected struct:
/// `COVET_MODEL(user, "users", id);` in the struct's namespace.
#define COVET_MODEL(Type, table, key)                                                  \
    [[maybe_unused]] constexpr auto covet_orm_model(::covet::json::tag<Type>) noexcept \
    {                                                                                  \
        return ::covet::orm::detail::make_model(table, &Type::key, #key);              \
    }                                                                                  \
    static_assert(::covet::orm::detail::plain_identifier(table),                       \
                  "COVET_MODEL(" #Type                                                 \
                  "): the table name must be a plain identifier [A-Za-z_][A-Za-z0-9_]*")
