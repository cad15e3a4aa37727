#pragma once
// RFC 3339 date-times for std::chrono::system_clock::time_point fields:
// written as UTC `2026-11-22T16:30:50Z` (with as many fractional digits as
// needed: 3, 6 or 9), read with any offset (`Z`, `+01:00`, `-05:30`).

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace covet::json {

using sys_nanoseconds = std::chrono::time_point<std::chrono::system_clock, std::chrono::nanoseconds>;

/// Formats `t` into `out` (at least 40 bytes); returns the number of bytes written.
std::size_t format_rfc3339(sys_nanoseconds t, char* out) noexcept;

/// Parses an RFC 3339 date-time (`T` or `t` or space separator, `Z` or a
/// numeric offset, up to 9 fractional digits). nullopt when malformed.
std::optional<sys_nanoseconds> parse_rfc3339(std::string_view s) noexcept;

}  // namespace covet::json
