#pragma once
// Percent-encoding (RFC 3986 section 2.1): one implementation for the router
// (path parameters), http (queries, static file paths) and web.

#include <covet/base/result.hpp>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace covet {

/// True for RFC 3986 unreserved characters (ALPHA DIGIT - . _ ~), the only
/// bytes percent_encode leaves alone.
constexpr bool is_unreserved(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/// Appends `in` to `out`, percent-encoding (upper-case hex) every byte that is
/// not unreserved; '/' is kept as is when `keep_slash` (catch-all values).
void percent_encode(std::string_view in, std::string& out, bool keep_slash = false);

/// Appends the decoded form of `in` to `out`. Returns false (and leaves `out`
/// with a partial result) when a '%' is not followed by two hex digits. '+'
/// becomes a space only with `plus_as_space` (application/x-www-form-urlencoded
/// queries); in paths it stays '+'.
[[nodiscard]] bool percent_decode(std::string_view in, std::string& out, bool plus_as_space = false);

/// Allocation-free decoding into `buf`: the decoded size, or
/// errc::invalid_argument (malformed escape) / errc::limit_exceeded (buffer
/// too small). Decoded output is never longer than the input.
result<std::size_t> percent_decode(std::string_view in, std::span<char> buf, bool plus_as_space = false) noexcept;

}  // namespace covet
