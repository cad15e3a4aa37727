#include <covet/http/header.hpp>
#include <covet/ws/deflate.hpp>

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <vector>

namespace covet::ws {

namespace {

std::vector<std::string_view> split(std::string_view s, char separator)
{
    std::vector<std::string_view> parts;
    for (;;) {
        const std::size_t at = s.find(separator);
        parts.push_back(http::trim_ows(s.substr(0, at)));
        if (at == std::string_view::npos) {
            return parts;
        }
        s.remove_prefix(at + 1);
    }
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// 8..15; a quoted value is allowed (RFC 7692 7.1). -1 for a bad value.
int window_bits(std::string_view value) noexcept
{
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
    }
    if (value.size() == 1 && value[0] >= '8' && value[0] <= '9') {
        return value[0] - '0';
    }
    if (value.size() == 2 && value[0] == '1' && value[1] >= '0' && value[1] <= '5') {
        return 10 + (value[1] - '0');
    }
    return -1;
}

struct offer {
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    int server_max_window_bits = 0;  // 0: not present
    int client_max_window_bits = 0;  // 0: not present, 15 when present without value
};

// Parses the parameters of one permessage-deflate element; false for unknown,
// duplicate or malformed parameters (the element is then declined).
bool parse_offer(const std::vector<std::string_view>& params, offer& out)
{
    for (std::size_t i = 1; i < params.size(); ++i) {
        const std::string_view param = params[i];
        const std::size_t eq = param.find('=');
        const std::string_view name = http::trim_ows(param.substr(0, eq));
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view() : http::trim_ows(param.substr(eq + 1));
        const bool has_value = eq != std::string_view::npos;
        if (iequals(name, "server_no_context_takeover") && !has_value && !out.server_no_context_takeover) {
            out.server_no_context_takeover = true;
        } else if (iequals(name, "client_no_context_takeover") && !has_value &&
                   !out.client_no_context_takeover) {
            out.client_no_context_takeover = true;
        } else if (iequals(name, "server_max_window_bits") && has_value && out.server_max_window_bits == 0) {
            out.server_max_window_bits = window_bits(value);
            if (out.server_max_window_bits < 0) {
                return false;
            }
        } else if (iequals(name, "client_max_window_bits") && out.client_max_window_bits == 0) {
            out.client_max_window_bits = has_value ? window_bits(value) : 15;
            if (out.client_max_window_bits < 0) {
                return false;
            }
        } else {
            return false;
        }
    }
    return true;
}

// zlib's raw deflate cannot use a 256-byte window (it silently uses 512), so 8 is never promised.
int compressor_bits(int bits) noexcept
{
    return std::clamp(bits, 9, 15);
}

}  // namespace

std::optional<deflate_params> negotiate_deflate(std::string_view extensions_header,
                                                const deflate_options& options)
{
    if (!options.enabled) {
        return std::nullopt;
    }
    for (const std::string_view element : split(extensions_header, ',')) {
        const auto params = split(element, ';');
        if (!iequals(params[0], "permessage-deflate")) {
            continue;
        }
        offer o;
        if (!parse_offer(params, o)) {
            continue;
        }
        deflate_params p;
        p.server_no_context_takeover = o.server_no_context_takeover || options.server_no_context_takeover;
        p.client_no_context_takeover = o.client_no_context_takeover || options.client_no_context_takeover;
        p.server_max_window_bits = compressor_bits(options.server_max_window_bits);
        if (o.server_max_window_bits != 0) {
            if (o.server_max_window_bits < 9) {
                continue;  // we cannot compress within a 256-byte window
            }
            p.server_max_window_bits = std::min(p.server_max_window_bits, o.server_max_window_bits);
        }
        // The client's window: we may only lower it if it said it can (client_max_window_bits offered).
        p.client_max_window_bits = 15;
        if (o.client_max_window_bits != 0) {
            p.client_max_window_bits =
                std::min(o.client_max_window_bits, std::clamp(options.client_max_window_bits, 8, 15));
        }
        return p;
    }
    return std::nullopt;
}

std::string deflate_response(const deflate_params& params)
{
    std::string out = "permessage-deflate";
    if (params.server_no_context_takeover) {
        out += "; server_no_context_takeover";
    }
    if (params.client_no_context_takeover) {
        out += "; client_no_context_takeover";
    }
    if (params.server_max_window_bits < 15) {
        out += "; server_max_window_bits=" + std::to_string(params.server_max_window_bits);
    }
    if (params.client_max_window_bits < 15) {
        out += "; client_max_window_bits=" + std::to_string(params.client_max_window_bits);
    }
    return out;
}

std::string deflate_offer(const deflate_options& options)
{
    std::string out = "permessage-deflate; client_max_window_bits";
    const int client_bits = compressor_bits(options.client_max_window_bits);
    if (client_bits < 15) {
        out += "=" + std::to_string(client_bits);
    }
    if (options.server_max_window_bits < 15) {
        out +=
            "; server_max_window_bits=" + std::to_string(std::clamp(options.server_max_window_bits, 8, 15));
    }
    if (options.server_no_context_takeover) {
        out += "; server_no_context_takeover";
    }
    if (options.client_no_context_takeover) {
        out += "; client_no_context_takeover";
    }
    return out;
}

std::optional<deflate_params> parse_deflate_response(std::string_view extensions_header,
                                                     const deflate_options& options)
{
    const auto elements = split(extensions_header, ',');
    if (elements.size() != 1) {
        return std::nullopt;  // we offered one extension; anything else is an error
    }
    const auto params = split(elements[0], ';');
    if (!iequals(params[0], "permessage-deflate")) {
        return std::nullopt;
    }
    offer o;
    if (!parse_offer(params, o)) {
        return std::nullopt;
    }
    deflate_params p;
    p.server_no_context_takeover = o.server_no_context_takeover;
    p.client_no_context_takeover = o.client_no_context_takeover || options.client_no_context_takeover;
    if (options.server_no_context_takeover && !o.server_no_context_takeover) {
        return std::nullopt;  // we asked for it; the server must agree
    }
    p.server_max_window_bits = o.server_max_window_bits == 0 ? 15 : o.server_max_window_bits;
    if (options.server_max_window_bits < 15 && p.server_max_window_bits > options.server_max_window_bits) {
        return std::nullopt;
    }
    const int offered_client_bits = compressor_bits(options.client_max_window_bits);
    p.client_max_window_bits = o.client_max_window_bits == 0 ? offered_client_bits : o.client_max_window_bits;
    if (p.client_max_window_bits > offered_client_bits || p.client_max_window_bits < 9) {
        return std::nullopt;
    }
    return p;
}

namespace detail {

struct deflate_codec::streams {
    z_stream deflater{};
    z_stream inflater{};
    bool deflater_ready = false;
    bool inflater_ready = false;
    int deflate_bits = 15;
    int mem_level = 8;

    ~streams()
    {
        if (deflater_ready) {
            deflateEnd(&deflater);
        }
        if (inflater_ready) {
            inflateEnd(&inflater);
        }
    }
};

deflate_codec::deflate_codec(const deflate_params& params, bool server, const deflate_options& options)
    : z_(std::make_unique<streams>()),
      compress_reset_(server ? params.server_no_context_takeover : params.client_no_context_takeover),
      inflate_reset_(server ? params.client_no_context_takeover : params.server_no_context_takeover),
      min_size_(options.min_size)
{
    z_->deflate_bits =
        compressor_bits(server ? params.server_max_window_bits : params.client_max_window_bits);
    z_->mem_level = std::clamp(options.mem_level, 1, 9);
}

deflate_codec::~deflate_codec() = default;

bool deflate_codec::compress(std::string_view in, std::string& out, bool last)
{
    z_stream& z = z_->deflater;
    if (!z_->deflater_ready) {
        // Created on first use: an idle connection holds no zlib state.
        if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -z_->deflate_bits, z_->mem_level,
                         Z_DEFAULT_STRATEGY) != Z_OK) {
            return false;
        }
        z_->deflater_ready = true;
    }
    out.resize(deflateBound(&z, static_cast<uLong>(in.size())) + 16);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(in.size());
    std::size_t produced = 0;
    for (;;) {
        z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
        z.avail_out = static_cast<uInt>(out.size() - produced);
        const int rc = deflate(&z, Z_SYNC_FLUSH);
        produced = out.size() - z.avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR) {
            return false;
        }
        if (z.avail_out != 0) {
            break;
        }
        out.resize(out.size() * 2);
    }
    out.resize(produced);
    if (!last) {
        // A fragment of a streamed message: the flush marker stays, it is
        // part of the one compressed stream the peer inflates at the end.
        return true;
    }
    // RFC 7692 7.2.1: drop the 00 00 FF FF that ends every sync flush.
    if (out.size() >= 4 && std::memcmp(out.data() + out.size() - 4, "\x00\x00\xff\xff", 4) == 0) {
        out.resize(out.size() - 4);
    }
    if (compress_reset_) {
        deflateReset(&z);
    }
    return true;
}

std::uint16_t deflate_codec::inflate(std::string_view in, std::string& out, std::size_t limit)
{
    z_stream& z = z_->inflater;
    if (!z_->inflater_ready) {
        if (inflateInit2(&z, -15) != Z_OK) {
            return close_code::internal_error;
        }
        z_->inflater_ready = true;
    }
    static constexpr unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
    out.clear();
    std::uint16_t outcome = 0;
    // The message, then the tail the sender removed (RFC 7692 7.2.2).
    for (int part = 0; part < 2 && outcome == 0; ++part) {
        z.next_in =
            part == 0 ? reinterpret_cast<Bytef*>(const_cast<char*>(in.data())) : const_cast<Bytef*>(tail);
        z.avail_in = part == 0 ? static_cast<uInt>(in.size()) : 4;
        while (z.avail_in > 0) {
            // One byte past the limit tells "too big" from "exactly the limit".
            if (out.size() > limit) {
                outcome = close_code::message_too_big;
                break;
            }
            const std::size_t step =
                std::min<std::size_t>(limit + 1 - out.size(), std::max<std::size_t>(4096, out.size()));
            const std::size_t old_size = out.size();
            out.resize(old_size + step);
            z.next_out = reinterpret_cast<Bytef*>(out.data() + old_size);
            z.avail_out = static_cast<uInt>(step);
            const int rc = ::inflate(&z, Z_SYNC_FLUSH);
            out.resize(out.size() - z.avail_out);
            if (rc == Z_STREAM_END || rc == Z_NEED_DICT || rc == Z_DATA_ERROR || rc == Z_MEM_ERROR) {
                outcome = close_code::invalid_payload;
                break;
            }
            if (rc == Z_BUF_ERROR && z.avail_in > 0 && z.avail_out > 0) {
                outcome = close_code::invalid_payload;
                break;
            }
        }
    }
    if (outcome == 0 && out.size() > limit) {
        outcome = close_code::message_too_big;
    }
    if (inflate_reset_ || outcome != 0) {
        inflateReset(&z);
    }
    return outcome;
}

}  // namespace detail
}  // namespace covet::ws
