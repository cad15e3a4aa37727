#pragma once
// HTTP request methods as a small enum, and a bit set of them for Allow
// headers. Kept free of covet::http so that the router stands alone.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace covet::router {

/// The request methods the router keeps in its per-node table; any other
/// token (WebDAV's PROPFIND, a custom verb) is `other` and matched by name.
enum class method : std::uint8_t { get, head, post, put, delete_, patch, options, connect, trace, other };

/// Number of methods with their own slot in a node's method table.
inline constexpr std::size_t standard_method_count = 9;

/// The method's token ("GET", ...); "" for `other`.
constexpr std::string_view to_string(method m) noexcept
{
    switch (m) {
    case method::get: return "GET";
    case method::head: return "HEAD";
    case method::post: return "POST";
    case method::put: return "PUT";
    case method::delete_: return "DELETE";
    case method::patch: return "PATCH";
    case method::options: return "OPTIONS";
    case method::connect: return "CONNECT";
    case method::trace: return "TRACE";
    case method::other: return "";
    }
    return "";
}

/// Maps a method token to the enum; case-sensitive as RFC 9110 says.
/// Unknown tokens give `method::other`.
constexpr method parse_method(std::string_view token) noexcept
{
    for (std::size_t i = 0; i < standard_method_count; ++i) {
        if (token == to_string(static_cast<method>(i))) {
            return static_cast<method>(i);
        }
    }
    return method::other;
}

/// A set of standard methods (one bit each); `other` is one extra bit meaning
/// "at least one custom method", whose names live in the route table.
class method_set {
public:
    constexpr method_set() noexcept = default;

    /// True when `m` is in the set.
    constexpr bool contains(method m) const noexcept { return (bits_ >> static_cast<unsigned>(m)) & 1u; }
    /// Adds `m`.
    constexpr void insert(method m) noexcept
    {
        bits_ |= static_cast<std::uint16_t>(1u << static_cast<unsigned>(m));
    }
    /// True when no method is in the set.
    constexpr bool empty() const noexcept { return bits_ == 0; }
    /// The raw bits, bit i for `static_cast<method>(i)`.
    constexpr std::uint16_t bits() const noexcept { return bits_; }

    /// Appends the standard methods as an Allow header value ("GET, HEAD")
    /// to whatever `out` already holds.
    void append_to(std::string& out) const
    {
        const std::size_t start = out.size();
        for (std::size_t i = 0; i < standard_method_count; ++i) {
            if (contains(static_cast<method>(i))) {
                if (out.size() > start) {
                    out += ", ";
                }
                out += to_string(static_cast<method>(i));
            }
        }
    }

    friend constexpr method_set operator|(method_set a, method_set b) noexcept
    {
        method_set s;
        s.bits_ = static_cast<std::uint16_t>(a.bits_ | b.bits_);
        return s;
    }
    friend constexpr bool operator==(method_set, method_set) noexcept = default;

private:
    std::uint16_t bits_ = 0;
};

}  // namespace covet::router
