#pragma once
// HTTP status codes (RFC 9110 section 15) and their reason phrases.

#include <cstdint>
#include <string_view>

namespace covet::http {

enum class status : std::uint16_t {
    continue_ = 100,
    switching_protocols = 101,
    ok = 200,
    created = 201,
    accepted = 202,
    no_content = 204,
    partial_content = 206,
    moved_permanently = 301,
    found = 302,
    see_other = 303,
    not_modified = 304,
    temporary_redirect = 307,
    permanent_redirect = 308,
    bad_request = 400,
    unauthorized = 401,
    forbidden = 403,
    not_found = 404,
    method_not_allowed = 405,
    not_acceptable = 406,
    request_timeout = 408,
    conflict = 409,
    gone = 410,
    length_required = 411,
    precondition_failed = 412,
    content_too_large = 413,
    uri_too_long = 414,
    unsupported_media_type = 415,
    range_not_satisfiable = 416,
    expectation_failed = 417,
    unprocessable_content = 422,
    upgrade_required = 426,
    too_many_requests = 429,
    request_header_fields_too_large = 431,
    internal_server_error = 500,
    not_implemented = 501,
    bad_gateway = 502,
    service_unavailable = 503,
    gateway_timeout = 504,
    http_version_not_supported = 505,
};

/// The reason phrase of a status ("Not Found"); "" for codes without one here.
std::string_view reason_phrase(status s) noexcept;

constexpr std::uint16_t to_underlying(status s) noexcept
{
    return static_cast<std::uint16_t>(s);
}

/// 1xx, 204 and 304 responses never carry content (RFC 9110 section 6.4.1).
constexpr bool status_allows_body(status s) noexcept
{
    const auto code = to_underlying(s);
    return code >= 200 && code != 204 && code != 304;
}

}  // namespace covet::http
