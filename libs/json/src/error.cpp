#include <covet/json/error.hpp>
#include <covet/json/read.hpp>
#include <covet/json/writer.hpp>

#include <algorithm>

namespace covet::json {

std::string_view kind_name(error_kind kind) noexcept
{
    switch (kind) {
    case error_kind::syntax: return "json_invalid";
    case error_kind::utf8: return "json_invalid";
    case error_kind::depth: return "json_too_deep";
    case error_kind::size: return "json_too_large";
    case error_kind::type: return "type_error";
    case error_kind::range: return "out_of_range";
    case error_kind::missing: return "missing";
    case error_kind::unknown_field: return "extra_forbidden";
    case error_kind::duplicate_key: return "duplicate_key";
    case error_kind::invalid_value: return "value_error";
    case error_kind::too_small: return "greater_than_equal";
    case error_kind::too_large: return "less_than_equal";
    case error_kind::too_short: return "too_short";
    case error_kind::too_long: return "too_long";
    case error_kind::pattern: return "string_pattern_mismatch";
    case error_kind::email: return "value_error.email";
    case error_kind::one_of: return "literal_error";
    case error_kind::custom: return "value_error";
    }
    return "value_error";
}

namespace {

bool is_identifier(std::string_view k) noexcept
{
    if (k.empty() || (k[0] >= '0' && k[0] <= '9')) {
        return false;
    }
    return std::all_of(k.begin(), k.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

}  // namespace

std::string error::path() const
{
    std::string out = "$";
    for (const auto& step : loc) {
        if (const auto* key = std::get_if<std::string>(&step)) {
            if (is_identifier(*key)) {
                out += '.';
                out += *key;
            } else {
                writer w;
                w.string(*key);
                out += '[';
                out += w.view();
                out += ']';
            }
        } else {
            out += '[';
            out += std::to_string(std::get<std::size_t>(step));
            out += ']';
        }
    }
    return out;
}

std::string error::to_string() const
{
    return path() + ": " + message;
}

void write_error_item(writer& w, bool first, std::string_view prefix, std::span<const path_element> loc,
                      std::string_view msg, std::string_view type)
{
    w.element(first);
    w.raw(R"({"loc":[)");
    bool first_step = true;
    if (!prefix.empty()) {
        w.string(prefix);
        first_step = false;
    }
    for (const auto& step : loc) {
        w.element(first_step);
        first_step = false;
        if (const auto* key = std::get_if<std::string>(&step)) {
            w.string(*key);
        } else {
            w.number(std::get<std::size_t>(step));
        }
    }
    w.raw(R"(],"msg":)");
    w.string(msg);
    w.raw(R"(,"type":)");
    w.string(type);
    w.put('}');
}

std::string error_body(std::span<const error> errors, std::string_view prefix)
{
    writer w;
    w.raw(R"({"detail":[)");
    bool first = true;
    for (const auto& e : errors) {
        write_error_item(w, first, prefix, e.loc, e.message, kind_name(e.kind));
        first = false;
    }
    w.raw("]}");
    return w.str();
}

namespace detail {

std::vector<path_element> materialize(const path_frame* at)
{
    std::size_t n = 0;
    for (const auto* f = at; f != nullptr; f = f->parent) {
        ++n;
    }
    std::vector<path_element> loc(n);
    for (const auto* f = at; f != nullptr; f = f->parent) {
        --n;
        if (f->is_index) {
            loc[n] = f->index;
        } else {
            loc[n] = std::string(f->key);
        }
    }
    return loc;
}

std::string_view type_name(od::json_type t) noexcept
{
    switch (t) {
    case od::json_type::array: return "array";
    case od::json_type::object: return "object";
    case od::json_type::number: return "number";
    case od::json_type::string: return "string";
    case od::json_type::boolean: return "boolean";
    case od::json_type::null: return "null";
    }
    return "unknown";
}

void context::fail(const path_frame* at, simdjson::error_code e)
{
    error_kind kind = error_kind::syntax;
    std::string message;
    switch (e) {
    case simdjson::UTF8_ERROR:
        kind = error_kind::utf8;
        message = "invalid UTF-8";
        break;
    case simdjson::DEPTH_ERROR:
        kind = error_kind::depth;
        message = "nesting too deep";
        break;
    case simdjson::CAPACITY:
        kind = error_kind::size;
        message = "document too large";
        break;
    case simdjson::STRING_ERROR: message = "invalid string (bad escape or control character)"; break;
    case simdjson::UNESCAPED_CHARS: message = "unescaped control character in string"; break;
    case simdjson::UNCLOSED_STRING: message = "unclosed string"; break;
    case simdjson::NUMBER_ERROR: message = "invalid number"; break;
    case simdjson::T_ATOM_ERROR:
    case simdjson::F_ATOM_ERROR:
    case simdjson::N_ATOM_ERROR: message = "invalid literal"; break;
    case simdjson::INCORRECT_TYPE: message = "invalid JSON value"; break;
    case simdjson::EMPTY: message = "empty document"; break;
    case simdjson::INCOMPLETE_ARRAY_OR_OBJECT: message = "unexpected end of document"; break;
    case simdjson::TRAILING_CONTENT: message = "unexpected content after the document"; break;
    default: message = fmt::format("malformed JSON ({})", simdjson::error_message(e)); break;
    }
    errors.push_back(error{materialize(at), kind, std::move(message)});
    fatal = true;
}

}  // namespace detail

bool reader::start(std::string_view json, detail::od::document& doc, detail::context& cx)
{
    if (json.size() > options_.max_size) {
        cx.add(nullptr, error_kind::size,
               fmt::format("document of {} bytes exceeds the limit of {} bytes", json.size(),
                           options_.max_size));
        return false;
    }
    // simdjson reads up to SIMDJSON_PADDING bytes past the end: parse a padded copy.
    std::size_t need = json.size() + simdjson::SIMDJSON_PADDING;
    if (need > capacity_) {
        capacity_ = std::max(need, capacity_ * 2);
        buffer_ = std::make_unique_for_overwrite<char[]>(capacity_);
    }
    std::memcpy(buffer_.get(), json.data(), json.size());
    std::memset(buffer_.get() + json.size(), 0, simdjson::SIMDJSON_PADDING);
    if (auto e = parser_.iterate(buffer_.get(), json.size(), capacity_).get(doc)) {
        cx.fail(nullptr, e);
        return false;
    }
    return true;
}

void reader::finish(detail::od::document& doc, detail::context& cx)
{
    if (cx.fatal || !cx.errors.empty()) {
        return;
    }
    // Fully consumed documents report OUT_OF_BOUNDS here; anything else is trailing content.
    if (doc.current_location().error() != simdjson::OUT_OF_BOUNDS) {
        cx.fail(nullptr, simdjson::TRAILING_CONTENT);
    }
}

}  // namespace covet::json
