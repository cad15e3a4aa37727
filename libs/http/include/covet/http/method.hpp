#pragma once
// Request methods: an enum for the registered ones plus the original token,
// so that extension methods still reach the handler.

#include <cstdint>
#include <string_view>

namespace covet::http {

enum class method : std::uint8_t { get, head, post, put, delete_, connect, options, trace, patch, other };

/// Maps a method token (case-sensitive, RFC 9110 section 9.1) to the enum;
/// method::other for extension methods.
method method_from_string(std::string_view token) noexcept;
/// The canonical token ("GET"); "" for method::other.
std::string_view to_string(method m) noexcept;

}  // namespace covet::http
