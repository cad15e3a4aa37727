#pragma once
// Values that travel to the database as bound parameters (never as SQL text),
// and the row interface drivers expose to the mapping code.

#include <covet/orm/error.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace covet::orm {

struct null_t {
    friend bool operator==(null_t, null_t) = default;
};
inline constexpr null_t null{};

/// Bytes for a BLOB / bytea column.
using blob = std::vector<std::byte>;

/// One bound parameter. text_view and blob_view refer to the caller's data,
/// valid while the statement runs; text and blob own theirs (query builders).
using value = std::variant<null_t, std::int64_t, double, std::string_view, std::string,
                           std::span<const std::byte>, blob>;

namespace detail {
template <class T>
struct is_optional : std::false_type {
};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {
};
template <class T>
inline constexpr bool is_optional_v = is_optional<T>::value;
}  // namespace detail

/// A parameter type: integers, bool, floating point, strings, blobs,
/// std::optional of those (empty = NULL) and orm::null.
template <class T>
concept bindable = std::is_arithmetic_v<T> || std::is_convertible_v<const T&, std::string_view> ||
    std::is_same_v<T, blob> || std::is_same_v<T, null_t> || std::is_same_v<T, std::nullopt_t> ||
    (detail::is_optional_v<T> && !std::is_same_v<T, std::optional<std::nullopt_t>>);

/// Calls `f` with `v` as the primitive it binds as: orm::null, std::int64_t,
/// double, std::string_view or std::span<const std::byte> (views of `v`).
template <class T, class F>
decltype(auto) visit_bindable(const T& v, F&& f)
{
    if constexpr (detail::is_optional_v<T>) {
        if (!v) {
            return f(null);
        }
        return visit_bindable(*v, f);
    } else if constexpr (std::is_same_v<T, null_t> || std::is_same_v<T, std::nullopt_t>) {
        return f(null);
    } else if constexpr (std::is_same_v<T, bool>) {
        return f(std::int64_t{v ? 1 : 0});
    } else if constexpr (std::is_integral_v<T>) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (v > static_cast<T>(INT64_MAX)) {
                throw error(errc::invalid_argument, "22003", "unsigned value out of the int64 range");
            }
        }
        return f(static_cast<std::int64_t>(v));
    } else if constexpr (std::is_floating_point_v<T>) {
        return f(static_cast<double>(v));
    } else if constexpr (std::is_same_v<T, blob>) {
        return f(std::span<const std::byte>(v));
    } else {
        return f(std::string_view(v));
    }
}

/// A value referring to `v` (strings and blobs are not copied).
template <class T>
value to_value_view(const T& v)
{
    return visit_bindable(v, [](auto primitive) -> value { return primitive; });
}

/// A value that owns a copy of `v`.
template <class T>
value to_value_owned(const T& v)
{
    value out = to_value_view(v);
    if (auto* s = std::get_if<std::string_view>(&out)) {
        out = std::string(*s);
    } else if (auto* b = std::get_if<std::span<const std::byte>>(&out)) {
        out = blob(b->begin(), b->end());
    }
    return out;
}

/// One result row as a driver exposes it; valid only inside row_sink::on_row.
class row {
public:
    virtual std::size_t size() const noexcept = 0;
    virtual std::string_view name(std::size_t column) const noexcept = 0;
    virtual bool is_null(std::size_t column) const noexcept = 0;
    virtual std::int64_t get_int(std::size_t column) const = 0;
    virtual double get_double(std::size_t column) const = 0;
    /// Text of the column (any type, as the driver renders it).
    virtual std::string_view get_text(std::size_t column) const = 0;
    virtual blob get_blob(std::size_t column) const = 0;

protected:
    ~row() = default;
};

/// Receives the rows of a statement.
class row_sink {
public:
    virtual void on_row(const row& r) = 0;
    /// True once the sink wants no more rows: a driver may then stop a
    /// read-only statement early (e.g. after the one row of a key lookup).
    virtual bool satisfied() const noexcept { return false; }

protected:
    ~row_sink() = default;
};

/// Reads column `i` of `r` into `out` (integers, bool, floating point,
/// std::string, blob, std::optional of those). `r` is an orm::row or a
/// driver's statement with the same methods (orm::direct_statement).
template <class R, class T>
[[gnu::hot]] void read_column(const R& r, std::size_t i, T& out)
{
    if constexpr (detail::is_optional_v<T>) {
        if (r.is_null(i)) {
            out.reset();
        } else {
            read_column(r, i, out.emplace());
        }
    } else if constexpr (std::is_same_v<T, bool>) {
        out = r.get_int(i) != 0;
    } else if constexpr (std::is_integral_v<T>) {
        out = static_cast<T>(r.get_int(i));
    } else if constexpr (std::is_floating_point_v<T>) {
        out = static_cast<T>(r.get_double(i));
    } else if constexpr (std::is_same_v<T, std::string>) {
        // Constructed and moved in: cheaper than assign() into the (usually empty) target.
        out = std::string(r.get_text(i));
    } else if constexpr (std::is_same_v<T, blob>) {
        out = r.get_blob(i);
    } else {
        static_assert(sizeof(T) == 0,
                      "covet::orm: unsupported column type (use integers, bool, double, std::string, "
                      "orm::blob or std::optional of those)");
    }
}

}  // namespace covet::orm
