#include <covet/base/hex.hpp>
#include <covet/http/parser.hpp>

#include <algorithm>
#include <cstring>

#include <string>

// SSE2 is the x86-64 baseline. COVET_HTTP_PORTABLE_SCAN forces the plain
// loops that other CPUs run, so that they are tested on x86-64 too.
#if defined(__x86_64__) && !defined(COVET_HTTP_PORTABLE_SCAN)
#define COVET_HTTP_SSE2 1
#include <immintrin.h>
#endif

namespace covet::http {

namespace {

// Alphanumerics plus `extra`: the byte classes of tokens and hosts.
constexpr std::array<bool, 256> alnum_and(std::string_view extra)
{
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) {
        t[c] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        t[c] = true;
        t[c - 'a' + 'A'] = true;
    }
    for (char c : extra) {
        t[static_cast<unsigned char>(c)] = true;
    }
    return t;
}
constexpr auto tchar = alnum_and("!#$%&'*+-.^_`|~");

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

// The bytes of one 64-byte block of a request head, as bit masks: line
// feeds, and control bytes (below 0x20, and DEL). One pass over the head finds
// the lines and validates every field value at once: a control byte is
// allowed only as a line's CR LF (each line checks its CR); anything else,
// HTAB included, sends the head through the exact byte-by-byte checks. SSE2 is
// the x86-64 baseline; four 16-byte compares fill one 64-bit mask.
struct block_masks {
    std::uint64_t lf;
    std::uint64_t control;
};
constexpr std::size_t block_size = 64;

#if defined(COVET_HTTP_SSE2)
inline void scan_16(const char* p, unsigned shift, block_masks& m) noexcept
{
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i lf = _mm_cmpeq_epi8(x, _mm_set1_epi8('\n'));
    // x < 0x20 (unsigned): min(x, 0x1f) == x.
    const __m128i control = _mm_or_si128(_mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x1f)), x),
                                         _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f)));
    m.lf |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(lf))) << shift;
    m.control |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(control))) << shift;
}
#else
// Other CPUs: the same masks, a byte at a time.
inline block_masks scan_scalar(const char* p, std::size_t width) noexcept
{
    block_masks m{0, 0};
    for (std::size_t i = 0; i < width; ++i) {
        const auto c = static_cast<unsigned char>(p[i]);
        m.lf |= static_cast<std::uint64_t>(c == '\n') << i;
        m.control |= static_cast<std::uint64_t>(c < 0x20 || c == 0x7f) << i;
    }
    return m;
}
#endif

inline block_masks scan_block(const char* p) noexcept
{
    block_masks m{0, 0};
#if defined(COVET_HTTP_SSE2)
    scan_16(p, 0, m);
    scan_16(p + 16, 16, m);
    scan_16(p + 32, 32, m);
    scan_16(p + 48, 48, m);
#else
    m = scan_scalar(p, block_size);
#endif
    return m;
}

#if defined(COVET_HTTP_SSE2)
// AVX2: two 32-byte compares per block instead of four 16-byte ones. Called
// through a pointer chosen once, as the baseline cannot inline it.
__attribute__((target("avx2"))) block_masks scan_block_avx2(const char* p) noexcept
{
    block_masks m{0, 0};
    for (unsigned half = 0; half < 2; ++half) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32 * half));
        const __m256i lf = _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\n'));
        const __m256i control =
            _mm256_or_si256(_mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(0x1f)), x),
                            _mm256_cmpeq_epi8(x, _mm256_set1_epi8(0x7f)));
        m.lf |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(lf)))
                << (32 * half);
        m.control |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(control)))
                     << (32 * half);
    }
    return m;
}

block_masks scan_block_sse2(const char* p) noexcept
{
    return scan_block(p);
}

using block_scanner = block_masks (*)(const char*) noexcept;

block_scanner choose_block_scanner() noexcept
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? scan_block_avx2 : scan_block_sse2;
}

const block_scanner full_block_scanner = choose_block_scanner();
#endif

inline block_masks full_block(const char* p) noexcept
{
#if defined(COVET_HTTP_SSE2)
    return full_block_scanner(p);
#else
    return scan_block(p);
#endif
}

// The last, shorter block (width < block_size): never reads past p + width,
// nor more than `before` bytes before p.
inline block_masks scan_partial_block(const char* p, std::size_t width, std::size_t before) noexcept
{
    block_masks m{0, 0};
#if defined(COVET_HTTP_SSE2)
    std::size_t i = 0;
    for (; i + 16 <= width; i += 16) {
        scan_16(p + i, static_cast<unsigned>(i), m);
    }
    if (i == width) {
        return m;
    }
    if (width + before >= 16) {
        // The last 16 bytes overlap what was scanned: keep only the new ones.
        block_masks last{0, 0};
        scan_16(p + width - 16, 0, last);
        const auto drop = static_cast<unsigned>(16 - (width - i));
        m.lf |= (last.lf >> drop) << i;
        m.control |= (last.control >> drop) << i;
        return m;
    }
    char tail[16] = {};
    std::memcpy(tail, p, width);
    scan_16(tail, 0, m);
    const std::uint64_t valid = (std::uint64_t{1} << width) - 1;
    m.lf &= valid;
    m.control &= valid;
#else
    (void)before;
    m = scan_scalar(p, width);
#endif
    return m;
}

// An unaligned load of sizeof(Word) bytes.
template <class Word>
inline Word load(const char* p) noexcept
{
    Word w;
    std::memcpy(&w, p, sizeof(Word));
    return w;
}

template <class Word>
inline bool words_equal(const char* a, const char* b) noexcept
{
    return load<Word>(a) == load<Word>(b);
}

// `name` (already validated as a token) equals the lower-case `lower` of the
// same length, 4 to 23 bytes. OR-ing 0x20 folds case; for token bytes it maps
// nothing else onto a letter or '-'. Two (possibly overlapping) loads cover
// up to 8 or 16 bytes without a loop.
template <class Word>
inline bool words_equal_lower(const char* a, const char* b) noexcept
{
    return (load<Word>(a) | static_cast<Word>(0x2020202020202020ull)) == load<Word>(b);
}

inline bool token_equals_lower(std::string_view name, std::string_view lower) noexcept
{
    const std::size_t n = name.size();
    const char* a = name.data();
    const char* b = lower.data();
    if (n < 8) {
        return words_equal_lower<std::uint32_t>(a, b) &&
               words_equal_lower<std::uint32_t>(a + n - 4, b + n - 4);
    }
    if (n <= 16) {
        return words_equal_lower<std::uint64_t>(a, b) &&
               words_equal_lower<std::uint64_t>(a + n - 8, b + n - 8);
    }
    return words_equal_lower<std::uint64_t>(a, b) && words_equal_lower<std::uint64_t>(a + 8, b + 8) &&
           words_equal_lower<std::uint64_t>(a + n - 8, b + n - 8);
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
constexpr auto host_char = alnum_and("-._~%!$&'()*+,;=:[]");

bool valid_host(std::string_view host) noexcept
{
    bool valid = true;
    for (char c : host) {
        valid &= host_char[static_cast<unsigned char>(c)];
    }
    return valid;
}

constexpr std::size_t max_leading_empty_lines = 4;

// "keep-alive" exactly, in two overlapping 8-byte compares.
inline bool is_keep_alive(std::string_view value) noexcept
{
    constexpr std::string_view expected = "keep-alive";
    return value.size() == expected.size() && words_equal<std::uint64_t>(value.data(), expected.data()) &&
           words_equal<std::uint64_t>(value.data() + 2, expected.data() + 2);
}

// "GET " in one 4-byte compare.
inline bool starts_with_get(std::string_view line) noexcept
{
    return line.size() >= 4 && words_equal<std::uint32_t>(line.data(), "GET ");
}

// The version nearly every request carries, in one 8-byte compare.
inline bool is_http_1_1(std::string_view version) noexcept
{
    return version.size() == 8 && words_equal<std::uint64_t>(version.data(), "HTTP/1.1");
}

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

}  // namespace detail

namespace {

// First byte outside VCHAR in [p, end). A target of up to 16 bytes (most
// of them) is checked with one load when 16 bytes are readable.
inline const char* find_target_non_vchar(const char* p, const char* end, const char* readable_end) noexcept
{
#if defined(COVET_HTTP_SSE2)
    if (end - p <= 16 && readable_end - p >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i vchar = _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x21)), x),
                                            _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x7e)), x));
        const unsigned odd = ~static_cast<unsigned>(_mm_movemask_epi8(vchar)) & ((1u << (end - p)) - 1);
        return odd != 0 ? p + __builtin_ctz(odd) : end;
    }
#else
    (void)readable_end;
#endif
    return detail::find_non_vchar(p, end);
}

#if defined(COVET_HTTP_SSE2)
// Bit i set when byte i of x is a letter, a digit or one of `a`, `b`, `c`.
inline unsigned alnum_mask(__m128i x, char a, char b, char c) noexcept
{
    auto in_range = [](__m128i v, char lo, char hi) {
        return _mm_and_si128(_mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(lo)), v),
                             _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(hi)), v));
    };
    // OR 0x20 folds exactly the upper-case letters onto the lower-case ones.
    const __m128i letters_digits =
        _mm_or_si128(in_range(_mm_or_si128(x, _mm_set1_epi8(0x20)), 'a', 'z'), in_range(x, '0', '9'));
    const __m128i extra =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(a)), _mm_cmpeq_epi8(x, _mm_set1_epi8(b))),
                     _mm_cmpeq_epi8(x, _mm_set1_epi8(c)));
    return static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(letters_digits, extra)));
}

// The usual field name: under 16 bytes of letters, digits and '-' before the
// colon, checked with one 16-byte load. Returns the name's length, or 0 when
// the byte-by-byte path has to decide (exotic token bytes, long names, too
// few readable bytes, no colon in the line).
inline std::size_t simple_name_length(const char* p, const char* line_end, const char* readable_end) noexcept
{
    if (readable_end - p < 16) {
        return 0;
    }
    const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const auto colons = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(':'))));
    if (colons == 0) {
        return 0;
    }
    const auto length = static_cast<std::size_t>(__builtin_ctz(colons));
    if (length == 0 || p + length >= line_end) {
        return 0;
    }
    const unsigned need = (1u << length) - 1;
    return (alnum_mask(x, '-', '-', '-') & need) == need ? length : 0;
}

// The usual Host value (a name or IPv4 address and a port, under 17 bytes)
// with one 16-byte load; anything else goes through the table.
inline bool valid_host(std::string_view host, const char* readable_end) noexcept
{
    if (host.size() <= 16 && readable_end - host.data() >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(host.data()));
        const unsigned need = (1u << host.size()) - 1;
        if ((alnum_mask(x, '-', '.', ':') & need) == need) {
            return true;
        }
    }
    return valid_host(host);
}
#else
inline std::size_t simple_name_length(const char*, const char*, const char*) noexcept
{
    return 0;
}
inline bool valid_host(std::string_view host, const char*) noexcept
{
    return valid_host(host);
}
#endif

// cr_follows: the byte at line.end() is readable and is the line's CR, which
// stops the OWS skip without a bound check.
template <bool cr_follows = false>
[[gnu::always_inline]] inline parse_error parse_field(std::string_view line, header& out,
                                                      bool value_bytes_checked,
                                                      const char* readable_end) noexcept
{
    const char* p = line.data();
    const char* end = p + line.size();
    if (p == end || is_ows(*p)) {
        return parse_error::obs_fold;
    }
    // The name is validated while looking for the colon.
    const char* q = p;
    if (const std::size_t colon = simple_name_length(p, end, readable_end); colon != 0) {
        q = p + colon;
    } else {
        while (q < end && tchar[static_cast<unsigned char>(*q)]) {
            ++q;
        }
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
    if constexpr (cr_follows) {
        while (is_ows(*v)) {
            ++v;
        }
    } else {
        while (v < end && is_ows(*v)) {
            ++v;
        }
    }
    const char* v_end = end;
    while (v_end > v && is_ows(v_end[-1])) {
        --v_end;
    }
    if (!value_bytes_checked && detail::find_invalid_field_byte(v, v_end) != v_end) {
        return parse_error::invalid_character;
    }
    out = {std::string_view(p, static_cast<std::size_t>(q - p)),
           std::string_view(v, static_cast<std::size_t>(v_end - v))};
    return parse_error::none;
}

}  // namespace

namespace detail {

std::string_view head_scanner_name() noexcept
{
#if defined(COVET_HTTP_SSE2)
    return full_block_scanner == scan_block_avx2 ? "avx2" : "sse2";
#else
    return "portable";
#endif
}

parse_error parse_field_line(std::string_view line, header& out) noexcept
{
    return parse_field(line, out, false, line.data() + line.size());
}

parse_error parse_field_line(std::string_view line, header& out, bool value_bytes_checked) noexcept
{
    return parse_field(line, out, value_bytes_checked, line.data() + line.size());
}

}  // namespace detail

// ---------------------------------------------------------------------------
// request_parser

request_parser::request_parser(parser_limits limits) : limits_(limits)
{
    headers_.resize(limits_.max_headers);
    line_ends_.resize(limits_.max_headers + 1);  // indexed by lines_, never grown
    reset();
}

void request_parser::reset() noexcept
{
    head_ = request_head{};
    head_.known.fill(-1);
    error_ = parse_error::none;
    scanned_ = 0;
    first_anomaly_ = SIZE_MAX;
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
    // A control byte ending the bytes seen so far is fine only if a LF follows.
    bool pending_control = false;
    if (pos > 0) {
        const auto c = static_cast<unsigned char>(base[pos - 1]);
        pending_control = (c < 0x20 && c != '\n') || c == 0x7f;
    }
    // No line end before this bound can cross a limit in this call: line and
    // head starts only move forward.
    const std::size_t no_limit_before =
        std::min(line_start_ + std::min(limits_.max_request_line, limits_.max_header_line) + 2,
                 request_line_start_ + limits_.max_head_bytes + 1);
    // The resumption state lives in registers while scanning; every exit
    // stores it back.
    std::size_t line_start = line_start_;
    std::size_t lines = lines_;
    std::size_t first_anomaly = first_anomaly_;
    std::uint32_t* const line_ends = line_ends_.data();
    auto save = [&] {
        line_start_ = line_start;
        lines_ = lines;
        first_anomaly_ = first_anomaly;
    };
    while (pos < n) {
        const std::size_t width = std::min(block_size, n - pos);
        const block_masks m =
            width == block_size ? full_block(base + pos) : scan_partial_block(base + pos, width, pos);
        // Control bytes other than a LF and the byte before it make the head
        // suspect, wherever they are: noted here, and diagnosed by the exact
        // checks only if they fall inside the head.
        const std::uint64_t last = std::uint64_t{1} << (width - 1);
        const std::uint64_t anomalies = m.control & ~m.lf & ~(m.lf >> 1) & ~last;
        if (pending_control && (m.lf & 1u) == 0) {
            first_anomaly = std::min(first_anomaly, pos - 1);
        }
        pending_control = (m.control & ~m.lf & last) != 0;
        if (anomalies != 0) {
            first_anomaly =
                std::min(first_anomaly, pos + static_cast<std::size_t>(__builtin_ctzll(anomalies)));
        }
        for (std::uint64_t lfs = m.lf; lfs != 0; lfs &= lfs - 1) {
            const std::size_t at = pos + static_cast<std::size_t>(__builtin_ctzll(lfs));
            // Limits that a byte-by-byte feed would have hit before this LF
            // arrived come first, so the error does not depend on how the
            // input was split.
            if (at >= no_limit_before) {
                save();
                if (at >= limit_position()) {
                    if (auto e = partial_limit_error(at); e != parse_error::none) {
                        return fail(e);
                    }
                }
            }
            if (at == line_start || base[at - 1] != '\r') {
                save();
                return fail(parse_error::bare_line_feed);
            }
            const std::size_t line_length = at - 1 - line_start;
            if (line_length == 0) {
                if (lines == 0) {
                    // RFC 9112 section 2.2: ignore empty lines before a request line.
                    if (line_start / 2 >= max_leading_empty_lines) {
                        save();
                        return fail(parse_error::too_many_empty_lines);
                    }
                    line_start = request_line_start_ = at + 1;
                    continue;
                }
                save();
                head_.head_size = at + 1;
                scanned_ = at + 1;
                if (at + 1 - request_line_start_ > limits_.max_head_bytes) {
                    return fail(parse_error::head_too_large);
                }
                const auto status = parse_head(data.substr(request_line_start_, at + 1 - request_line_start_),
                                               first_anomaly > at);
                return status == parse_status::complete ? check_semantics() : status;
            }
            if (lines == 0) {
                if (line_length > limits_.max_request_line) {
                    save();
                    return fail(parse_error::request_line_too_long);
                }
            } else if (line_length > limits_.max_header_line || lines > limits_.max_headers) {
                save();
                return fail(line_length > limits_.max_header_line ? parse_error::header_line_too_long
                                                                  : parse_error::too_many_headers);
            }
            line_ends[lines++] = static_cast<std::uint32_t>(at);
            line_start = at + 1;
        }
        pos += width;
    }
    save();
    scanned_ = n;
    if (auto e = partial_limit_error(n); e != parse_error::none) {
        return fail(e);
    }
    return parse_status::need_more;
}

std::size_t request_parser::limit_position() const noexcept
{
    const std::size_t line_limit = lines_ == 0 ? limits_.max_request_line : limits_.max_header_line;
    return std::min(line_start_ + line_limit + 2, request_line_start_ + limits_.max_head_bytes + 1);
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

parse_status request_parser::parse_head(std::string_view head, bool value_bytes_checked) noexcept
{
    // Line ends were recorded while scanning, relative to the data start.
    const char* data = head.data() - request_line_start_;
    const char* head_end = head.data() + head.size();
    std::string_view line(head.data(), line_ends_[0] - 1 - request_line_start_);

    // The method is short and the version is the last 8 bytes: find the two
    // spaces without a library call.
    std::size_t sp1 = 0;
    const bool get = starts_with_get(line);
    if (get) {
        sp1 = 3;
    } else {
        while (sp1 < line.size() && line[sp1] != ' ') {
            ++sp1;
        }
    }
    if (sp1 == line.size() || sp1 == 0) {
        return fail(parse_error::bad_request_line);
    }
    std::size_t sp2 = sp1 + 1;
    bool target_checked = false;
    if (line.size() >= sp1 + 10 && line[line.size() - 9] == ' ') {
        sp2 = line.size() - 9;  // the usual "... HTTP/1.1"
        // One scan validates the target and finds a space inside it, if any.
        const char* target_end = line.data() + sp2;
        const char* odd = find_target_non_vchar(line.data() + sp1 + 1, target_end, head_end);
        if (odd == target_end) {
            target_checked = true;
        } else if (*odd == ' ') {
            sp2 = static_cast<std::size_t>(odd - line.data());
            target_checked = true;
        }
    } else {
        sp2 = line.find(' ', sp1 + 1);
    }
    if (sp2 == std::string_view::npos || sp2 == sp1 + 1) {
        return fail(parse_error::bad_request_line);
    }
    head_.method_name = line.substr(0, sp1);
    head_.method = get ? method::get : method_from_string(head_.method_name);
    // A known method is a token; only extension methods need the check.
    if (head_.method == method::other && !is_token(head_.method_name)) {
        return fail(parse_error::bad_method);
    }
    head_.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const char* target_end = head_.target.data() + head_.target.size();
    if (!target_checked && detail::find_non_vchar(head_.target.data(), target_end) != target_end) {
        return fail(parse_error::bad_target);
    }
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_http_1_1(version)) {
        if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' || version[5] < '0' ||
            version[5] > '9' || version[7] < '0' || version[7] > '9') {
            return fail(parse_error::bad_version);
        }
        if (version[5] != '1') {
            return fail(parse_error::unsupported_version);
        }
        // A higher minor version is processed as the highest we implement (RFC 9110 6.2).
        head_.version_minor = version[7] == '0' ? 0 : 1;
    }

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
    const std::uint32_t* line_ends = line_ends_.data();
    header* const headers = headers_.data();
    for (std::size_t i = 1; i < lines_; ++i) {
        const std::size_t from = line_ends[i - 1] + 1;
        header& h = headers[count];
        if (const auto e = parse_field<true>(std::string_view(data + from, line_ends[i] - 1 - from), h,
                                             value_bytes_checked, head_end);
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
            if (!valid_host(h.value, head_end)) {
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
            if (is_keep_alive(h.value)) {  // what nearly every client sends
                connection_keep_alive = true;
                break;
            }
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
