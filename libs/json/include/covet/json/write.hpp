#pragma once
// Serialization of reflected structs and standard types straight into a
// writer: no intermediate DOM.
//
//   covet::json::writer w;          // reuse it: no allocation once warm
//   covet::json::write(w, my_user);
//   send(w.view());
//   std::string s = covet::json::to_string(my_user, {.pretty = true});

#include <covet/json/reflect.hpp>
#include <covet/json/time.hpp>
#include <covet/json/value.hpp>
#include <covet/json/writer.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <variant>

namespace covet::json {

namespace detail {

template <class T>
inline constexpr bool always_false = false;

template <class T>
struct is_time_point : std::false_type {
};
template <class D>
struct is_time_point<std::chrono::time_point<std::chrono::system_clock, D>> : std::true_type {
};

template <class T>
concept string_map = requires
{
    typename T::key_type;
    typename T::mapped_type;
}
&&std::is_convertible_v<const typename T::key_type&, std::string_view>;

template <class T>
concept sequence = requires(const T& t)
{
    t.begin();
    t.end();
    typename T::value_type;
}
&&!string_map<T> && !std::is_convertible_v<const T&, std::string_view>;

template <class T>
void write_any(writer& w, const T& v);

template <class T>
void write_fields(writer& w, const T& v, bool first)
{
    std::apply(
        [&](const auto&... f) {
            auto one = [&](const auto& fd) {
                const auto& m = v.*(fd.member);
                if constexpr (is_optional<std::decay_t<decltype(m)>>::value) {
                    if (fd.omit_null && !m) {
                        return;
                    }
                }
                w.plain_key(fd.name, first);
                first = false;
                write_any(w, m);
            };
            (one(f), ...);
        },
        fields_of<T>);
    w.end_object(first);
}

template <class T>
void write_any(writer& w, const T& v)
{
    if constexpr (std::is_same_v<T, bool>) {
        w.boolean(v);
    } else if constexpr (std::is_integral_v<T>) {
        w.number(v);
    } else if constexpr (std::is_floating_point_v<T>) {
        if constexpr (std::is_same_v<T, float>) {
            w.number(v);
        } else {
            w.number(static_cast<double>(v));
        }
    } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
        w.string(std::string_view(v));
    } else if constexpr (is_optional<T>::value) {
        if (v) {
            write_any(w, *v);
        } else {
            w.null();
        }
    } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
        w.null();
    } else if constexpr (reflected_enum<T>) {
        for (const auto& e : enumerators_of<T>) {
            if (e.value == v) {
                w.string(e.name);
                return;
            }
        }
        w.null();  // a value the enum declaration does not name
    } else if constexpr (reflected<T>) {
        w.begin_object();
        write_fields(w, v, true);
    } else if constexpr (reflected_variant<T>) {
        constexpr auto& desc = variant_of<T>;
        std::visit(
            [&](const auto& alt) {
                w.begin_object();
                w.key(desc.key, true);
                w.string(desc.tags[v.index()]);
                write_fields(w, alt, false);
            },
            v);
    } else if constexpr (is_time_point<T>::value) {
        char buf[48];
        auto n = format_rfc3339(std::chrono::time_point_cast<std::chrono::nanoseconds>(v), buf);
        w.string(std::string_view(buf, n));
    } else if constexpr (std::is_same_v<T, value>) {
        write_value(w, v);
    } else if constexpr (string_map<T>) {
        w.begin_object();
        bool first = true;
        for (const auto& [k, e] : v) {
            w.key(std::string_view(k), first);
            first = false;
            write_any(w, e);
        }
        w.end_object(first);
    } else if constexpr (sequence<T>) {
        w.begin_array();
        bool first = true;
        for (const auto& e : v) {
            w.element(first);
            first = false;
            write_any(w, static_cast<const typename T::value_type&>(e));
        }
        w.end_array(first);
    } else {
        static_assert(
            always_false<T>,
            "covet::json cannot write this type: declare it with COVET_REFLECT, COVET_REFLECT_ENUM or "
            "COVET_REFLECT_VARIANT");
    }
}

}  // namespace detail

/// Appends the JSON of `v` to `w`.
template <class T>
void write(writer& w, const T& v)
{
    detail::write_any(w, v);
}

/// The JSON of `v` as a string.
template <class T>
std::string to_string(const T& v, write_options options = {})
{
    writer w(options);
    detail::write_any(w, v);
    return w.str();
}

}  // namespace covet::json
