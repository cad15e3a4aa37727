#pragma once
// Response compression with zlib: negotiation from Accept-Encoding, gzip and
// deflate codecs, and the policy the server applies (compressible types above
// a size threshold; large bodies compressed on the offload pool).

#include <covet/base/result.hpp>

#include <cstddef>
#include <string>
#include <string_view>

namespace covet::http {

struct compression_options {
    /// Off by default in the raw server (benchmarks forbid it); the web layer turns it on.
    bool enabled = false;
    /// Bodies smaller than this are sent as they are.
    std::size_t min_size = 1024;
    /// zlib level 1 (fast) .. 9 (small).
    int level = 6;
    /// Bodies larger than this are compressed on the offload pool, not the event loop.
    std::size_t offload_above = 256 * 1024;
};

enum class content_coding { identity, gzip, deflate };

/// The coding to use for an Accept-Encoding value (RFC 9110 section 12.5.3):
/// gzip if acceptable, else deflate, else identity. q=0 excludes a coding.
content_coding negotiate_coding(std::string_view accept_encoding) noexcept;

/// Types worth compressing: text/*, JSON, JavaScript, XML, SVG, wasm.
bool is_compressible(std::string_view content_type) noexcept;

/// Compresses with gzip (RFC 1952) or zlib-wrapped deflate (RFC 1950).
result<std::string> compress(std::string_view data, content_coding coding, int level = 6);
/// Decompresses gzip or deflate data; errc::limit_exceeded past `max_output` (zip bombs).
result<std::string> decompress(std::string_view data, content_coding coding, std::size_t max_output);

}  // namespace covet::http
