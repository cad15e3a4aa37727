#pragma once
// permessage-deflate (RFC 7692): parsing and answering the extension offer,
// and the per-connection zlib codec. Inflating stops at the connection's
// message limit, so a small compressed message cannot expand into a huge one
// (zip bomb → close 1009).

#include <covet/ws/connection.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace covet::ws {

/// The negotiated parameters of permessage-deflate.
struct deflate_params {
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
};

/// Server side: picks the first acceptable permessage-deflate offer of a
/// Sec-WebSocket-Extensions value (all header lines joined with ", ") under
/// `options`. Returns nullopt when there is none (or deflate is disabled).
std::optional<deflate_params> negotiate_deflate(std::string_view extensions_header,
                                                const deflate_options& options);
/// The Sec-WebSocket-Extensions value a server answers for `params`.
std::string deflate_response(const deflate_params& params);
/// Client side: the offer for `options`.
std::string deflate_offer(const deflate_options& options);
/// Client side: checks the server's answer against what was offered;
/// nullopt for a malformed or unacceptable answer (the client then fails).
std::optional<deflate_params> parse_deflate_response(std::string_view extensions_header,
                                                     const deflate_options& options);

namespace detail {

/// One connection's compressor and decompressor.
class deflate_codec {
public:
    /// `server` selects which side's window bits and context takeover apply to which direction.
    deflate_codec(const deflate_params& params, bool server, const deflate_options& options);
    ~deflate_codec();
    deflate_codec(const deflate_codec&) = delete;
    deflate_codec& operator=(const deflate_codec&) = delete;

    /// Compresses one message, or one fragment of a streamed message (RFC 7692
    /// 6.1: the fragments' payloads together are the compressed message; `last`
    /// ends it). False on a zlib failure.
    bool compress(std::string_view in, std::string& out, bool last = true);
    /// Inflates one message into `out`, at most `limit` bytes. Returns 0, or
    /// the close code to fail with (1009 over the limit, 1007 bad data).
    std::uint16_t inflate(std::string_view in, std::string& out, std::size_t limit);
    std::size_t min_size() const noexcept { return min_size_; }

private:
    struct streams;
    std::unique_ptr<streams> z_;
    bool compress_reset_;
    bool inflate_reset_;
    std::size_t min_size_;
};

}  // namespace detail
}  // namespace covet::ws
