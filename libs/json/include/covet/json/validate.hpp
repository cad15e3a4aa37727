#pragma once
// Validation declared next to the fields (see reflect.hpp). Parsing runs the
// validators of every field it reads and reports all violations together with
// the type errors; validate() checks an object built in C++.

#include <covet/json/error.hpp>
#include <covet/json/reflect.hpp>

#include <fmt/format.h>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

namespace covet::json {

namespace detail {

/// Number of code points of UTF-8 text (continuation bytes are not counted).
std::size_t utf8_length(std::string_view s) noexcept;
/// Whole-string match of an ECMAScript regex; compiled once per pattern and cached.
bool regex_match(std::string_view pattern, std::string_view s);
/// A plausible e-mail address: one '@', a non-empty local part, a dotted domain, no spaces.
bool plausible_email(std::string_view s) noexcept;

template <class T>
concept string_like = std::is_convertible_v<const T&, std::string_view>;
template <class T>
concept keyed_by_string = requires
{
    typename T::key_type;
    typename T::mapped_type;
}
&&string_like<typename T::key_type>;
template <class T>
concept sized_range = requires(const T& t)
{
    t.size();
    t.begin();
};

template <class M>
std::size_t length_of(const M& v)
{
    if constexpr (string_like<M>) {
        return utf8_length(std::string_view(v));
    } else {
        return v.size();
    }
}

template <class V>
std::string show(const V& v)
{
    if constexpr (string_like<V>) {
        return fmt::format("'{}'", std::string_view(v));
    } else if constexpr (std::is_arithmetic_v<V>) {
        return fmt::format("{}", v);
    } else {
        return "value";
    }
}

template <class O>
struct is_min : std::false_type {
};
template <class N>
struct is_min<min<N>> : std::true_type {
};
template <class O>
struct is_max : std::false_type {
};
template <class N>
struct is_max<max<N>> : std::true_type {
};

template <class A, class B>
constexpr bool less(A a, B b) noexcept
{
    if constexpr (std::is_integral_v<A> && std::is_integral_v<B>) {
        return std::cmp_less(a, b);
    } else {
        return static_cast<long double>(a) < static_cast<long double>(b);
    }
}

// Runs one option against a present value; calls report(kind, message) on a violation.
template <class M, class O, class Report>
void check_option(const M& v, const O& o, Report& report)
{
    if constexpr (is_min<O>::value) {
        if constexpr (std::is_arithmetic_v<M>) {
            if (less(v, o.value)) {
                report(error_kind::too_small, fmt::format("must be >= {}", o.value));
            }
        }
    } else if constexpr (is_max<O>::value) {
        if constexpr (std::is_arithmetic_v<M>) {
            if (less(o.value, v)) {
                report(error_kind::too_large, fmt::format("must be <= {}", o.value));
            }
        }
    } else if constexpr (std::is_same_v<O, min_length>) {
        if (auto n = length_of(v); n < o.value) {
            report(error_kind::too_short, fmt::format("length must be at least {} (is {})", o.value, n));
        }
    } else if constexpr (std::is_same_v<O, max_length>) {
        if (auto n = length_of(v); n > o.value) {
            report(error_kind::too_long, fmt::format("length must be at most {} (is {})", o.value, n));
        }
    } else if constexpr (std::is_same_v<O, pattern>) {
        if (!regex_match(o.regex, std::string_view(v))) {
            report(error_kind::pattern, fmt::format("must match pattern '{}'", o.regex));
        }
    } else if constexpr (std::is_same_v<O, email_t>) {
        if (!plausible_email(std::string_view(v))) {
            report(error_kind::email, std::string("must be a valid e-mail address"));
        }
    } else if constexpr (requires { o.values; }) {
        bool found = false;
        for (const auto& candidate : o.values) {
            if constexpr (string_like<M>) {
                found = found || std::string_view(v) == std::string_view(candidate);
            } else if constexpr (std::is_arithmetic_v<M>) {
                found = found || (!less(v, candidate) && !less(candidate, v));
            } else {
                found = found || v == candidate;
            }
        }
        if (!found) {
            std::string allowed;
            for (const auto& candidate : o.values) {
                allowed += allowed.empty() ? "" : ", ";
                allowed += show(candidate);
            }
            report(error_kind::one_of, fmt::format("must be one of {}", allowed));
        }
    } else if constexpr (requires { o.predicate; }) {
        if (!o.predicate(v)) {
            report(error_kind::custom, std::string(o.message));
        }
    }
}

/// Runs the validators of field `f` on `v` (the contained value for a std::optional).
template <class F, class M, class Report>
void validate_field(const F& f, const M& v, Report&& report)
{
    if constexpr (is_optional<M>::value) {
        if (v) {
            validate_field(f, *v, report);
        }
    } else {
        std::apply([&](const auto&... o) { (check_option(v, o, report), ...); }, f.options);
    }
}

template <class T>
void validate_into(const T& v, std::vector<path_element>& at, error_list& out);

template <class T>
void validate_members(const T& v, std::vector<path_element>& at, error_list& out)
{
    std::apply(
        [&](const auto&... f) {
            auto one = [&](const auto& fd) {
                const auto& m = v.*(fd.member);
                at.emplace_back(std::string(fd.name));
                validate_field(fd, m, [&](error_kind k, std::string msg) {
                    out.push_back(error{at, k, std::move(msg)});
                });
                validate_into(m, at, out);
                at.pop_back();
            };
            (one(f), ...);
        },
        fields_of<T>);
}

template <class T>
void validate_into(const T& v, std::vector<path_element>& at, error_list& out)
{
    if constexpr (reflected<T>) {
        validate_members(v, at, out);
    } else if constexpr (is_optional<T>::value) {
        if (v) {
            validate_into(*v, at, out);
        }
    } else if constexpr (reflected_variant<T>) {
        std::visit([&](const auto& alt) { validate_into(alt, at, out); }, v);
    } else if constexpr (keyed_by_string<T>) {
        for (const auto& [k, e] : v) {
            at.emplace_back(std::string(k));
            validate_into(e, at, out);
            at.pop_back();
        }
    } else if constexpr (sized_range<T> && !string_like<T> && requires { typename T::value_type; }) {
        if constexpr (reflected<typename T::value_type> || reflected_variant<typename T::value_type> ||
                      is_optional<typename T::value_type>::value || sized_range<typename T::value_type>) {
            std::size_t i = 0;
            for (const auto& e : v) {
                at.emplace_back(i++);
                validate_into(e, at, out);
                at.pop_back();
            }
        }
    }
}

}  // namespace detail

/// Checks every validator declared on T and on the reflected types inside it;
/// returns all violations (empty when valid).
template <reflected T>
error_list validate(const T& v)
{
    error_list out;
    std::vector<path_element> at;
    detail::validate_into(v, at, out);
    return out;
}

}  // namespace covet::json
