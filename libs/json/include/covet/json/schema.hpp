#pragma once
// JSON Schema (draft 2020-12) generated from the reflected types, for request
// and response bodies in OpenAPI 3.1. Nested reflected structs become
// `$defs` entries referenced with `$ref`; the declared validators become
// keywords (minimum, maximum, minLength/minItems, maxLength/maxItems,
// pattern, format: email, enum); `defaulted` fields carry their `default`.
// check() predicates cannot be expressed and are left out.

#include <covet/json/read.hpp>
#include <covet/json/reflect.hpp>
#include <covet/json/value.hpp>
#include <covet/json/write.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

namespace covet::json {

namespace detail {

inline void set_member(value& obj, std::string_view key, value v)
{
    auto* o = obj.if_object();
    for (auto& m : *o) {
        if (m.first == key) {
            m.second = std::move(v);
            return;
        }
    }
    o->emplace_back(std::string(key), std::move(v));
}

inline value object_of(std::string_view key, value v)
{
    value::object_type o;
    o.emplace_back(std::string(key), std::move(v));
    return value(std::move(o));
}

class schema_builder {
public:
    value defs{value::object_type{}};

    template <class T>
    value of()
    {
        if constexpr (std::is_same_v<T, bool>) {
            return object_of("type", "boolean");
        } else if constexpr (std::is_integral_v<T>) {
            value s = object_of("type", "integer");
            set_member(s, "minimum", value(std::numeric_limits<T>::min()));
            set_member(s, "maximum", value(std::numeric_limits<T>::max()));
            return s;
        } else if constexpr (std::is_floating_point_v<T>) {
            return object_of("type", "number");
        } else if constexpr (std::is_convertible_v<const T&, std::string_view>) {
            return object_of("type", "string");
        } else if constexpr (is_optional<T>::value) {
            return nullable(of<typename T::value_type>());
        } else if constexpr (reflected_enum<T>) {
            value s = object_of("type", "string");
            value::array_type names;
            for (const auto& e : enumerators_of<T>) {
                names.emplace_back(e.name);
            }
            set_member(s, "enum", value(std::move(names)));
            return s;
        } else if constexpr (reflected<T>) {
            std::string name(type_name_of<T>);
            std::replace(name.begin(), name.end(), ':', '_');
            if (defs.find(name) == nullptr) {
                set_member(defs, name, value());  // placeholder: recursive types terminate
                value s = struct_schema<T>();
                set_member(defs, name, std::move(s));
            }
            return object_of("$ref", "#/$defs/" + name);
        } else if constexpr (reflected_variant<T>) {
            constexpr auto& desc = variant_of<T>;
            value::array_type alternatives;
            [&]<std::size_t... I>(std::index_sequence<I...>)
            {
                (alternatives.push_back(tagged<std::variant_alternative_t<I, T>>(desc.key, desc.tags[I])),
                 ...);
            }
            (std::make_index_sequence<std::variant_size_v<T>>{});
            return object_of("oneOf", value(std::move(alternatives)));
        } else if constexpr (is_time_point<T>::value) {
            value s = object_of("type", "string");
            set_member(s, "format", "date-time");
            return s;
        } else if constexpr (std::is_same_v<T, value>) {
            return value(value::object_type{});
        } else if constexpr (string_map<T>) {
            value s = object_of("type", "object");
            set_member(s, "additionalProperties", of<typename T::mapped_type>());
            return s;
        } else if constexpr (sequence<T>) {
            value s = object_of("type", "array");
            set_member(s, "items", of<typename T::value_type>());
            if constexpr (requires { std::tuple_size<T>::value; }) {
                set_member(s, "minItems", value(std::tuple_size<T>::value));
                set_member(s, "maxItems", value(std::tuple_size<T>::value));
            }
            return s;
        } else {
            static_assert(always_false<T>, "covet::json has no JSON Schema for this type");
        }
    }

private:
    static value nullable(value inner)
    {
        value::array_type any;
        any.push_back(std::move(inner));
        any.push_back(object_of("type", "null"));
        return object_of("anyOf", value(std::move(any)));
    }

    template <class M>
    static constexpr bool is_string_type()
    {
        if constexpr (is_optional<M>::value) {
            return is_string_type<typename M::value_type>();
        } else {
            return std::is_convertible_v<const M&, std::string_view>;
        }
    }

    template <class M, class O>
    static void constrain(value& s, const O& o)
    {
        constexpr bool text = is_string_type<M>();
        if constexpr (is_min<O>::value) {
            set_member(s, "minimum", value(o.value));
        } else if constexpr (is_max<O>::value) {
            set_member(s, "maximum", value(o.value));
        } else if constexpr (std::is_same_v<O, min_length>) {
            set_member(s, text ? "minLength" : "minItems", value(o.value));
        } else if constexpr (std::is_same_v<O, max_length>) {
            set_member(s, text ? "maxLength" : "maxItems", value(o.value));
        } else if constexpr (std::is_same_v<O, pattern>) {
            // JSON Schema patterns are not anchored; the validator matches the whole string.
            set_member(s, "pattern", "^(?:" + std::string(o.regex) + ")$");
        } else if constexpr (std::is_same_v<O, email_t>) {
            set_member(s, "format", "email");
        } else if constexpr (requires { o.values; }) {
            value::array_type allowed;
            for (const auto& v : o.values) {
                if constexpr (reflected_enum<std::decay_t<decltype(v)>>) {
                    value tmp;
                    for (const auto& e : enumerators_of<std::decay_t<decltype(v)>>) {
                        if (e.value == v) {
                            tmp = value(e.name);
                        }
                    }
                    allowed.push_back(std::move(tmp));
                } else {
                    allowed.emplace_back(v);
                }
            }
            set_member(s, "enum", value(std::move(allowed)));
        }
    }

    template <class T>
    value struct_schema(std::string_view tag_key = {}, std::string_view tag = {})
    {
        value props{value::object_type{}};
        value::array_type required;
        if (!tag_key.empty()) {
            set_member(props, tag_key, object_of("const", tag));
            required.emplace_back(tag_key);
        }
        std::apply(
            [&](const auto&... f) {
                auto one = [&](const auto& fd) {
                    using M = typename std::decay_t<decltype(fd)>::member_type;
                    value s;
                    if constexpr (is_optional<M>::value) {
                        value inner = of<typename M::value_type>();
                        std::apply([&](const auto&... o) { (constrain<M>(inner, o), ...); }, fd.options);
                        s = nullable(std::move(inner));
                    } else {
                        s = of<M>();
                        std::apply([&](const auto&... o) { (constrain<M>(s, o), ...); }, fd.options);
                    }
                    if constexpr (std::is_default_constructible_v<T>) {
                        if (!fd.required && !is_optional<M>::value) {
                            T defaults{};
                            if (auto d = parse_value(to_string(defaults.*(fd.member)))) {
                                set_member(s, "default", std::move(*d));
                            }
                        }
                    }
                    set_member(props, fd.name, std::move(s));
                    if (fd.required) {
                        required.emplace_back(fd.name);
                    }
                };
                (one(f), ...);
            },
            fields_of<T>);
        value s = object_of("type", "object");
        set_member(s, "properties", std::move(props));
        if (!required.empty()) {
            set_member(s, "required", value(std::move(required)));
        }
        return s;
    }

    template <class A>
    value tagged(std::string_view key, std::string_view tag)
    {
        static_assert(reflected<A>, "variant alternatives must be reflected structs");
        return struct_schema<A>(key, tag);
    }
};

}  // namespace detail

/// The JSON Schema (draft 2020-12) of T as a dynamic value.
template <class T>
value schema()
{
    detail::schema_builder b;
    value root = b.of<T>();
    if constexpr (reflected<T>) {
        // The root type itself is inlined; $defs keeps the nested ones.
        std::string name(type_name_of<T>);
        std::replace(name.begin(), name.end(), ':', '_');
        root = *b.defs.find(name);
        value others = b.defs;
        std::erase_if(*others.if_object(), [&](const value::member& m) { return m.first == name; });
        // Keep the root's $defs entry only when something refers back to it.
        std::string ref = "\"#/$defs/" + name + "\"";
        if (to_string(others).find(ref) == std::string::npos &&
            to_string(root).find(ref) == std::string::npos) {
            b.defs = std::move(others);
        }
    }
    value out = detail::object_of("$schema", "https://json-schema.org/draft/2020-12/schema");
    for (auto& m : *root.if_object()) {
        detail::set_member(out, m.first, m.second);
    }
    if (!b.defs.if_object()->empty()) {
        detail::set_member(out, "$defs", std::move(b.defs));
    }
    return out;
}

/// The JSON Schema of T as JSON text.
template <class T>
std::string schema_json(write_options options = {})
{
    return to_string(schema<T>(), options);
}

}  // namespace covet::json
