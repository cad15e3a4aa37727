#pragma once
// covet::json::value: a dynamic JSON value for untyped data. Objects keep
// their keys in document order; parsing rejects duplicate keys, so keys are
// unique in every parsed value.

#include <covet/json/error.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace covet::json {

struct parse_options;
class writer;

class value {
public:
    using array_type = std::vector<value>;
    using member = std::pair<std::string, value>;
    using object_type = std::vector<member>;

    enum class kind : std::uint8_t { null, boolean, integer, unsigned_integer, real, string, array, object };

    value() noexcept = default;
    value(std::nullptr_t) noexcept {}
    value(bool b) noexcept : data_(b) {}
    template <class I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>) value(I i)
    noexcept
    {
        if constexpr (std::is_signed_v<I>) {
            data_ = static_cast<std::int64_t>(i);
        } else if (static_cast<std::uint64_t>(i) <= static_cast<std::uint64_t>(INT64_MAX)) {
            data_ = static_cast<std::int64_t>(i);
        } else {
            data_ = static_cast<std::uint64_t>(i);
        }
    }
    value(double d) noexcept : data_(d) {}
    value(std::string s) noexcept : data_(std::move(s)) {}
    value(std::string_view s) : data_(std::string(s)) {}
    value(const char* s) : data_(std::string(s)) {}
    value(array_type a) noexcept : data_(std::move(a)) {}
    value(object_type o) noexcept : data_(std::move(o)) {}

    kind type() const noexcept { return static_cast<kind>(data_.index()); }
    bool is_null() const noexcept { return type() == kind::null; }
    bool is_bool() const noexcept { return type() == kind::boolean; }
    /// An integer (signed or unsigned storage).
    bool is_integer() const noexcept { return type() == kind::integer || type() == kind::unsigned_integer; }
    bool is_number() const noexcept { return is_integer() || type() == kind::real; }
    bool is_string() const noexcept { return type() == kind::string; }
    bool is_array() const noexcept { return type() == kind::array; }
    bool is_object() const noexcept { return type() == kind::object; }

    /// Typed access: nullptr when the value holds another type.
    const bool* if_bool() const noexcept { return std::get_if<bool>(&data_); }
    const std::int64_t* if_int64() const noexcept { return std::get_if<std::int64_t>(&data_); }
    const std::uint64_t* if_uint64() const noexcept { return std::get_if<std::uint64_t>(&data_); }
    const double* if_double() const noexcept { return std::get_if<double>(&data_); }
    const std::string* if_string() const noexcept { return std::get_if<std::string>(&data_); }
    const array_type* if_array() const noexcept { return std::get_if<array_type>(&data_); }
    array_type* if_array() noexcept { return std::get_if<array_type>(&data_); }
    const object_type* if_object() const noexcept { return std::get_if<object_type>(&data_); }
    object_type* if_object() noexcept { return std::get_if<object_type>(&data_); }
    /// Any number as a double (precision may be lost for large integers); 0 if not a number.
    double as_double() const noexcept;

    /// The member named `key` of an object, or nullptr.
    const value* find(std::string_view key) const noexcept;
    /// Element i of an array, or nullptr.
    const value* at(std::size_t i) const noexcept;

    friend bool operator==(const value& a, const value& b) noexcept;

private:
    std::variant<std::nullptr_t, bool, std::int64_t, std::uint64_t, double, std::string, array_type,
                 object_type>
        data_;
};

/// Writes a dynamic value.
void write_value(writer& w, const value& v);

/// Parses any JSON text into a dynamic value (strict RFC 8259: duplicate keys,
/// invalid UTF-8, trailing content and everything malformed are errors).
parse_result<value> parse_value(std::string_view json);
parse_result<value> parse_value(std::string_view json, const parse_options& options);

}  // namespace covet::json
