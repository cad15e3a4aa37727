#include <covet/json/read.hpp>
#include <covet/json/value.hpp>
#include <covet/json/writer.hpp>

namespace covet::json {

double value::as_double() const noexcept
{
    switch (type()) {
    case kind::integer: return static_cast<double>(std::get<std::int64_t>(data_));
    case kind::unsigned_integer: return static_cast<double>(std::get<std::uint64_t>(data_));
    case kind::real: return std::get<double>(data_);
    default: return 0;
    }
}

const value* value::find(std::string_view key) const noexcept
{
    if (const auto* o = if_object()) {
        for (const auto& m : *o) {
            if (m.first == key) {
                return &m.second;
            }
        }
    }
    return nullptr;
}

const value* value::at(std::size_t i) const noexcept
{
    const auto* a = if_array();
    return a != nullptr && i < a->size() ? &(*a)[i] : nullptr;
}

bool operator==(const value& a, const value& b) noexcept
{
    // Integers compare by value whatever their storage; objects by members, in order.
    if (a.is_integer() && b.is_integer()) {
        if (a.type() == b.type()) {
            return a.data_ == b.data_;
        }
        return false;  // one is > INT64_MAX, the other is not
    }
    return a.data_ == b.data_;
}

void write_value(writer& w, const value& v)
{
    switch (v.type()) {
    case value::kind::null: w.null(); return;
    case value::kind::boolean: w.boolean(*v.if_bool()); return;
    case value::kind::integer: w.number(*v.if_int64()); return;
    case value::kind::unsigned_integer: w.number(*v.if_uint64()); return;
    case value::kind::real: w.number(*v.if_double()); return;
    case value::kind::string: w.string(*v.if_string()); return;
    case value::kind::array: {
        w.begin_array();
        bool first = true;
        for (const auto& e : *v.if_array()) {
            w.element(first);
            first = false;
            write_value(w, e);
        }
        w.end_array(first);
        return;
    }
    case value::kind::object: {
        w.begin_object();
        bool first = true;
        for (const auto& [k, e] : *v.if_object()) {
            w.key(k, first);
            first = false;
            write_value(w, e);
        }
        w.end_object(first);
        return;
    }
    }
}

parse_result<value> parse_value(std::string_view json, const parse_options& options)
{
    thread_local reader r;
    r.set_options(options);
    return r.parse<value>(json);
}

parse_result<value> parse_value(std::string_view json)
{
    return parse_value(json, parse_options{});
}

}  // namespace covet::json
