#pragma once
// The HTTP/1.1 request parser (RFC 9112), hand-written because it must be the
// fastest part of the server: zero-copy (every view points into the caller's
// buffer), resumable across partial reads, strict about everything that could
// smuggle a request past a proxy.
//
// How it resumes: parse() is called with all bytes received for the current
// request so far (always starting at the request's first byte). It scans only
// the new bytes for line ends, enforces the line and size limits as it goes,
// and parses the head once its empty line has arrived. Line ends must be CRLF:
// a bare LF or CR is an error, never a line end.

#include <covet/http/header.hpp>
#include <covet/http/method.hpp>
#include <covet/http/status.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace covet::http {

/// Limits enforced while parsing; each violation has its status (below).
struct parser_limits {
    /// Request line (method, target, version); longer → 414.
    std::size_t max_request_line = 8 * 1024;
    /// One header field line; longer → 431.
    std::size_t max_header_line = 8 * 1024;
    /// The whole head, request line included; larger → 431.
    std::size_t max_head_bytes = 64 * 1024;
    /// Header field lines; more → 431.
    std::size_t max_headers = 100;
    /// Request content (Content-Length or decoded chunked); larger → 413.
    std::size_t max_body = 8 * 1024 * 1024;
    /// Content of a request whose body the handler reads as a stream
    /// (server_options::stream_body_if); larger → 413 / the stream fails.
    std::size_t max_streamed_body = std::size_t{1} << 30;
};

/// Why a message was rejected. status_for() gives the response status; the
/// connection is always closed after the error response.
enum class parse_error : std::uint8_t {
    none = 0,
    bad_request_line = 1,         ///< 400: not `method SP target SP version`
    bad_method,                   ///< 400: method is not a token
    bad_target,                   ///< 400: control/space/non-ASCII byte in the target, or wrong form
    bad_version,                  ///< 400: not `HTTP/d.d`
    unsupported_version,          ///< 505: HTTP/x.y other than 1.0 and 1.1
    bare_line_feed,               ///< 400: LF without CR
    invalid_character,            ///< 400: NUL, bare CR or another control byte in a field
    obs_fold,                     ///< 400: a field line starting with whitespace (obsolete folding)
    bad_header_name,              ///< 400: empty or non-token field name
    whitespace_before_colon,      ///< 400: `Name : value`
    missing_host,                 ///< 400: HTTP/1.1 request without Host
    duplicate_host,               ///< 400: more than one Host
    bad_host,                     ///< 400: Host value with forbidden characters
    bad_content_length,           ///< 400: not 1*DIGIT, or overflow
    conflicting_content_length,   ///< 400: several Content-Length values that differ
    content_length_with_chunked,  ///< 400: both Content-Length and Transfer-Encoding
    unsupported_transfer_coding,  ///< 501: a coding other than chunked
    chunked_not_final,            ///< 400: chunked is not the last coding
    transfer_encoding_http10,     ///< 400: Transfer-Encoding in an HTTP/1.0 message
    request_line_too_long,        ///< 414
    header_line_too_long,         ///< 431
    too_many_headers,             ///< 431
    head_too_large,               ///< 431
    body_too_large,               ///< 413
    bad_chunk_size,               ///< 400: not hex, too many digits, overflow
    bad_chunk_extension,          ///< 400: control bytes or too long
    bad_chunk_terminator,         ///< 400: chunk data not followed by CRLF
    bad_trailer,                  ///< 400: malformed trailer field, or trailer section too large
    unsupported_expectation,      ///< 417: Expect other than 100-continue
    too_many_empty_lines,         ///< 400: more leading CRLFs than tolerated before a request line
};

const std::error_category& parse_error_category() noexcept;
inline std::error_code make_error_code(parse_error e) noexcept
{
    return {static_cast<int>(e), parse_error_category()};
}
/// The response status for a parse error (400, 413, 414, 417, 431, 501, 505).
status status_for(parse_error e) noexcept;

enum class body_framing : std::uint8_t { none, content_length, chunked };

enum class parse_status : std::uint8_t { complete, need_more, error };

/// The parsed request head. Views point into the buffer given to parse().
struct request_head {
    http::method method = http::method::get;
    std::string_view method_name;
    std::string_view target;
    std::uint8_t version_minor = 1;  ///< HTTP/1.<minor>
    std::span<const header> headers;
    /// Index into headers of the first occurrence of each known_header, or -1.
    std::array<std::int16_t, static_cast<std::size_t>(known_header::count_)> known{};
    body_framing framing = body_framing::none;
    std::uint64_t content_length = 0;
    bool keep_alive = true;
    bool expect_continue = false;
    /// Bytes of the head, leading empty lines and the final empty line included.
    std::size_t head_size = 0;

    std::string_view find(known_header h) const noexcept
    {
        auto i = known[static_cast<std::size_t>(h)];
        return i < 0 ? std::string_view{} : headers[static_cast<std::size_t>(i)].value;
    }
};

class request_parser {
public:
    explicit request_parser(parser_limits limits = {});

    /// Forgets the current request (keeps allocated capacity).
    void reset() noexcept;

    /// Parses the head from `data`, all bytes of this request received so
    /// far. complete: head() is valid; need_more: call again with more bytes
    /// (same start); error: error() says why.
    parse_status parse(std::string_view data) noexcept;

    const request_head& head() const noexcept { return head_; }
    parse_error error() const noexcept { return error_; }
    const parser_limits& limits() const noexcept { return limits_; }

private:
    parse_status fail(parse_error e) noexcept
    {
        error_ = e;
        return parse_status::error;
    }
    parse_status parse_head(std::string_view head, bool value_bytes_checked) noexcept;
    // The first position at which a line or head limit is crossed.
    std::size_t limit_position() const noexcept;
    parse_error partial_limit_error(std::size_t received) const noexcept;
    parse_status check_semantics() noexcept;

    parser_limits limits_;
    std::vector<header> headers_;           // sized to max_headers once
    std::vector<std::uint32_t> line_ends_;  // LF offsets of the head's lines, [0, lines_)
    request_head head_;
    parse_error error_ = parse_error::none;
    // Resumption state: offsets into the request's bytes.
    std::size_t scanned_ = 0;
    std::size_t first_anomaly_ = SIZE_MAX;  // first byte no head may contain, if any
    std::size_t line_start_ = 0;
    std::size_t request_line_start_ = 0;
    std::size_t lines_ = 0;
};

/// Decodes a chunked body in place (RFC 9112 section 7.1): chunk data is moved
/// down over the framing, so the decoded content ends up contiguous at the
/// start of the body region and no copy to another buffer is needed.
/// Extensions are validated and skipped; trailer fields are validated and kept
/// (views into the buffer).
class chunked_decoder {
public:
    explicit chunked_decoder(std::size_t max_body = parser_limits{}.max_body,
                             std::size_t max_trailer_bytes = 8 * 1024) noexcept
        : max_body_(max_body), max_trailer_bytes_(max_trailer_bytes)
    {
    }

    void reset() noexcept;

    /// Decodes `body[raw_pos(), size)`, where `body` is the writable region
    /// starting at the first byte after the head. complete: content() is
    /// [body, body + decoded_size()) and the message ended at raw_pos().
    parse_status decode(char* body, std::size_t size) noexcept;

    std::size_t decoded_size() const noexcept { return out_; }
    /// Decoded bytes over the whole body, across discard_decoded() calls.
    std::size_t decoded_total() const noexcept { return total_; }
    /// For streaming: forgets the decoded bytes (the caller has copied them)
    /// and returns how many leading bytes of the region are now dead; the
    /// caller moves the rest of the region down by that much before the next
    /// decode(). Returns 0 (and keeps everything) once in the trailers.
    std::size_t discard_decoded() noexcept;
    void set_max_body(std::size_t max_body) noexcept { max_body_ = max_body; }
    /// Bytes of `body` consumed so far (the whole chunked framing when complete).
    std::size_t raw_pos() const noexcept { return in_; }
    parse_error error() const noexcept { return error_; }
    std::span<const header> trailers() const noexcept { return trailers_; }

private:
    enum class state : std::uint8_t {
        size,
        size_ws,
        extension,
        size_lf,
        data,
        data_cr,
        data_lf,
        trailer_line,
        done,
    };
    parse_status fail(parse_error e) noexcept
    {
        error_ = e;
        return parse_status::error;
    }

    std::size_t max_body_;
    std::size_t max_trailer_bytes_;
    state state_ = state::size;
    std::uint64_t chunk_remaining_ = 0;
    std::size_t size_digits_ = 0;
    std::size_t extension_bytes_ = 0;
    bool last_chunk_ = false;
    std::size_t in_ = 0;
    std::size_t out_ = 0;
    std::size_t total_ = 0;
    std::size_t trailer_start_ = 0;
    std::size_t trailer_line_start_ = 0;
    parse_error error_ = parse_error::none;
    std::vector<header> trailers_;
};

namespace detail {
/// First byte in [p, end) that may not appear in a field value (a control
/// byte other than HTAB, or DEL); `end` if none. SIMD where available.
const char* find_invalid_field_byte(const char* p, const char* end) noexcept;
/// First byte in [p, end) outside VCHAR (0x21-0x7E); `end` if none.
const char* find_non_vchar(const char* p, const char* end) noexcept;
/// Validates a field line `name: value` (no CRLF) and splits it.
parse_error parse_field_line(std::string_view line, header& out) noexcept;
/// The same; `value_bytes_checked` skips the value's byte check that the
/// caller already made.
parse_error parse_field_line(std::string_view line, header& out, bool value_bytes_checked) noexcept;
/// The known_header a field name is (case-insensitive); count_ if none.
known_header classify_field_name(std::string_view name) noexcept;
/// Which scanner implementation runs on this CPU ("avx2", "sse2", "swar").
std::string_view scanner_name() noexcept;
/// Which block scanner the request parser runs ("avx2", "sse2", "portable").
std::string_view head_scanner_name() noexcept;
}  // namespace detail

}  // namespace covet::http

template <>
struct std::is_error_code_enum<covet::http::parse_error> : std::true_type {
};
