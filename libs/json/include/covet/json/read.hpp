#pragma once
// Parsing straight into reflected structs with simdjson's On Demand API: no
// DOM, every field converted in place, errors collected as values with their
// exact path. Type errors, missing and unknown fields and validation
// violations are all reported together; malformed JSON stops the parse.
//
//   covet::json::reader r;                       // reuse: buffers are kept
//   auto u = r.parse<user>(body);
//   if (!u) return unprocessable(covet::json::error_body(u.errors()));
//
// Lifetime: std::string_view members point into the reader's buffers and stay
// valid until that reader's next parse or its destruction.

#include <covet/json/error.hpp>
#include <covet/json/reflect.hpp>
#include <covet/json/time.hpp>
#include <covet/json/validate.hpp>
#include <covet/json/value.hpp>
#include <covet/json/write.hpp>

#include <fmt/format.h>
#include <simdjson.h>
#include <array>
#include <bitset>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace covet::json {

/// What to do with object keys a reflected type does not declare.
enum class unknown_fields : std::uint8_t { ignore, reject };

/// Limits and policies of a parse. Every limit has a safe default.
struct parse_options {
    unknown_fields unknown = unknown_fields::ignore;
    std::size_t max_depth = 128;             ///< nesting of objects and arrays
    std::size_t max_size = 8 * 1024 * 1024;  ///< bytes of input
    std::size_t max_errors = 64;             ///< stop collecting after this many
    bool validate = true;                    ///< run the validators declared with the fields
};

namespace detail {

namespace od = simdjson::ondemand;

// The location of the value being read: a linked list through the C++ stack,
// turned into an error's loc only when an error is reported.
struct path_frame {
    const path_frame* parent;
    std::string_view key;
    std::size_t index;
    bool is_index;
};

std::vector<path_element> materialize(const path_frame* at);
std::string_view type_name(od::json_type t) noexcept;

struct context {
    const parse_options& options;
    error_list errors;
    std::size_t depth = 0;
    bool fatal = false;

    void add(const path_frame* at, error_kind kind, std::string message)
    {
        errors.push_back(error{materialize(at), kind, std::move(message)});
        if (errors.size() >= options.max_errors) {
            fatal = true;
        }
    }
    // A malformed document: stop.
    void fail(const path_frame* at, simdjson::error_code e);
    bool enter(const path_frame* at)
    {
        if (++depth > options.max_depth) {
            add(at, error_kind::depth, fmt::format("nesting deeper than {}", options.max_depth));
            fatal = true;
            return false;
        }
        return true;
    }
    void leave() noexcept { --depth; }
};

template <class V>
void type_error(V& v, std::string_view expected, context& cx, const path_frame* at)
{
    od::json_type t;
    if (auto e = v.type().get(t)) {
        cx.fail(at, e);
        return;
    }
    cx.add(at, error_kind::type, fmt::format("expected {}, got {}", expected, type_name(t)));
}

template <class V>
void on_error(simdjson::error_code e, V& v, std::string_view expected, context& cx, const path_frame* at)
{
    if (e == simdjson::INCORRECT_TYPE) {
        type_error(v, expected, cx, at);
    } else if (e == simdjson::NUMBER_OUT_OF_RANGE) {
        cx.add(at, error_kind::range, fmt::format("number out of range for {}", expected));
    } else {
        cx.fail(at, e);
    }
}

template <class V, class T>
void read_any(V& v, T& out, context& cx, const path_frame* at);

template <class V>
void read_dynamic(V& v, value& out, context& cx, const path_frame* at);

// A number token without fraction or exponent (too large for 64 bits when
// simdjson classifies it as floating point).
template <class V>
bool integer_token(V& v)
{
    std::string_view raw;
    auto token = v.raw_json_token();  // a string_view for values, a result for documents
    if constexpr (std::is_same_v<decltype(token), std::string_view>) {
        raw = token;
    } else if (std::move(token).get(raw)) {
        return false;
    }
    return raw.find_first_of(".eE") == std::string_view::npos;
}

template <class I, class V>
void read_integer(V& v, I& out, context& cx, const path_frame* at)
{
    using lim = std::numeric_limits<I>;
    if constexpr (std::is_signed_v<I>) {
        std::int64_t x;
        if (auto e = v.get_int64().get(x)) {
            if (e == simdjson::INCORRECT_TYPE) {
                od::number_type nt;
                if (!v.get_number_type().get(nt) && nt == od::number_type::unsigned_integer) {
                    cx.add(at, error_kind::range,
                           fmt::format("integer out of range [{}, {}]", lim::min(), lim::max()));
                    return;
                }
                if (!v.get_number_type().get(nt)) {
                    if (integer_token(v)) {
                        cx.add(at, error_kind::range,
                               fmt::format("integer out of range [{}, {}]", lim::min(), lim::max()));
                    } else {
                        cx.add(at, error_kind::type, "expected integer, got float");
                    }
                    return;
                }
            }
            on_error(e, v, "integer", cx, at);
            return;
        }
        if constexpr (sizeof(I) < sizeof(std::int64_t)) {
            if (x < lim::min() || x > lim::max()) {
                cx.add(at, error_kind::range,
                       fmt::format("{} is out of range [{}, {}]", x, lim::min(), lim::max()));
                return;
            }
        }
        out = static_cast<I>(x);
    } else {
        std::uint64_t x;
        if (auto e = v.get_uint64().get(x)) {
            od::number_type nt;
            if ((e == simdjson::INCORRECT_TYPE || e == simdjson::NUMBER_OUT_OF_RANGE) &&
                !v.get_number_type().get(nt)) {
                if (nt == od::number_type::signed_integer || integer_token(v)) {
                    cx.add(at, error_kind::range, fmt::format("integer out of range [0, {}]", lim::max()));
                } else {
                    cx.add(at, error_kind::type, "expected integer, got float");
                }
                return;
            }
            on_error(e, v, "integer", cx, at);
            return;
        }
        if constexpr (sizeof(I) < sizeof(std::uint64_t)) {
            if (x > lim::max()) {
                cx.add(at, error_kind::range, fmt::format("{} is out of range [0, {}]", x, lim::max()));
                return;
            }
        }
        out = static_cast<I>(x);
    }
}

template <class V, class T>
void read_sequence(V& v, T& out, context& cx, const path_frame* at)
{
    using E = typename T::value_type;
    od::array arr;
    if (auto e = v.get_array().get(arr)) {
        on_error(e, v, "array", cx, at);
        return;
    }
    if (!cx.enter(at)) {
        return;
    }
    out.clear();
    if constexpr (requires { out.reserve(std::size_t{}); }) {
        // One pass over the structural index is cheaper than regrowing (and
        // moving every element) as the array is read.
        std::size_t count = 0;
        if (!arr.count_elements().get(count)) {
            out.reserve(count);
        }
    }
    std::size_t i = 0;
    for (auto element : arr) {
        od::value ev;
        if (auto e = std::move(element).get(ev)) {
            cx.fail(at, e);
            return;
        }
        path_frame here{at, {}, i++, true};
        if constexpr (std::is_same_v<E, bool>) {
            bool b = false;
            read_any(ev, b, cx, &here);
            out.push_back(b);
        } else {
            read_any(ev, out.emplace_back(), cx, &here);
        }
        if (cx.fatal) {
            return;
        }
    }
    cx.leave();
}

template <class V, class E, std::size_t N>
void read_fixed_array(V& v, std::array<E, N>& out, context& cx, const path_frame* at)
{
    od::array arr;
    if (auto e = v.get_array().get(arr)) {
        on_error(e, v, "array", cx, at);
        return;
    }
    if (!cx.enter(at)) {
        return;
    }
    std::size_t i = 0;
    for (auto element : arr) {
        od::value ev;
        if (auto e = std::move(element).get(ev)) {
            cx.fail(at, e);
            return;
        }
        path_frame here{at, {}, i, true};
        if (i < N) {
            read_any(ev, out[i], cx, &here);
        } else {
            value ignored;
            read_dynamic(ev, ignored, cx, &here);
        }
        ++i;
        if (cx.fatal) {
            return;
        }
    }
    cx.leave();
    if (i != N) {
        cx.add(at, error_kind::invalid_value, fmt::format("expected {} elements, got {}", N, i));
    }
}

template <class V, class T>
void read_map(V& v, T& out, context& cx, const path_frame* at)
{
    od::object obj;
    if (auto e = v.get_object().get(obj)) {
        on_error(e, v, "object", cx, at);
        return;
    }
    if (!cx.enter(at)) {
        return;
    }
    out.clear();
    for (auto member : obj) {
        od::field f;
        std::string_view key;
        if (auto e = std::move(member).get(f)) {
            cx.fail(at, e);
            return;
        }
        if (auto e = f.unescaped_key().get(key)) {
            cx.fail(at, e);
            return;
        }
        path_frame here{at, key, 0, false};
        auto [it, inserted] = out.try_emplace(typename T::key_type(key));
        if (!inserted) {
            cx.add(&here, error_kind::duplicate_key, fmt::format("duplicate key '{}'", key));
            continue;
        }
        read_any(f.value(), it->second, cx, &here);
        if (cx.fatal) {
            return;
        }
    }
    cx.leave();
}

template <class T>
inline constexpr auto field_names = std::apply(
    [](const auto&... f) { return std::array<std::string_view, sizeof...(f)>{f.name...}; }, fields_of<T>);

// Reads the members of an already opened object into `out`. `skip_key` is a
// variant discriminator that was handled by the caller.
template <class T>
void read_fields(od::object& obj, T& out, context& cx, const path_frame* at, std::string_view skip_key = {})
{
    constexpr auto& names = field_names<T>;
    constexpr std::size_t n = names.size();
    std::bitset<n == 0 ? 1 : n> seen;
    std::vector<std::string_view> other_keys;  // unknown keys, for duplicate detection
    std::size_t hint = 0;
    for (auto member : obj) {
        od::field f;
        if (auto e = std::move(member).get(f)) {
            cx.fail(at, e);
            return;
        }
        // Compare the raw key first: reflected names need no escaping, so a raw
        // match is exact, and most keys are matched without unescaping them.
        // Members usually arrive in declaration order: try the next one first.
        const od::raw_json_string raw = f.key();
        std::size_t idx = n;
        if (hint < n && raw.unsafe_is_equal(names[hint])) {
            idx = hint;
        } else {
            for (std::size_t i = 0; i < n; ++i) {
                if (raw.unsafe_is_equal(names[i])) {
                    idx = i;
                    break;
                }
            }
        }
        std::string_view key;
        if (idx < n) {
            key = names[idx];
        } else {
            if (auto e = f.unescaped_key().get(key)) {
                cx.fail(at, e);
                return;
            }
            for (std::size_t i = 0; i < n; ++i) {  // an escaped spelling of a known key
                if (names[i] == key) {
                    idx = i;
                    key = names[i];
                    break;
                }
            }
        }
        path_frame here{at, key, 0, false};
        if (idx == n) {
            bool duplicate = false;
            for (auto k : other_keys) {
                duplicate = duplicate || k == key;
            }
            if (duplicate) {
                cx.add(&here, error_kind::duplicate_key, fmt::format("duplicate key '{}'", key));
            } else if (!skip_key.empty() && key == skip_key) {
                other_keys.push_back(key);
            } else {
                other_keys.push_back(key);
                if (cx.options.unknown == unknown_fields::reject) {
                    cx.add(&here, error_kind::unknown_field, "unknown field");
                }
                // Skipped values are still checked: nothing malformed passes.
                value ignored;
                read_dynamic(f.value(), ignored, cx, &here);
            }
            if (cx.fatal) {
                return;
            }
            continue;
        }
        if (seen[idx]) {
            cx.add(&here, error_kind::duplicate_key, fmt::format("duplicate key '{}'", key));
            if (cx.fatal) {
                return;
            }
            continue;
        }
        seen[idx] = true;
        hint = idx + 1;
        std::size_t errors_before = cx.errors.size();
        [&]<std::size_t... I>(std::index_sequence<I...>)
        {
            auto one = [&](const auto& fd) {
                auto& m = out.*(fd.member);
                read_any(f.value(), m, cx, &here);
                if (cx.options.validate && cx.errors.size() == errors_before && !cx.fatal) {
                    validate_field(fd, m,
                                   [&](error_kind k, std::string msg) { cx.add(&here, k, std::move(msg)); });
                }
            };
            static_cast<void>(((idx == I ? (one(std::get<I>(fields_of<T>)), true) : false) || ...));
        }
        (std::make_index_sequence<n>{});
        if (cx.fatal) {
            return;
        }
    }
    if (seen.count() != n) {
        [&]<std::size_t... I>(std::index_sequence<I...>)
        {
            auto one = [&](std::size_t i, const auto& fd) {
                if (!seen[i] && fd.required) {
                    path_frame here{at, fd.name, 0, false};
                    cx.add(&here, error_kind::missing, "field required");
                }
            };
            (one(I, std::get<I>(fields_of<T>)), ...);
        }
        (std::make_index_sequence<n>{});
    }
}

template <class V, class T>
void read_struct(V& v, T& out, context& cx, const path_frame* at)
{
    od::object obj;
    if (auto e = v.get_object().get(obj)) {
        on_error(e, v, "object", cx, at);
        return;
    }
    if (!cx.enter(at)) {
        return;
    }
    read_fields(obj, out, cx, at);
    if (!cx.fatal) {
        cx.leave();
    }
}

template <class V, class T>
void read_variant(V& v, T& out, context& cx, const path_frame* at)
{
    constexpr auto& desc = variant_of<T>;
    od::object obj;
    if (auto e = v.get_object().get(obj)) {
        on_error(e, v, "object", cx, at);
        return;
    }
    if (!cx.enter(at)) {
        return;
    }
    path_frame tag_at{at, desc.key, 0, false};
    od::value tv;
    if (auto e = obj.find_field_unordered(desc.key).get(tv)) {
        if (e == simdjson::NO_SUCH_FIELD) {
            cx.add(&tag_at, error_kind::missing, "field required");
        } else {
            cx.fail(at, e);
        }
        return;
    }
    std::string_view tag;
    if (auto e = tv.get_string().get(tag)) {
        on_error(e, tv, "string", cx, &tag_at);
        return;
    }
    std::size_t idx = desc.tags.size();
    for (std::size_t i = 0; i < desc.tags.size(); ++i) {
        if (desc.tags[i] == tag) {
            idx = i;
        }
    }
    if (idx == desc.tags.size()) {
        std::string allowed;
        for (auto t : desc.tags) {
            allowed += allowed.empty() ? "'" : ", '";
            allowed += t;
            allowed += "'";
        }
        cx.add(&tag_at, error_kind::invalid_value, fmt::format("expected one of {}, got '{}'", allowed, tag));
        return;
    }
    bool has_members = false;
    if (auto e = obj.reset().get(has_members)) {
        cx.fail(at, e);
        return;
    }
    [&]<std::size_t... I>(std::index_sequence<I...>)
    {
        static_cast<void>(
            ((idx == I ? (read_fields(obj, out.template emplace<I>(), cx, at, desc.key), true) : false) ||
             ...));
    }
    (std::make_index_sequence<std::variant_size_v<T>>{});
    if (!cx.fatal) {
        cx.leave();
    }
}

template <class V>
void read_dynamic(V& v, value& out, context& cx, const path_frame* at)
{
    od::json_type t;
    if (auto e = v.type().get(t)) {
        cx.fail(at, e);
        return;
    }
    switch (t) {
    case od::json_type::array: {
        od::array arr;
        if (auto e = v.get_array().get(arr)) {
            cx.fail(at, e);
            return;
        }
        if (!cx.enter(at)) {
            return;
        }
        value::array_type items;
        std::size_t i = 0;
        for (auto element : arr) {
            od::value ev;
            if (auto e = std::move(element).get(ev)) {
                cx.fail(at, e);
                return;
            }
            path_frame here{at, {}, i++, true};
            read_dynamic(ev, items.emplace_back(), cx, &here);
            if (cx.fatal) {
                return;
            }
        }
        cx.leave();
        out = value(std::move(items));
        return;
    }
    case od::json_type::object: {
        od::object obj;
        if (auto e = v.get_object().get(obj)) {
            cx.fail(at, e);
            return;
        }
        if (!cx.enter(at)) {
            return;
        }
        value::object_type members;
        for (auto member : obj) {
            od::field f;
            std::string_view key;
            if (auto e = std::move(member).get(f)) {
                cx.fail(at, e);
                return;
            }
            if (auto e = f.unescaped_key().get(key)) {
                cx.fail(at, e);
                return;
            }
            path_frame here{at, key, 0, false};
            bool duplicate = false;
            for (const auto& m : members) {
                duplicate = duplicate || m.first == key;
            }
            if (duplicate) {
                cx.add(&here, error_kind::duplicate_key, fmt::format("duplicate key '{}'", key));
                value ignored;
                read_dynamic(f.value(), ignored, cx, &here);
            } else {
                auto& m = members.emplace_back(std::string(key), value());
                read_dynamic(f.value(), m.second, cx, &here);
            }
            if (cx.fatal) {
                return;
            }
        }
        cx.leave();
        out = value(std::move(members));
        return;
    }
    case od::json_type::number: {
        od::number num;
        if (auto e = v.get_number().get(num)) {
            cx.fail(at, e);
            return;
        }
        switch (num.get_number_type()) {
        case od::number_type::signed_integer: out = value(num.get_int64()); break;
        case od::number_type::unsigned_integer: out = value(num.get_uint64()); break;
        default: {
            // simdjson 3.0's get_number() yields 0 for a float with ~19 or
            // more integer digits (found by the fuzzer); get_double() is right,
            // so re-read the raw token with the dedicated float parser.
            double d = num.get_double();
            const std::string_view raw = simdjson::trim(v.raw_json_token());
            if (raw.size() >= 19) {
                double exact = 0;
                const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), exact);
                if (ec == std::errc{} && end == raw.data() + raw.size()) {
                    d = exact;
                }
            }
            out = value(d);
            break;
        }
        }
        return;
    }
    case od::json_type::string: {
        std::string_view s;
        if (auto e = v.get_string().get(s)) {
            cx.fail(at, e);
            return;
        }
        out = value(s);
        return;
    }
    case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) {
            cx.fail(at, e == simdjson::INCORRECT_TYPE ? simdjson::T_ATOM_ERROR : e);
            return;
        }
        out = value(b);
        return;
    }
    case od::json_type::null: {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null)) {
            cx.fail(at, e);
            return;
        }
        if (!is_null) {
            cx.fail(at, simdjson::N_ATOM_ERROR);
            return;
        }
        out = value();
        return;
    }
    }
    cx.fail(at, simdjson::TAPE_ERROR);
}

template <class V, class T>
void read_any(V& v, T& out, context& cx, const path_frame* at)
{
    if constexpr (std::is_same_v<T, bool>) {
        if (auto e = v.get_bool().get(out)) {
            on_error(e, v, "boolean", cx, at);
        }
    } else if constexpr (std::is_integral_v<T>) {
        read_integer(v, out, cx, at);
    } else if constexpr (std::is_floating_point_v<T>) {
        double d;
        if (auto e = v.get_double().get(d)) {
            on_error(e, v, "number", cx, at);
            return;
        }
        if constexpr (std::is_same_v<T, float>) {
            if (d > std::numeric_limits<float>::max() || d < std::numeric_limits<float>::lowest()) {
                cx.add(at, error_kind::range, "number out of range for float");
                return;
            }
        }
        out = static_cast<T>(d);
    } else if constexpr (std::is_same_v<T, std::string>) {
        std::string_view s;
        if (auto e = v.get_string().get(s)) {
            on_error(e, v, "string", cx, at);
            return;
        }
        out.assign(s.data(), s.size());
    } else if constexpr (std::is_same_v<T, std::string_view>) {
        if (auto e = v.get_string().get(out)) {
            on_error(e, v, "string", cx, at);
        }
    } else if constexpr (is_optional<T>::value) {
        bool is_null = false;
        if (auto e = v.is_null().get(is_null)) {
            cx.fail(at, e);
            return;
        }
        if (is_null) {
            out.reset();
        } else {
            read_any(v, out.emplace(), cx, at);
        }
    } else if constexpr (reflected_enum<T>) {
        std::string_view s;
        if (auto e = v.get_string().get(s)) {
            on_error(e, v, "string", cx, at);
            return;
        }
        for (const auto& en : enumerators_of<T>) {
            if (en.name == s) {
                out = en.value;
                return;
            }
        }
        std::string allowed;
        for (const auto& en : enumerators_of<T>) {
            allowed += allowed.empty() ? "'" : ", '";
            allowed += en.name;
            allowed += "'";
        }
        cx.add(at, error_kind::invalid_value, fmt::format("expected one of {}, got '{}'", allowed, s));
    } else if constexpr (reflected<T>) {
        read_struct(v, out, cx, at);
    } else if constexpr (reflected_variant<T>) {
        read_variant(v, out, cx, at);
    } else if constexpr (is_time_point<T>::value) {
        std::string_view s;
        if (auto e = v.get_string().get(s)) {
            on_error(e, v, "string", cx, at);
            return;
        }
        auto t = parse_rfc3339(s);
        if (!t) {
            cx.add(at, error_kind::invalid_value, "expected an RFC 3339 date-time");
            return;
        }
        out = std::chrono::time_point_cast<typename T::duration>(*t);
    } else if constexpr (std::is_same_v<T, value>) {
        read_dynamic(v, out, cx, at);
    } else if constexpr (string_map<T>) {
        read_map(v, out, cx, at);
    } else if constexpr (requires { std::tuple_size<T>::value; } && sequence<T>) {
        read_fixed_array(v, out, cx, at);
    } else if constexpr (sequence<T> && requires(T t) { t.emplace_back(); }) {
        read_sequence(v, out, cx, at);
    } else {
        static_assert(
            always_false<T>,
            "covet::json cannot read this type: declare it with COVET_REFLECT, COVET_REFLECT_ENUM or "
            "COVET_REFLECT_VARIANT");
    }
}

}  // namespace detail

/// A reusable parser: keeps simdjson's buffers and a padded copy of the input
/// between documents, so a warm reader does not allocate for the parse itself.
/// Not thread-safe: use one per thread.
class reader {
public:
    explicit reader(parse_options options = {}) : options_(options) {}

    const parse_options& options() const noexcept { return options_; }
    void set_options(const parse_options& options) noexcept { options_ = options; }

    /// Parses `json` into a new T. See the lifetime note at the top of this header.
    template <class T>
    parse_result<T> parse(std::string_view json)
    {
        T out{};
        auto errors = parse_into(json, out);
        if (!errors.empty()) {
            return parse_result<T>(std::move(errors));
        }
        return parse_result<T>(std::move(out));
    }

    /// Parses `json` into an existing object (members not in the input keep
    /// their values). Returns every error; empty on success.
    template <class T>
    error_list parse_into(std::string_view json, T& out)
    {
        detail::context cx{options_, {}};
        detail::od::document doc;
        if (!start(json, doc, cx)) {
            return std::move(cx.errors);
        }
        detail::read_any(doc, out, cx, nullptr);
        finish(doc, cx);
        return std::move(cx.errors);
    }

private:
    bool start(std::string_view json, detail::od::document& doc, detail::context& cx);
    void finish(detail::od::document& doc, detail::context& cx);

    parse_options options_;
    simdjson::ondemand::parser parser_;
    std::unique_ptr<char[]> buffer_;
    std::size_t capacity_ = 0;
};

/// Parses with a thread-local reader. Do not use it for types with
/// std::string_view members (they would point into the shared buffers).
template <class T>
parse_result<T> parse(std::string_view json, const parse_options& options = {})
{
    thread_local reader r;
    r.set_options(options);
    return r.parse<T>(json);
}

}  // namespace covet::json
