#include <covet/base/hex.hpp>
#include <covet/http/parser.hpp>

#include <algorithm>
#include <cstring>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif
#include <string>

namespace covet::http {

namespace {

constexpr std::array<bool, 256> make_tchar_table()
{
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) {
        t[c] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[c] = true;
        t[c - 'a' + 'A'] = true;
    }
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) {
        t[static_cast<unsigned char>(c)] = true;
    }
    return t;
}
constexpr auto tchar = make_tchar_table();

bool is_token(std::string_view s) noexcept
{
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!tchar[static_cast<unsigned char>(c)]) {
            return false;
        }
    }
    return true;
}

constexpr bool is_ows(char c) noexcept
{
    return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && is_ows(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_ows(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

// Calls fn(token) for each element of a comma-separated list, skipping
// empty elements as RFC 9110 section 5.6.1 asks recipients to.
template <class Fn>
void for_each_list_item(std::string_view list, Fn&& fn)
{
    while (!list.empty()) {
        const auto comma = list.find(',');
        std::string_view item = trim_ows(list.substr(0, comma));
        if (!item.empty()) {
            fn(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
}

bool parse_decimal(std::string_view s, std::uint64_t& out) noexcept
{
    if (s.empty() || s.size() > 19) {  // 19 digits always fit in 64 bits
        return false;
    }
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    out = v;
    return true;
}

// Position of the first LF in base[from, to), or `to`. Inline SSE2 (the
// x86-64 baseline): lines are short, so a call into memchr costs more than
// the search.
inline std::size_t find_lf(const char* base, std::size_t from, std::size_t to) noexcept
{
#if defined(__x86_64__)
    const __m128i lf = _mm_set1_epi8('\n');
    while (from + 16 <= to) {
        const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + from));
        if (const int mask = _mm_movemask_epi8(_mm_cmpeq_epi8(block, lf))) {
            return from + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
        }
        from += 16;
    }
#endif
    for (; from < to; ++from) {
        if (base[from] == '\n') {
            return from;
        }
    }
    return to;
}

// `name` (already validated as a token) equals the lower-case `lower` of the
// same length. OR-ing 0x20 folds case; for token bytes it maps nothing else
// onto a letter or '-'.
inline bool token_equals_lower(std::string_view name, std::string_view lower) noexcept
{
    std::size_t i = 0;
    for (; i + 8 <= name.size(); i += 8) {
        std::uint64_t a;
        std::uint64_t b;
        std::memcpy(&a, name.data() + i, 8);
        std::memcpy(&b, lower.data() + i, 8);
        if ((a | 0x2020202020202020ull) != b) {
            return false;
        }
    }
    for (; i < name.size(); ++i) {
        if ((static_cast<unsigned char>(name[i]) | 0x20) != static_cast<unsigned char>(lower[i])) {
            return false;
        }
    }
    return true;
}

known_header classify(std::string_view name) noexcept
{
    switch (name.size()) {
    case 4:
        if (token_equals_lower(name, "host")) {
            return known_header::host;
        }
        break;
    case 6:
        if (token_equals_lower(name, "expect")) {
            return known_header::expect;
        }
        break;
    case 7:
        if (token_equals_lower(name, "upgrade")) {
            return known_header::upgrade;
        }
        break;
    case 10:
        if (token_equals_lower(name, "connection")) {
            return known_header::connection;
        }
        break;
    case 12:
        if (token_equals_lower(name, "content-type")) {
            return known_header::content_type;
        }
        break;
    case 14:
        if (token_equals_lower(name, "content-length")) {
            return known_header::content_length;
        }
        break;
    case 17:
        if (token_equals_lower(name, "transfer-encoding")) {
            return known_header::transfer_encoding;
        }
        break;
    default: break;
    }
    return known_header::count_;
}

// uri-host [ ":" port ] (RFC 9110 section 7.2): unreserved, pct-encoded,
// sub-delims, ':' and the brackets of an IP literal.
bool valid_host(std::string_view host) noexcept
{
    for (char c : host) {
        const auto u = static_cast<unsigned char>(c);
        const bool ok = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
                        std::string_view("-._~%!$&'()*+,;=:[]").find(c) != std::string_view::npos;
        if (!ok) {
            return false;
        }
    }
    return true;
}

constexpr std::size_t max_leading_empty_lines = 4;

class parse_error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "covet.http.parse"; }
    std::string message(int value) const override
    {
        switch (static_cast<parse_error>(value)) {
        case parse_error::none: return "no error";
        case parse_error::bad_request_line: return "malformed request line";
        case parse_error::bad_method: return "invalid method";
        case parse_error::bad_target: return "invalid request target";
        case parse_error::bad_version: return "malformed HTTP version";
        case parse_error::unsupported_version: return "HTTP version not supported";
        case parse_error::bare_line_feed: return "line feed without carriage return";
        case parse_error::invalid_character: return "invalid character in a field";
        case parse_error::obs_fold: return "obsolete line folding";
        case parse_error::bad_header_name: return "invalid field name";
        case parse_error::whitespace_before_colon: return "whitespace between field name and colon";
        case parse_error::missing_host: return "missing Host header";
        case parse_error::duplicate_host: return "more than one Host header";
        case parse_error::bad_host: return "invalid Host header";
        case parse_error::bad_content_length: return "invalid Content-Length";
        case parse_error::conflicting_content_length: return "conflicting Content-Length values";
        case parse_error::content_length_with_chunked:
            return "Content-Length together with Transfer-Encoding";
        case parse_error::unsupported_transfer_coding: return "unsupported transfer coding";
        case parse_error::chunked_not_final: return "chunked is not the final transfer coding";
        case parse_error::transfer_encoding_http10: return "Transfer-Encoding in an HTTP/1.0 message";
        case parse_error::request_line_too_long: return "request line too long";
        case parse_error::header_line_too_long: return "header field too long";
        case parse_error::too_many_headers: return "too many header fields";
        case parse_error::head_too_large: return "request head too large";
        case parse_error::body_too_large: return "request content too large";
        case parse_error::bad_chunk_size: return "invalid chunk size";
        case parse_error::bad_chunk_extension: return "invalid chunk extension";
        case parse_error::bad_chunk_terminator: return "chunk data not terminated by CRLF";
        case parse_error::bad_trailer: return "invalid trailer section";
        case parse_error::unsupported_expectation: return "unsupported expectation";
        case parse_error::too_many_empty_lines: return "too many empty lines before the request line";
        }
        return "unknown parse error";
    }
};

}  // namespace

const std::error_category& parse_error_category() noexcept
{
    static const parse_error_category_impl category;
    return category;
}

status status_for(parse_error e) noexcept
{
    switch (e) {
    case parse_error::unsupported_version: return status::http_version_not_supported;
    case parse_error::unsupported_transfer_coding: return status::not_implemented;
    case parse_error::request_line_too_long: return status::uri_too_long;
    case parse_error::header_line_too_long:
    case parse_error::too_many_headers:
    case parse_error::head_too_large: return status::request_header_fields_too_large;
    case parse_error::body_too_large: return status::content_too_large;
    case parse_error::unsupported_expectation: return status::expectation_failed;
    default: return status::bad_request;
    }
}

namespace detail {

known_header classify_field_name(std::string_view name) noexcept
{
    return classify(name);
}

parse_error parse_field_line(std::string_view line, header& out) noexcept
{
    const char* p = line.data();
    const char* end = p + line.size();
    if (p == end || is_ows(*p)) {
        return parse_error::obs_fold;
    }
    // The name is validated while looking for the colon.
    const char* q = p;
    while (q < end && tchar[static_cast<unsigned char>(*q)]) {
        ++q;
    }
    if (q == end) {
        return parse_error::bad_header_name;
    }
    if (*q != ':') {
        if (is_ows(*q)) {
            const char* r = q;
            while (r < end && is_ows(*r)) {
                ++r;
            }
            if (r < end && *r == ':') {
                return parse_error::whitespace_before_colon;
            }
        }
        return parse_error::bad_header_name;
    }
    if (q == p) {
        return parse_error::bad_header_name;
    }
    const char* v = q + 1;
    while (v < end && is_ows(*v)) {
        ++v;
    }
    const char* v_end = end;
    while (v_end > v && is_ows(v_end[-1])) {
        --v_end;
    }
    if (find_invalid_field_byte(v, v_end) != v_end) {
        return parse_error::invalid_character;
    }
    out = {std::string_view(p, static_cast<std::size_t>(q - p)),
           std::string_view(v, static_cast<std::size_t>(v_end - v))};
    return parse_error::none;
}

}  // namespace detail

// ---------------------------------------------------------------------------
// request_parser

request_parser::request_parser(parser_limits limits) : limits_(limits)
{
    headers_.resize(limits_.max_headers);
    line_ends_.reserve(limits_.max_headers + 1);
    reset();
}

void request_parser::reset() noexcept
{
    line_ends_.clear();
    head_ = request_head{};
    head_.known.fill(-1);
    error_ = parse_error::none;
    scanned_ = 0;
    line_start_ = 0;
    request_line_start_ = 0;
    lines_ = 0;
}

parse_status request_parser::parse(std::string_view data) noexcept
{
    if (error_ != parse_error::none) {
        return parse_status::error;
    }
    const char* base = data.data();
    const std::size_t n = data.size();
    std::size_t pos = scanned_;
    while (pos < n) {
        const std::size_t at = find_lf(base, pos, n);
        if (at == n) {
            pos = n;
            break;
        }
        // Limits that a byte-by-byte feed would have hit before this LF arrived
        // come first, so the error does not depend on how the input was split.
        if (auto e = partial_limit_error(at); e != parse_error::none) {
            return fail(e);
        }
        if (at == line_start_ || base[at - 1] != '\r') {
            return fail(parse_error::bare_line_feed);
        }
        const std::size_t line_length = at - 1 - line_start_;
        if (lines_ == 0) {
            if (line_length == 0) {
                // RFC 9112 section 2.2: ignore empty lines before a request line.
                if (line_start_ / 2 >= max_leading_empty_lines) {
                    return fail(parse_error::too_many_empty_lines);
                }
                line_start_ = request_line_start_ = pos = at + 1;
                continue;
            }
            if (line_length > limits_.max_request_line) {
                return fail(parse_error::request_line_too_long);
            }
        } else {
            if (line_length == 0) {
                head_.head_size = at + 1;
                scanned_ = at + 1;
                if (at + 1 - request_line_start_ > limits_.max_head_bytes) {
                    return fail(parse_error::head_too_large);
                }
                const auto status =
                    parse_head(data.substr(request_line_start_, at + 1 - request_line_start_));
                return status == parse_status::complete ? check_semantics() : status;
            }
            if (line_length > limits_.max_header_line) {
                return fail(parse_error::header_line_too_long);
            }
            if (lines_ > limits_.max_headers) {
                return fail(parse_error::too_many_headers);
            }
        }
        ++lines_;
        line_ends_.push_back(static_cast<std::uint32_t>(at));
        line_start_ = pos = at + 1;
    }
    scanned_ = pos;
    if (auto e = partial_limit_error(n); e != parse_error::none) {
        return fail(e);
    }
    return parse_status::need_more;
}

parse_error request_parser::partial_limit_error(std::size_t received) const noexcept
{
    // Each limit becomes visible at a byte position; report the earliest one
    // crossed, so that the error does not depend on how the input was split.
    // A line may hold one more byte than its limit: a CR whose LF is pending.
    const std::size_t line_limit = lines_ == 0 ? limits_.max_request_line : limits_.max_header_line;
    const std::size_t line_crossed = line_start_ + line_limit + 2;
    const std::size_t head_crossed = request_line_start_ + limits_.max_head_bytes + 1;
    const std::size_t first = std::min(line_crossed, head_crossed);
    if (received < first) {
        return parse_error::none;
    }
    if (head_crossed <= line_crossed) {
        return parse_error::head_too_large;
    }
    return lines_ == 0 ? parse_error::request_line_too_long : parse_error::header_line_too_long;
}

parse_status request_parser::parse_head(std::string_view head) noexcept
{
    // Line ends were recorded while scanning, relative to the data start.
    const char* data = head.data() - request_line_start_;
    std::string_view line(head.data(), line_ends_[0] - 1 - request_line_start_);

    // The method is short and the version is the last 8 bytes: find the two
    // spaces without a library call.
    std::size_t sp1 = 0;
    while (sp1 < line.size() && line[sp1] != ' ') {
        ++sp1;
    }
    if (sp1 == line.size() || sp1 == 0) {
        return fail(parse_error::bad_request_line);
    }
    std::size_t sp2 = sp1 + 1;
    if (line.size() >= sp1 + 10 && line[line.size() - 9] == ' ') {
        sp2 = line.size() - 9;  // the usual "... HTTP/1.1"
        if (line.substr(sp1 + 1, sp2 - sp1 - 1).find(' ') != std::string_view::npos) {
            sp2 = line.find(' ', sp1 + 1);
        }
    } else {
        sp2 = line.find(' ', sp1 + 1);
    }
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
        return fail(parse_error::bad_request_line);
    }
    head_.method_name = line.substr(0, sp1);
    if (!is_token(head_.method_name)) {
        return fail(parse_error::bad_method);
    }
    head_.method = method_from_string(head_.method_name);
    head_.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const char* target_end = head_.target.data() + head_.target.size();
    if (detail::find_non_vchar(head_.target.data(), target_end) != target_end) {
        return fail(parse_error::bad_target);
    }
    const std::string_view version = line.substr(sp2 + 1);
    if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
        version[5] > '9' || version[7] < '0' || version[7] > '9') {
        return fail(parse_error::bad_version);
    }
    if (version[5] != '1') {
        return fail(parse_error::unsupported_version);
    }
    // A higher minor version is processed as the highest we implement (RFC 9110 6.2).
    head_.version_minor = version[7] == '0' ? 0 : 1;

    // Request-target forms (RFC 9112 section 3.2).
    const std::string_view target = head_.target;
    if (head_.method == method::connect) {
        if (target.front() == '/' || target.find('/') != std::string_view::npos) {
            return fail(parse_error::bad_target);  // authority-form only
        }
    } else if (target == "*") {
        if (head_.method != method::options) {
            return fail(parse_error::bad_target);
        }
    } else if (target.front() != '/') {
        const auto scheme_end = target.find("://");
        if (scheme_end == std::string_view::npos || !(iequals(target.substr(0, scheme_end), "http") ||
                                                      iequals(target.substr(0, scheme_end), "https"))) {
            return fail(parse_error::bad_target);
        }
    }

    bool connection_close = false;
    bool connection_keep_alive = false;
    bool content_length_seen = false;
    bool te_seen = false;
    bool te_chunked_last = false;
    bool te_chunked_twice = false;
    bool te_other = false;
    int hosts = 0;

    std::size_t count = 0;
    for (std::size_t i = 1; i < line_ends_.size(); ++i) {
        const std::size_t from = line_ends_[i - 1] + 1;
        header& h = headers_[count];
        if (const auto e =
                detail::parse_field_line(std::string_view(data + from, line_ends_[i] - 1 - from), h);
            e != parse_error::none) {
            return fail(e);
        }
        const known_header kind = classify(h.name);
        if (kind != known_header::count_ && head_.known[static_cast<std::size_t>(kind)] < 0) {
            head_.known[static_cast<std::size_t>(kind)] = static_cast<std::int16_t>(count);
        }
        ++count;
        switch (kind) {
        case known_header::host:
            if (++hosts > 1) {
                return fail(parse_error::duplicate_host);
            }
            if (!valid_host(h.value)) {
                return fail(parse_error::bad_host);
            }
            break;
        case known_header::content_length: {
            // A list of identical values is accepted (RFC 9110 section 8.6).
            bool bad = false;
            bool conflict = false;
            for_each_list_item(h.value, [&](std::string_view item) {
                std::uint64_t v = 0;
                if (!parse_decimal(item, v)) {
                    bad = true;
                } else if (content_length_seen && v != head_.content_length) {
                    conflict = true;
                } else {
                    head_.content_length = v;
                    content_length_seen = true;
                }
            });
            if (bad || !content_length_seen) {
                return fail(parse_error::bad_content_length);
            }
            if (conflict) {
                return fail(parse_error::conflicting_content_length);
            }
            break;
        }
        case known_header::transfer_encoding:
            te_seen = true;
            for_each_list_item(h.value, [&](std::string_view coding) {
                if (iequals(coding, "chunked")) {
                    te_chunked_twice = te_chunked_twice || te_chunked_last;
                    te_chunked_last = true;
                } else {
                    // A coding after chunked leaves chunked non-final.
                    te_other = true;
                    te_chunked_last = false;
                }
            });
            break;
        case known_header::connection:
            for_each_list_item(h.value, [&](std::string_view option) {
                if (iequals(option, "close")) {
                    connection_close = true;
                } else if (iequals(option, "keep-alive")) {
                    connection_keep_alive = true;
                }
            });
            break;
        case known_header::expect:
            if (iequals(h.value, "100-continue")) {
                head_.expect_continue = true;
            } else {
                return fail(parse_error::unsupported_expectation);
            }
            break;
        default: break;
        }
    }
    head_.headers = std::span<const header>(headers_.data(), count);

    if (head_.version_minor == 1 && hosts == 0) {
        return fail(parse_error::missing_host);
    }
    if (te_seen) {
        // RFC 9112 section 6.1 and 6.3: each of these is a framing error.
        if (head_.version_minor == 0) {
            return fail(parse_error::transfer_encoding_http10);
        }
        if (content_length_seen) {
            return fail(parse_error::content_length_with_chunked);
        }
        if (!te_chunked_last || te_chunked_twice) {
            return fail(parse_error::chunked_not_final);
        }
        if (te_other) {
            return fail(parse_error::unsupported_transfer_coding);
        }
        head_.framing = body_framing::chunked;
    } else if (content_length_seen && head_.content_length > 0) {
        head_.framing = body_framing::content_length;
    }
    head_.keep_alive =
        head_.version_minor == 1 ? !connection_close : (connection_keep_alive && !connection_close);
    return parse_status::complete;
}

parse_status request_parser::check_semantics() noexcept
{
    if (head_.framing == body_framing::content_length && head_.content_length > limits_.max_body) {
        return fail(parse_error::body_too_large);
    }
    if (head_.framing == body_framing::none && head_.expect_continue) {
        head_.expect_continue = false;  // nothing to wait for
    }
    return parse_status::complete;
}

// ---------------------------------------------------------------------------
// chunked_decoder

void chunked_decoder::reset() noexcept
{
    state_ = state::size;
    chunk_remaining_ = 0;
    size_digits_ = 0;
    extension_bytes_ = 0;
    last_chunk_ = false;
    in_ = 0;
    out_ = 0;
    total_ = 0;
    trailer_start_ = 0;
    trailer_line_start_ = 0;
    error_ = parse_error::none;
    trailers_.clear();
}

namespace {
constexpr std::size_t max_chunk_size_digits = 15;  // < 2^60: no overflow
constexpr std::size_t max_extension_bytes = 1024;
}  // namespace

std::size_t chunked_decoder::discard_decoded() noexcept
{
    if (state_ == state::trailer_line || state_ == state::done) {
        return 0;  // trailer views point into the region: keep it in place
    }
    const std::size_t shift = in_;
    in_ = 0;
    out_ = 0;
    return shift;
}

parse_status chunked_decoder::decode(char* body, std::size_t size) noexcept
{
    if (error_ != parse_error::none) {
        return parse_status::error;
    }
    while (in_ < size) {
        const char c = body[in_];
        switch (state_) {
        case state::size: {
            const int v = hex_value(c);
            if (v >= 0) {
                if (++size_digits_ > max_chunk_size_digits) {
                    return fail(parse_error::bad_chunk_size);
                }
                chunk_remaining_ = chunk_remaining_ * 16 + static_cast<std::uint64_t>(v);
                ++in_;
                break;
            }
            if (size_digits_ == 0) {
                return fail(parse_error::bad_chunk_size);
            }
            if (c == ';') {
                state_ = state::extension;
            } else if (is_ows(c)) {
                state_ = state::size_ws;
            } else if (c == '\r') {
                state_ = state::size_lf;
            } else {
                return fail(parse_error::bad_chunk_size);
            }
            ++in_;
            break;
        }
        case state::size_ws:
            if (c == ';') {
                state_ = state::extension;
            } else if (!is_ows(c) || ++extension_bytes_ > max_extension_bytes) {
                return fail(parse_error::bad_chunk_size);
            }
            ++in_;
            break;
        case state::extension:
            if (c == '\r') {
                state_ = state::size_lf;
            } else if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f ||
                       ++extension_bytes_ > max_extension_bytes) {
                return fail(parse_error::bad_chunk_extension);
            }
            ++in_;
            break;
        case state::size_lf:
            if (c != '\n') {
                return fail(parse_error::bad_chunk_size);
            }
            ++in_;
            size_digits_ = 0;
            extension_bytes_ = 0;
            if (chunk_remaining_ == 0) {
                state_ = state::trailer_line;
                trailer_start_ = trailer_line_start_ = in_;
            } else {
                if (chunk_remaining_ > max_body_ - total_) {
                    return fail(parse_error::body_too_large);
                }
                state_ = state::data;
            }
            break;
        case state::data: {
            const std::size_t take =
                static_cast<std::size_t>(std::min<std::uint64_t>(chunk_remaining_, size - in_));
            std::memmove(body + out_, body + in_, take);
            out_ += take;
            total_ += take;
            in_ += take;
            chunk_remaining_ -= take;
            if (chunk_remaining_ == 0) {
                state_ = state::data_cr;
            }
            break;
        }
        case state::data_cr:
            if (c != '\r') {
                return fail(parse_error::bad_chunk_terminator);
            }
            state_ = state::data_lf;
            ++in_;
            break;
        case state::data_lf:
            if (c != '\n') {
                return fail(parse_error::bad_chunk_terminator);
            }
            state_ = state::size;
            ++in_;
            break;
        case state::trailer_line: {
            const void* found = std::memchr(body + in_, '\n', size - in_);
            if (found == nullptr) {
                in_ = size;
                if (size - trailer_start_ > max_trailer_bytes_) {
                    return fail(parse_error::bad_trailer);
                }
                return parse_status::need_more;
            }
            const std::size_t at = static_cast<std::size_t>(static_cast<const char*>(found) - body);
            // The limit first: fed byte by byte, it would have failed before the LF arrived.
            if (at - trailer_start_ > max_trailer_bytes_) {
                return fail(parse_error::bad_trailer);
            }
            if (at == trailer_line_start_ || body[at - 1] != '\r') {
                return fail(parse_error::bare_line_feed);
            }
            if (at + 1 - trailer_start_ > max_trailer_bytes_) {
                return fail(parse_error::bad_trailer);
            }
            in_ = at + 1;
            if (at - 1 == trailer_line_start_) {
                state_ = state::done;
                return parse_status::complete;
            }
            header h;
            if (detail::parse_field_line(
                    std::string_view(body + trailer_line_start_, at - 1 - trailer_line_start_), h) !=
                parse_error::none) {
                return fail(parse_error::bad_trailer);
            }
            trailers_.push_back(h);
            trailer_line_start_ = in_;
            break;
        }
        case state::done: return parse_status::complete;
        }
    }
    return state_ == state::done ? parse_status::complete : parse_status::need_more;
}

}  // namespace covet::http
