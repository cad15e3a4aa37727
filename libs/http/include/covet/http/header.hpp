#pragma once
// Header fields as views into the connection's read buffer, plus the
// case-insensitive comparison every lookup uses.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace covet::http {

/// One field line. Both views point into the connection's read buffer and are
/// valid until the handler's task for this request completes.
struct header {
    std::string_view name;
    std::string_view value;
};

/// ASCII case-insensitive equality (field names are case-insensitive).
constexpr bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        unsigned char x = static_cast<unsigned char>(a[i]);
        unsigned char y = static_cast<unsigned char>(b[i]);
        if (x != y && (x | 0x20) != (y | 0x20)) {
            return false;
        }
        if (x != y && !((x | 0x20) >= 'a' && (x | 0x20) <= 'z')) {
            return false;
        }
    }
    return true;
}

/// `s` without leading and trailing optional whitespace (SP, HTAB; RFC 9110 5.6.3).
constexpr std::string_view trim_ows(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// Fields the parser recognises while parsing, for O(1) lookups.
enum class known_header : std::uint8_t {
    host,
    content_length,
    transfer_encoding,
    connection,
    expect,
    content_type,
    upgrade,
    count_
};

}  // namespace covet::http
