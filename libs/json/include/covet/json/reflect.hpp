#pragma once
// Reflection: declare a struct's JSON fields once, with per-field options.
//
//   struct user {
//       std::int64_t id = 0;
//       std::string user_name;
//       std::string email;
//       std::optional<int> age;
//       std::vector<std::string> tags;
//   };
//   COVET_REFLECT(user, id,
//                 (user_name, json::rename("userName"), json::min_length(1), json::max_length(64)),
//                 (email, json::email),
//                 (age, json::min(0), json::max(150), json::omit_null),
//                 (tags, json::defaulted));
//
// Put the macro at namespace scope, in the struct's namespace (it is found by
// argument-dependent lookup). A field is `name` or `(name, options...)`.
//
// Options:
//   rename("key")      JSON key differs from the C++ name
//   defaulted          may be missing: the member keeps its default member initializer
//   omit_null          when writing, an empty std::optional is left out instead of `null`
//   min(v), max(v)     inclusive bounds for numbers
//   min_length(n), max_length(n)  code points of a string, elements of a container
//   pattern("re")      ECMAScript regex that must match the whole string
//   email              a plausible e-mail address (local@domain.tld)
//   one_of(a, b, ...)  the value must equal one of these
//   check(pred, "msg") custom predicate `bool(const Field&)`
// std::optional members are never required; every other member is required
// unless `defaulted`.

#include <covet/json/detail/preprocessor.hpp>
// Before the options below: GCC 12's -Wshadow flags the enumerator
// error_kind::email when it is declared after the option `email`.
#include <covet/json/error.hpp>

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

namespace covet::json {

/// Argument-dependent lookup handle for the reflection functions.
template <class T>
struct tag {
};

// ---------------------------------------------------------------- options

/// The field's JSON key, when it differs from the C++ member name.
struct rename {
    constexpr explicit rename(std::string_view n) noexcept : name(n) {}
    std::string_view name;
};
/// The field may be absent from the input; it then keeps its default member initializer.
struct defaulted_t {};
inline constexpr defaulted_t defaulted{};
/// When writing, an empty std::optional field is omitted instead of written as null.
struct omit_null_t {};
inline constexpr omit_null_t omit_null{};

/// Inclusive lower bound of a number.
template <class N>
struct min {
    constexpr explicit min(N v) noexcept : value(v) {}
    N value;
};
/// Inclusive upper bound of a number.
template <class N>
struct max {
    constexpr explicit max(N v) noexcept : value(v) {}
    N value;
};
/// Minimum length: code points of a string, elements of a container.
struct min_length {
    constexpr explicit min_length(std::size_t n) noexcept : value(n) {}
    std::size_t value;
};
/// Maximum length: code points of a string, elements of a container.
struct max_length {
    constexpr explicit max_length(std::size_t n) noexcept : value(n) {}
    std::size_t value;
};
/// An ECMAScript regular expression the whole string must match.
struct pattern {
    constexpr explicit pattern(std::string_view re) noexcept : regex(re) {}
    std::string_view regex;
};
/// The string must look like an e-mail address.
struct email_t {};
inline constexpr email_t email{};

/// The value must equal one of `values`.
template <class V, std::size_t N>
struct one_of_t {
    std::array<V, N> values;
};
template <class... V>
constexpr auto one_of(V... values) noexcept
{
    using common = std::common_type_t<
        std::conditional_t<std::is_convertible_v<V, std::string_view>, std::string_view, V>...>;
    return one_of_t<common, sizeof...(V)>{{static_cast<common>(values)...}};
}

/// A custom predicate on the field's value, with the message reported when it fails.
template <class F>
struct check_t {
    F predicate;
    std::string_view message;
};
template <class F>
constexpr auto check(F predicate, std::string_view message) noexcept
{
    return check_t<F>{predicate, message};
}

// ---------------------------------------------------------------- fields

/// One reflected member: where it lives, its JSON key and its options.
template <class T, class M, class... Options>
struct field {
    using owner_type = T;
    using member_type = M;
    M T::*member;
    std::string_view name;      ///< JSON key
    std::string_view cpp_name;  ///< C++ member name
    bool required;
    bool omit_null;
    std::tuple<Options...> options;
};

/// One reflected enumerator and its JSON string.
template <class E>
struct enumerator {
    E value;
    std::string_view name;
};

/// A std::variant written as an object with a discriminator key: tags[i] names alternative i.
template <std::size_t N>
struct variant_desc {
    std::string_view key;
    std::array<std::string_view, N> tags;
};

namespace detail {

template <class T>
struct is_optional : std::false_type {
};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {
};

template <class F, class O>
constexpr void apply_option(F& f, const O& o) noexcept
{
    if constexpr (std::is_same_v<O, rename>) {
        f.name = o.name;
    } else if constexpr (std::is_same_v<O, defaulted_t>) {
        f.required = false;
    } else if constexpr (std::is_same_v<O, omit_null_t>) {
        f.omit_null = true;
    }
}

template <class T, class M, class... Options>
constexpr auto make_field(M T::*member, std::string_view cpp_name, Options... options) noexcept
{
    field<T, M, Options...> f{
        member, cpp_name, cpp_name, !is_optional<M>::value, false, std::tuple<Options...>{options...}};
    (apply_option(f, options), ...);
    return f;
}

// Reflected keys are written without escaping: they must not need it.
constexpr bool plain_key(std::string_view k) noexcept
{
    for (char c : k) {
        if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') {
            return false;
        }
    }
    return !k.empty();
}

template <class Tuple>
constexpr bool valid_fields(const Tuple& fields) noexcept
{
    return std::apply(
        [](const auto&... f) {
            std::array<std::string_view, sizeof...(f)> names{f.name...};
            for (std::size_t i = 0; i < names.size(); ++i) {
                if (!plain_key(names[i])) {
                    return false;
                }
                for (std::size_t j = 0; j < i; ++j) {
                    if (names[i] == names[j]) {
                        return false;
                    }
                }
            }
            return true;
        },
        fields);
}

template <class V, class... Tags>
constexpr auto make_variant_desc(std::string_view key, Tags... tags) noexcept
{
    static_assert(sizeof...(Tags) == std::variant_size_v<V>, "one tag per variant alternative");
    return variant_desc<sizeof...(Tags)>{key, {std::string_view(tags)...}};
}

}  // namespace detail

// ---------------------------------------------------------------- traits

/// T was declared with COVET_REFLECT.
template <class T>
concept reflected = requires
{
    covet_json_fields(tag<T>{});
};
/// E was declared with COVET_REFLECT_ENUM.
template <class E>
concept reflected_enum = std::is_enum_v<E> && requires
{
    covet_json_enum(tag<E>{});
};
/// V is a std::variant declared with COVET_REFLECT_VARIANT.
template <class V>
concept reflected_variant = requires
{
    covet_json_variant(tag<V>{});
};

/// The field descriptors of a reflected type, as a tuple.
template <reflected T>
inline constexpr auto fields_of = covet_json_fields(tag<T>{});
/// The enumerators of a reflected enum, as a std::array.
template <reflected_enum E>
inline constexpr auto enumerators_of = covet_json_enum(tag<E>{});
/// The discriminator of a reflected variant.
template <reflected_variant V>
inline constexpr auto variant_of = covet_json_variant(tag<V>{});
/// The C++ name of a reflected type (used for JSON Schema $defs).
template <reflected T>
inline constexpr std::string_view type_name_of = covet_json_name(tag<T>{});

}  // namespace covet::json

#define COVET_JSON_DETAIL_FIELD(Type, x) \
    COVET_JSON_DETAIL_CAT(COVET_JSON_DETAIL_FIELD_, COVET_JSON_DETAIL_IS_PAREN(x))(Type, x)
#define COVET_JSON_DETAIL_FIELD_0(Type, name) ::covet::json::detail::make_field(&Type::name, #name)
#define COVET_JSON_DETAIL_FIELD_1(Type, spec) \
    COVET_JSON_DETAIL_APPLY(COVET_JSON_DETAIL_FIELD_WITH, (Type, COVET_JSON_DETAIL_UNPAREN spec))
#define COVET_JSON_DETAIL_FIELD_WITH(Type, name, ...) \
    ::covet::json::detail::make_field(&Type::name, #name, __VA_ARGS__)

/// Declares the JSON fields of `Type`: `COVET_REFLECT(Type, a, (b, options...), ...);`
/// at namespace scope in Type's namespace. See the top of covet/json/reflect.hpp.
#define COVET_REFLECT(Type, ...)                                                                          \
    [[maybe_unused]] constexpr ::std::string_view covet_json_name(::covet::json::tag<Type>) noexcept      \
    {                                                                                                     \
        return #Type;                                                                                     \
    }                                                                                                     \
    [[maybe_unused]] constexpr auto covet_json_fields(::covet::json::tag<Type>) noexcept                  \
    {                                                                                                     \
        return ::std::make_tuple(COVET_JSON_DETAIL_FOR_EACH(COVET_JSON_DETAIL_FIELD, Type, __VA_ARGS__)); \
    }                                                                                                     \
    static_assert(::covet::json::detail::valid_fields(covet_json_fields(::covet::json::tag<Type>{})),     \
                  "COVET_REFLECT(" #Type "): JSON keys must be unique, non-empty and need no escaping")

#define COVET_JSON_DETAIL_ENUMERATOR(Enum, x) \
    COVET_JSON_DETAIL_CAT(COVET_JSON_DETAIL_ENUMERATOR_, COVET_JSON_DETAIL_IS_PAREN(x))(Enum, x)
#define COVET_JSON_DETAIL_ENUMERATOR_0(Enum, x) \
    ::covet::json::enumerator<Enum>             \
    {                                           \
        Enum::x, #x                             \
    }
#define COVET_JSON_DETAIL_ENUMERATOR_1(Enum, spec) \
    COVET_JSON_DETAIL_APPLY(COVET_JSON_DETAIL_ENUMERATOR_WITH, (Enum, COVET_JSON_DETAIL_UNPAREN spec))
#define COVET_JSON_DETAIL_ENUMERATOR_WITH(Enum, x, name) \
    ::covet::json::enumerator<Enum>                      \
    {                                                    \
        Enum::x, name                                    \
    }

/// Declares an enum written as strings: `COVET_REFLECT_ENUM(color, red, (dark_blue, "dark-blue"));`
#define COVET_REFLECT_ENUM(Enum, ...)                                                                     \
    [[maybe_unused]] constexpr auto covet_json_enum(::covet::json::tag<Enum>) noexcept                    \
    {                                                                                                     \
        return ::std::array{COVET_JSON_DETAIL_FOR_EACH(COVET_JSON_DETAIL_ENUMERATOR, Enum, __VA_ARGS__)}; \
    }                                                                                                     \
    static_assert(true)

/// Declares a std::variant (through an alias without commas) written as an
/// object whose `key` names the alternative:
/// `using shape = std::variant<circle, rect>; COVET_REFLECT_VARIANT(shape, "kind", "circle", "rect");`
/// Every alternative must be a reflected struct.
#define COVET_REFLECT_VARIANT(Variant, key, ...)                                             \
    [[maybe_unused]] constexpr auto covet_json_variant(::covet::json::tag<Variant>) noexcept \
    {                                                                                        \
        return ::covet::json::detail::make_variant_desc<Variant>(key, __VA_ARGS__);          \
    }                                                                                        \
    static_assert(true)
