#include <covet/redis/resp.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

namespace covet::redis {

namespace {

class reader {
public:
    reader(std::string_view in, const parse_limits& limits) : in_(in), limits_(limits) {}

    parse_status read(value& out, std::size_t depth)
    {
        if (depth > limits_.max_depth) {
            return parse_status::invalid;
        }
        if (pos_ >= in_.size()) {
            return parse_status::incomplete;
        }
        const char marker = in_[pos_++];
        std::string_view line;
        if (auto st = read_line(line); st != parse_status::complete) {
            return st;
        }
        switch (marker) {
        case '+':
            out.type = type::simple_string;
            out.text.assign(line);
            return parse_status::complete;
        case '-':
            out.type = type::error;
            out.text.assign(line);
            return parse_status::complete;
        case ':':
            out.type = type::integer;
            return to_integer(line, out.integer) ? parse_status::complete : parse_status::invalid;
        case '$': return read_blob(line, out, type::bulk_string, true);
        case '!': return read_blob(line, out, type::error, false);
        case '=': return read_blob(line, out, type::verbatim, false);
        case '*': return read_aggregate(line, out, type::array, 1, true, depth);
        case '~': return read_aggregate(line, out, type::set, 1, false, depth);
        case '>': return read_aggregate(line, out, type::push, 1, false, depth);
        case '%': return read_aggregate(line, out, type::map, 2, false, depth);
        case '|': {
            // Attributes annotate the reply that follows: read and drop them.
            value attributes;
            if (auto st = read_aggregate(line, attributes, type::map, 2, false, depth);
                st != parse_status::complete) {
                return st;
            }
            return read(out, depth + 1);
        }
        case '_': out.type = type::null; return line.empty() ? parse_status::complete : parse_status::invalid;
        case '#':
            out.type = type::boolean;
            if (line == "t" || line == "f") {
                out.integer = line == "t" ? 1 : 0;
                return parse_status::complete;
            }
            return parse_status::invalid;
        case ',':
            out.type = type::number;
            return to_double(line, out.number) ? parse_status::complete : parse_status::invalid;
        case '(':
            out.type = type::big_number;
            if (!is_big_number(line)) {
                return parse_status::invalid;
            }
            out.text.assign(line);
            return parse_status::complete;
        default: return parse_status::invalid;
        }
    }

    std::size_t position() const noexcept { return pos_; }

private:
    /// The rest of the line up to CRLF; a bare CR or LF inside is invalid.
    parse_status read_line(std::string_view& line)
    {
        const std::size_t start = pos_;
        for (std::size_t i = start; i < in_.size(); ++i) {
            const char c = in_[i];
            if (c == '\n') {
                return parse_status::invalid;
            }
            if (c == '\r') {
                if (i + 1 >= in_.size()) {
                    return parse_status::incomplete;
                }
                if (in_[i + 1] != '\n') {
                    return parse_status::invalid;
                }
                line = in_.substr(start, i - start);
                pos_ = i + 2;
                return parse_status::complete;
            }
        }
        // Bound the wait for a line terminator: no header line is this long.
        return in_.size() - start > 64 * 1024 ? parse_status::invalid : parse_status::incomplete;
    }

    static bool to_integer(std::string_view s, std::int64_t& out) noexcept
    {
        if (!s.empty() && s.front() == '+') {
            s.remove_prefix(1);
            if (!s.empty() && s.front() == '-') {
                return false;
            }
        }
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return !s.empty() && ec == std::errc{} && end == s.data() + s.size();
    }

    static bool to_double(std::string_view s, double& out) noexcept
    {
        if (s == "inf" || s == "+inf") {
            out = std::numeric_limits<double>::infinity();
            return true;
        }
        if (s == "-inf") {
            out = -std::numeric_limits<double>::infinity();
            return true;
        }
        if (s == "nan" || s == "-nan") {
            out = std::numeric_limits<double>::quiet_NaN();
            return true;
        }
        if (!s.empty() && s.front() == '+') {
            s.remove_prefix(1);
        }
        if (s.empty()) {
            return false;
        }
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size() && std::isfinite(out);
    }

    static bool is_big_number(std::string_view s) noexcept
    {
        if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
            s.remove_prefix(1);
        }
        if (s.empty()) {
            return false;
        }
        for (const char c : s) {
            if (c < '0' || c > '9') {
                return false;
            }
        }
        return true;
    }

    /// A length line: -1 (null, when allowed) or 0..limit.
    bool to_length(std::string_view line, std::size_t limit, bool null_allowed, bool& is_null,
                   std::size_t& n) const
    {
        is_null = false;
        if (null_allowed && line == "-1") {
            is_null = true;
            return true;
        }
        if (line.empty() || line.size() > 19) {
            return false;
        }
        std::uint64_t v = 0;
        for (const char c : line) {
            if (c < '0' || c > '9') {
                return false;
            }
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (v > limit) {
            return false;
        }
        n = static_cast<std::size_t>(v);
        return true;
    }

    parse_status read_blob(std::string_view line, value& out, type t, bool null_allowed)
    {
        bool is_null = false;
        std::size_t n = 0;
        if (!to_length(line, limits_.max_bulk, null_allowed, is_null, n)) {
            return parse_status::invalid;
        }
        if (is_null) {
            out.type = type::null;
            return parse_status::complete;
        }
        if (in_.size() - pos_ < n + 2) {
            return parse_status::incomplete;
        }
        if (in_[pos_ + n] != '\r' || in_[pos_ + n + 1] != '\n') {
            return parse_status::invalid;
        }
        std::string_view data = in_.substr(pos_, n);
        pos_ += n + 2;
        if (t == type::verbatim) {
            // "txt:..." : a three-letter format and a colon.
            if (data.size() < 4 || data[3] != ':') {
                return parse_status::invalid;
            }
            data.remove_prefix(4);
        }
        out.type = t;
        out.text.assign(data);
        return parse_status::complete;
    }

    parse_status read_aggregate(std::string_view line, value& out, type t, std::size_t per_entry,
                                bool null_allowed, std::size_t depth)
    {
        bool is_null = false;
        std::size_t n = 0;
        if (!to_length(line, limits_.max_elements / per_entry, null_allowed, is_null, n)) {
            return parse_status::invalid;
        }
        if (is_null) {
            out.type = type::null;
            return parse_status::complete;
        }
        n *= per_entry;
        out.type = t;
        out.elements.clear();
        // Every element takes at least 3 bytes: do not reserve for a count
        // the input cannot hold yet.
        out.elements.reserve(std::min(n, (in_.size() - pos_) / 3 + 1));
        for (std::size_t i = 0; i < n; ++i) {
            value& element = out.elements.emplace_back();
            if (auto st = read(element, depth + 1); st != parse_status::complete) {
                return st;
            }
        }
        return parse_status::complete;
    }

    std::string_view in_;
    const parse_limits& limits_;
    std::size_t pos_ = 0;
};

template <class String>
void append_command_impl(std::string& out, std::span<const String> args)
{
    out += '*';
    out += std::to_string(args.size());
    out += "\r\n";
    for (const auto& a : args) {
        out += '$';
        out += std::to_string(a.size());
        out += "\r\n";
        out.append(a.data(), a.size());
        out += "\r\n";
    }
}

}  // namespace

parse_status parse(std::string_view input, value& out, std::size_t& used, const parse_limits& limits)
{
    reader r(input, limits);
    const parse_status st = r.read(out, 0);
    used = st == parse_status::complete ? r.position() : 0;
    return st;
}

void append_command(std::string& out, std::span<const std::string_view> args)
{
    append_command_impl(out, args);
}

void append_command(std::string& out, std::span<const std::string> args)
{
    append_command_impl(out, args);
}

}  // namespace covet::redis
