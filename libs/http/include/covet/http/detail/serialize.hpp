#pragma once
// Response head serialization, exposed for the server and its benchmarks.

#include <covet/http/response.hpp>

#include <string>
#include <string_view>

namespace covet::http::detail {

struct head_options {
    bool keep_alive = true;
    int version_minor = 1;
    std::string_view server_name = "covet";
};

/// Appends the status line and fields of `r` (with Server, Date,
/// Content-Length and Connection as needed) and the empty line to `out`.
void serialize_head(const response& r, std::string& out, const head_options& options);

/// True when `r` has a fixed body (memory or file) but goes out chunked on
/// HTTP/1.1, because only a chunked body carries a trailer section.
inline bool chunked_for_trailers(const response& r, int version_minor) noexcept
{
    return version_minor == 1 && !r.trailer_lines().empty() && r.streamed() == nullptr &&
           status_allows_body(r.status());
}

/// The current IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"), cached per
/// thread and recomputed when the second changes.
std::string_view http_date() noexcept;

/// Formats a time as an IMF-fixdate into `out` (29 bytes).
void format_http_date(long long unix_seconds, char (&out)[29]) noexcept;

}  // namespace covet::http::detail
