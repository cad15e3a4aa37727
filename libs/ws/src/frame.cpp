#include <covet/ws/frame.hpp>

#include <algorithm>
#include <bit>
#include <cstring>

namespace covet::ws {

// ------------------------------------------------------------ UTF-8

bool utf8_validator::feed(std::string_view bytes) noexcept
{
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
    const auto* const end = p + bytes.size();
    while (p < end) {
        if (pending_ == 0) {
            // Text is mostly ASCII: skip 8 bytes at a time while no high bit is set.
            while (end - p >= 8) {
                std::uint64_t word;
                std::memcpy(&word, p, 8);
                if ((word & 0x8080808080808080ULL) != 0) {
                    break;
                }
                p += 8;
            }
            if (p == end) {
                break;
            }
            const std::uint8_t c = *p++;
            if (c < 0x80) {
                continue;
            }
            // Unicode table 3-7: the lead byte fixes the length and the range of
            // the first continuation byte (no overlongs, surrogates, > U+10FFFF).
            if (c < 0xC2) {
                return false;
            }
            low_ = 0x80;
            high_ = 0xBF;
            if (c < 0xE0) {
                pending_ = 1;
            } else if (c < 0xF0) {
                pending_ = 2;
                if (c == 0xE0) {
                    low_ = 0xA0;
                } else if (c == 0xED) {
                    high_ = 0x9F;
                }
            } else if (c < 0xF5) {
                pending_ = 3;
                if (c == 0xF0) {
                    low_ = 0x90;
                } else if (c == 0xF4) {
                    high_ = 0x8F;
                }
            } else {
                return false;
            }
        } else {
            const std::uint8_t c = *p++;
            if (c < low_ || c > high_) {
                return false;
            }
            --pending_;
            low_ = 0x80;
            high_ = 0xBF;
        }
    }
    return true;
}

bool is_valid_utf8(std::string_view bytes) noexcept
{
    utf8_validator v;
    return v.feed(bytes) && v.complete();
}

// ------------------------------------------------------------ frame header

namespace {

std::size_t header_size_from(std::uint8_t second_byte) noexcept
{
    const std::uint8_t length7 = second_byte & 0x7F;
    std::size_t size = 2;
    if (length7 == 126) {
        size += 2;
    } else if (length7 == 127) {
        size += 8;
    }
    if ((second_byte & 0x80) != 0) {
        size += 4;
    }
    return size;
}

}  // namespace

header_status parse_header(std::span<const std::uint8_t> bytes, frame_header& out,
                           std::size_t& header_size) noexcept
{
    if (bytes.size() < 2) {
        return header_status::need_more;
    }
    const std::size_t size = header_size_from(bytes[1]);
    if (bytes.size() < size) {
        return header_status::need_more;
    }
    const std::uint8_t b0 = bytes[0];
    const std::uint8_t b1 = bytes[1];
    out.fin = (b0 & 0x80) != 0;
    out.rsv1 = (b0 & 0x40) != 0;
    out.rsv2 = (b0 & 0x20) != 0;
    out.rsv3 = (b0 & 0x10) != 0;
    out.op = static_cast<opcode>(b0 & 0x0F);
    out.masked = (b1 & 0x80) != 0;
    const std::uint8_t length7 = b1 & 0x7F;
    std::size_t at = 2;
    if (length7 == 126) {
        out.payload_length = (std::uint64_t{bytes[2]} << 8) | bytes[3];
        at = 4;
        if (out.payload_length < 126) {
            return header_status::bad_length;  // RFC 6455 5.2: the minimal encoding must be used
        }
    } else if (length7 == 127) {
        std::uint64_t length = 0;
        for (std::size_t i = 0; i < 8; ++i) {
            length = (length << 8) | bytes[2 + i];
        }
        at = 10;
        if ((length >> 63) != 0 || length <= 0xFFFF) {
            return header_status::bad_length;
        }
        out.payload_length = length;
    } else {
        out.payload_length = length7;
    }
    if (out.masked) {
        std::memcpy(out.mask.data(), bytes.data() + at, 4);
    } else {
        out.mask = {};
    }
    header_size = size;
    return header_status::complete;
}

std::size_t write_header(std::uint8_t* out, const frame_header& h) noexcept
{
    out[0] = static_cast<std::uint8_t>((h.fin ? 0x80 : 0) | (h.rsv1 ? 0x40 : 0) | (h.rsv2 ? 0x20 : 0) |
                                       (h.rsv3 ? 0x10 : 0) | static_cast<std::uint8_t>(h.op));
    const std::uint8_t mask_bit = h.masked ? 0x80 : 0;
    std::size_t at = 2;
    if (h.payload_length < 126) {
        out[1] = static_cast<std::uint8_t>(mask_bit | h.payload_length);
    } else if (h.payload_length <= 0xFFFF) {
        out[1] = static_cast<std::uint8_t>(mask_bit | 126);
        out[2] = static_cast<std::uint8_t>(h.payload_length >> 8);
        out[3] = static_cast<std::uint8_t>(h.payload_length);
        at = 4;
    } else {
        out[1] = static_cast<std::uint8_t>(mask_bit | 127);
        for (std::size_t i = 0; i < 8; ++i) {
            out[2 + i] = static_cast<std::uint8_t>(h.payload_length >> (56 - 8 * i));
        }
        at = 10;
    }
    if (h.masked) {
        std::memcpy(out + at, h.mask.data(), 4);
        at += 4;
    }
    return at;
}

namespace {

// Unmasks (or masks) `size` bytes from `from` into `to` in one pass, eight at
// a time; `to` may be `from`. `offset` is the position of from[0] in the payload.
void copy_masked(std::uint8_t* to, const std::uint8_t* from, std::size_t size,
                 std::array<std::uint8_t, 4> mask, std::size_t offset) noexcept
{
    // key[i] = mask[(offset + i) % 4]: the mask rotated by the offset, twice.
    std::uint32_t mask_word;
    std::memcpy(&mask_word, mask.data(), 4);
    const unsigned shift = 8 * static_cast<unsigned>(offset % 4);
    if constexpr (std::endian::native == std::endian::little) {
        mask_word = std::rotr(mask_word, static_cast<int>(shift));
    } else {
        mask_word = std::rotl(mask_word, static_cast<int>(shift));
    }
    const std::uint64_t key_word = (std::uint64_t{mask_word} << 32) | mask_word;
    std::array<std::uint8_t, 8> key;
    std::memcpy(key.data(), &key_word, 8);
    std::size_t i = 0;
#if defined(__GNUC__)
    // 32 bytes a step in two 16-byte vectors (SSE2, part of x86-64; NEON on
    // ARM): a 1 KiB payload costs 64 vector steps instead of 128 word steps.
    using block = std::uint64_t __attribute__((vector_size(16)));
    const block key_block = {key_word, key_word};
    for (; i + 32 <= size; i += 32) {
        block low;
        block high;
        std::memcpy(&low, from + i, 16);
        std::memcpy(&high, from + i + 16, 16);
        low ^= key_block;
        high ^= key_block;
        std::memcpy(to + i, &low, 16);
        std::memcpy(to + i + 16, &high, 16);
    }
#endif
    for (; i + 8 <= size; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, from + i, 8);
        word ^= key_word;
        std::memcpy(to + i, &word, 8);
    }
    for (; i < size; ++i) {
        to[i] = from[i] ^ key[i % 8];
    }
}

}  // namespace

void apply_mask(std::uint8_t* data, std::size_t size, std::array<std::uint8_t, 4> mask,
                std::size_t offset) noexcept
{
    copy_masked(data, data, size, mask, offset);
}

std::string close_payload(std::uint16_t code, std::string_view reason)
{
    std::string out;
    out.push_back(static_cast<char>(code >> 8));
    out.push_back(static_cast<char>(code & 0xFF));
    reason = reason.substr(0, max_control_payload - 2);
    // Never cut a code point in half: the peer would fail us with 1007.
    while (!reason.empty() && !is_valid_utf8(reason)) {
        reason.remove_suffix(1);
    }
    out.append(reason);
    return out;
}

// ------------------------------------------------------------ frame_reader

frame_reader::kind frame_reader::fail(std::uint16_t code, std::string_view reason) noexcept
{
    error_code_ = code;
    error_reason_ = reason;
    return kind::error;
}

// Checks a parsed header against RFC 6455 5.2-5.5 and the limits, and starts
// the frame: kind::error after failing, else kind::need_more.
frame_reader::kind frame_reader::begin_frame()
{
    const frame_header& h = header_;
    const auto op = static_cast<std::uint8_t>(h.op);
    if ((op >= 3 && op <= 7) || op >= 0xB) {
        return fail(close_code::protocol_error, "reserved opcode");
    }
    if (h.rsv2 || h.rsv3) {
        return fail(close_code::protocol_error, "reserved bit set");
    }
    if (h.rsv1 && (!options_.allow_rsv1 || h.op == opcode::continuation || is_control(h.op))) {
        return fail(close_code::protocol_error, "reserved bit set");
    }
    if (h.masked != (options_.role == role::server)) {
        // RFC 6455 5.1: clients mask every frame, servers none.
        return fail(close_code::protocol_error, h.masked ? "masked frame from server" : "unmasked frame");
    }
    if (is_control(h.op)) {
        if (!h.fin) {
            return fail(close_code::protocol_error, "fragmented control frame");
        }
        if (h.payload_length > max_control_payload) {
            return fail(close_code::protocol_error, "control frame too long");
        }
        control_size_ = 0;
    } else {
        if (h.op == opcode::continuation && !in_message_) {
            return fail(close_code::protocol_error, "continuation without a message");
        }
        if (h.op != opcode::continuation && in_message_) {
            return fail(close_code::protocol_error, "new message inside a fragmented one");
        }
        if (h.op != opcode::continuation) {
            in_message_ = true;
            compressed_ = h.rsv1;
            message_type_ = h.op;
            message_.clear();
            compressed_data_.clear();
            utf8_.reset();
        }
        const std::size_t so_far = compressed_ ? compressed_data_.size() : message_.size();
        if (h.payload_length > options_.max_message_size - so_far) {
            return fail(close_code::message_too_big, "message too big");
        }
    }
    in_frame_ = true;
    frame_done_ = 0;
    return kind::need_more;
}

// The common case in one step: `input` starts with a whole unfragmented
// text or binary frame, no RSV bit, the mask bit this role expects, a 7- or
// 16-bit length (minimal) within max_message_size, outside a fragmented
// message. It becomes the message at once (UTF-8 checked as the slow path
// does); `used` is 0 when the frame is anything else, for the general path
// below, which applies every rule.
frame_reader::kind frame_reader::whole_message(std::span<const std::uint8_t> input, std::size_t& used)
{
    used = 0;
    if (input.size() < 2) {
        return kind::need_more;
    }
    const std::uint8_t b0 = input[0];
    const std::uint8_t b1 = input[1];
    const bool masked = (b1 & 0x80) != 0;
    if ((b0 != 0x81 && b0 != 0x82) || masked != (options_.role == role::server)) {
        return kind::need_more;
    }
    std::size_t length = b1 & 0x7F;
    std::size_t at = 2;
    if (length == 126) {
        if (input.size() < 4) {
            return kind::need_more;
        }
        length = (std::size_t{input[2]} << 8) | input[3];
        at = 4;
        if (length < 126) {
            return kind::need_more;  // not minimal: the general path fails it
        }
    } else if (length == 127) {
        return kind::need_more;
    }
    std::array<std::uint8_t, 4> mask{};
    if (masked) {
        if (input.size() < at + 4) {
            return kind::need_more;
        }
        std::memcpy(mask.data(), input.data() + at, 4);
        at += 4;
    }
    if (input.size() - at < length || length > options_.max_message_size) {
        return kind::need_more;
    }
    message_type_ = static_cast<opcode>(b0 & 0x0F);
    compressed_ = false;
    message_.resize(length);
    auto* to = reinterpret_cast<std::uint8_t*>(message_.data());
    if (masked) {
        copy_masked(to, input.data() + at, length, mask, 0);
    } else if (length != 0) {
        std::memcpy(to, input.data() + at, length);
    }
    used = at + length;
    if (message_type_ == opcode::text) {
        utf8_.reset();
        if (!utf8_.feed(message_) || !utf8_.complete()) {
            return fail(close_code::invalid_payload, "invalid UTF-8");
        }
    }
    return kind::message;
}

frame_reader::kind frame_reader::next(std::span<const std::uint8_t> input, std::size_t& consumed)
{
    consumed = 0;
    if (!in_frame_ && header_have_ == 0 && !in_message_) {
        const kind whole = whole_message(input, consumed);
        if (consumed != 0) {
            return whole;
        }
    }
    while (consumed < input.size() || (in_frame_ && frame_done_ == header_.payload_length)) {
        if (!in_frame_) {
            const std::span<const std::uint8_t> rest = input.subspan(consumed);
            std::size_t header_size = 0;
            header_status status = header_status::need_more;
            if (header_have_ == 0 && rest.size() >= 2 && rest.size() >= header_size_from(rest[1])) {
                // The usual case: the whole header is in the input; parse it in place.
                status = parse_header(rest, header_, header_size);
                consumed += header_size;
            } else {
                // Gather the header, which may arrive split anywhere.
                if (header_have_ < 2) {
                    const std::size_t n = std::min(2 - header_have_, input.size() - consumed);
                    std::memcpy(header_bytes_.data() + header_have_, input.data() + consumed, n);
                    header_have_ += n;
                    consumed += n;
                    if (header_have_ < 2) {
                        return kind::need_more;
                    }
                }
                const std::size_t needed = header_size_from(header_bytes_[1]);
                const std::size_t n = std::min(needed - header_have_, input.size() - consumed);
                std::memcpy(header_bytes_.data() + header_have_, input.data() + consumed, n);
                header_have_ += n;
                consumed += n;
                if (header_have_ < needed) {
                    return kind::need_more;
                }
                status = parse_header(std::span<const std::uint8_t>(header_bytes_.data(), header_have_),
                                      header_, header_size);
                header_have_ = 0;
            }
            if (status != header_status::complete) {
                return fail(close_code::protocol_error, "bad payload length");
            }
            if (begin_frame() == kind::error) {
                return kind::error;
            }
        }

        const std::uint64_t left = header_.payload_length - frame_done_;
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(left, input.size() - consumed));
        if (n > 0) {
            const std::uint8_t* from = input.data() + consumed;
            std::uint8_t* to = nullptr;
            if (is_control(header_.op)) {
                to = reinterpret_cast<std::uint8_t*>(control_.data()) + control_size_;
                control_size_ += n;
            } else {
                std::string& target = compressed_ ? compressed_data_ : message_;
                const std::size_t old_size = target.size();
                target.resize(old_size + n);
                to = reinterpret_cast<std::uint8_t*>(target.data()) + old_size;
            }
            if (header_.masked) {
                copy_masked(to, from, n, header_.mask, static_cast<std::size_t>(frame_done_));
            } else {
                std::memcpy(to, from, n);
            }
            if (!is_control(header_.op) && !compressed_ && message_type_ == opcode::text &&
                !utf8_.feed(std::string_view(reinterpret_cast<const char*>(to), n))) {
                return fail(close_code::invalid_payload, "invalid UTF-8");
            }
            frame_done_ += n;
            consumed += n;
        }
        if (frame_done_ < header_.payload_length) {
            return kind::need_more;
        }
        in_frame_ = false;
        if (is_control(header_.op)) {
            return finish_control();
        }
        if (header_.fin) {
            return finish_message();
        }
    }
    return kind::need_more;
}

frame_reader::kind frame_reader::finish_control()
{
    switch (header_.op) {
    case opcode::ping: return kind::ping;
    case opcode::pong: return kind::pong;
    default: break;
    }
    if (control_size_ == 0) {
        close_code_ = close_code::no_status;
        return kind::close;
    }
    if (control_size_ == 1) {
        return fail(close_code::protocol_error, "close payload of one byte");
    }
    const auto code = static_cast<std::uint16_t>((static_cast<std::uint8_t>(control_[0]) << 8) |
                                                 static_cast<std::uint8_t>(control_[1]));
    if (!is_valid_close_code(code)) {
        return fail(close_code::protocol_error, "invalid close code");
    }
    if (!is_valid_utf8(close_reason())) {
        return fail(close_code::invalid_payload, "invalid UTF-8 in close reason");
    }
    close_code_ = code;
    return kind::close;
}

frame_reader::kind frame_reader::finish_message()
{
    in_message_ = false;
    if (compressed_) {
        if (!inflate_) {
            return fail(close_code::protocol_error, "compressed message without an extension");
        }
        message_.clear();
        const std::uint16_t code = inflate_(compressed_data_, message_, options_.max_message_size);
        compressed_data_.clear();
        if (code != 0) {
            return fail(code,
                        code == close_code::message_too_big ? "message too big" : "bad compressed data");
        }
        if (message_type_ == opcode::text && !is_valid_utf8(message_)) {
            return fail(close_code::invalid_payload, "invalid UTF-8");
        }
        return kind::message;
    }
    if (message_type_ == opcode::text && !utf8_.complete()) {
        return fail(close_code::invalid_payload, "invalid UTF-8");
    }
    return kind::message;
}

}  // namespace covet::ws
