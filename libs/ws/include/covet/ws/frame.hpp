#pragma once
// RFC 6455 section 5 without I/O: frame headers (parse and write), masking,
// close codes and payloads, an incremental UTF-8 validator, and frame_reader,
// the state machine that turns received bytes into whole messages and control
// frames and names the close code for every protocol violation.
//
// frame_reader is fed whatever bytes arrived, split anywhere (even inside a
// header); it is what the connection runs and what the fuzzer drives.

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

namespace covet::ws {

enum class opcode : std::uint8_t {
    continuation = 0x0,
    text = 0x1,
    binary = 0x2,
    close = 0x8,
    ping = 0x9,
    pong = 0xA,
};

constexpr bool is_control(opcode op) noexcept
{
    return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}

/// Close status codes (RFC 6455 7.4.1).
namespace close_code {
inline constexpr std::uint16_t normal = 1000;
inline constexpr std::uint16_t going_away = 1001;
inline constexpr std::uint16_t protocol_error = 1002;
inline constexpr std::uint16_t unsupported_data = 1003;
/// Never sent: reported when a close frame had no status code.
inline constexpr std::uint16_t no_status = 1005;
/// Never sent: reported when the connection dropped without a close frame.
inline constexpr std::uint16_t abnormal = 1006;
inline constexpr std::uint16_t invalid_payload = 1007;
inline constexpr std::uint16_t policy_violation = 1008;
inline constexpr std::uint16_t message_too_big = 1009;
inline constexpr std::uint16_t mandatory_extension = 1010;
inline constexpr std::uint16_t internal_error = 1011;
}  // namespace close_code

/// True for a code a peer may put into a close frame: 1000-1003, 1007-1014
/// (registered), 3000-4999 (libraries and applications).
constexpr bool is_valid_close_code(std::uint16_t code) noexcept
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

// ------------------------------------------------------------ UTF-8

/// Validates UTF-8 incrementally: feed() the text in pieces (a code point may
/// be split between them); it fails at the first byte that cannot start or
/// continue a well-formed sequence (no overlongs, surrogates or > U+10FFFF).
class utf8_validator {
public:
    /// False as soon as the bytes so far cannot be a prefix of valid UTF-8.
    bool feed(std::string_view bytes) noexcept;
    /// True when no code point is left unfinished.
    bool complete() const noexcept { return pending_ == 0; }
    void reset() noexcept
    {
        pending_ = 0;
        low_ = 0x80;
        high_ = 0xBF;
    }

private:
    std::uint8_t pending_ = 0;  // continuation bytes still expected
    std::uint8_t low_ = 0x80;   // allowed range of the next continuation byte
    std::uint8_t high_ = 0xBF;
};

/// Whole-string check.
bool is_valid_utf8(std::string_view bytes) noexcept;

// ------------------------------------------------------------ frame header

struct frame_header {
    bool fin = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
    ws::opcode op = opcode::text;
    bool masked = false;
    std::array<std::uint8_t, 4> mask{};
    std::uint64_t payload_length = 0;
};

inline constexpr std::size_t max_header_size = 14;
inline constexpr std::size_t max_control_payload = 125;

enum class header_status {
    complete,
    need_more,
    /// The 64-bit length has its top bit set or is not in minimal form.
    bad_length,
};

/// Parses one frame header from the start of `bytes`; on `complete`,
/// `header_size` is its size. Checks only the encoding of the length; the
/// protocol rules are frame_reader's.
header_status parse_header(std::span<const std::uint8_t> bytes, frame_header& out,
                           std::size_t& header_size) noexcept;

/// Writes a header into `out`; returns its size (2 to 14 bytes).
std::size_t write_header(std::uint8_t* out, const frame_header& h) noexcept;

/// XORs `data` with `mask`, `offset` bytes into the frame's payload.
void apply_mask(std::uint8_t* data, std::size_t size, std::array<std::uint8_t, 4> mask,
                std::size_t offset = 0) noexcept;

/// A close frame's payload: code (big endian) then reason (truncated to fit 125 bytes).
std::string close_payload(std::uint16_t code, std::string_view reason);

// ------------------------------------------------------------ frame_reader

enum class role { server, client };

struct reader_options {
    ws::role role = ws::role::server;
    /// Largest message (after decompression); more → 1009.
    std::size_t max_message_size = 16 * 1024 * 1024;
    /// RSV1 is allowed on the first frame of a data message (permessage-deflate).
    bool allow_rsv1 = false;
};

/// Called with a whole compressed message (RSV1 set) to inflate into `out`
/// (up to `limit` bytes); returns 0 when done, else the close code to fail
/// with (1009 over the limit, 1007 for bad compressed data).
using inflate_fn =
    std::function<std::uint16_t(std::string_view compressed, std::string& out, std::size_t limit)>;

class frame_reader {
public:
    enum class kind : std::uint8_t {
        need_more,  ///< every byte was used; feed more
        message,    ///< a whole data message: message_type(), take_message()
        ping,       ///< payload()
        pong,       ///< payload()
        close,      ///< close_code(), close_reason()
        error,      ///< a protocol violation: fail with error_code()
    };

    explicit frame_reader(reader_options options = {}) : options_(options) {}

    /// Consumes bytes from `input` (sets `consumed`) until one event or the end.
    /// After `error` or `close`, stop feeding.
    kind next(std::span<const std::uint8_t> input, std::size_t& consumed);

    void set_inflate(inflate_fn fn) { inflate_ = std::move(fn); }
    const reader_options& options() const noexcept { return options_; }
    void set_max_message_size(std::size_t n) noexcept { options_.max_message_size = n; }

    /// opcode::text or opcode::binary of the last message.
    opcode message_type() const noexcept { return message_type_; }
    /// The last message; moves it out (the reader starts a fresh buffer).
    std::string take_message() noexcept { return std::move(message_); }
    /// The last message, swapped into `into`: the reader keeps the buffer
    /// `into` held for the next message (up to reused_buffer_limit bytes of
    /// it), so a caller that reads into one string allocates nothing per message.
    void take_message(std::string& into) noexcept
    {
        // libstdc++'s move assignment hands `into`'s old buffer to message_
        // (a swap does the same, out of line and with more branches).
        into = std::move(message_);
        message_.clear();
        if (message_.capacity() > reused_buffer_limit) {
            std::string().swap(message_);
        }
    }
    static constexpr std::size_t reused_buffer_limit = 64 * 1024;
    /// The payload of the last ping or pong (valid until the next call).
    std::string_view payload() const noexcept { return {control_.data(), control_size_}; }
    /// The status of a received close frame (no_status if it had none).
    std::uint16_t close_code() const noexcept { return close_code_; }
    std::string_view close_reason() const noexcept
    {
        return control_size_ > 2 ? std::string_view(control_.data() + 2, control_size_ - 2)
                                 : std::string_view();
    }
    /// The close code to fail the connection with after `error`.
    std::uint16_t error_code() const noexcept { return error_code_; }
    /// A short reason for the error (for the close frame and logs).
    std::string_view error_reason() const noexcept { return error_reason_; }
    /// True between frames (no header or payload of a frame half read).
    bool between_frames() const noexcept { return !in_frame_ && header_have_ == 0; }
    /// Bytes of the message being assembled (for tests).
    std::size_t pending_message_size() const noexcept { return message_.size(); }

private:
    kind fail(std::uint16_t code, std::string_view reason) noexcept;
    kind whole_message(std::span<const std::uint8_t> input, std::size_t& used);
    kind begin_frame();
    kind finish_control();
    kind finish_message();

    reader_options options_;
    inflate_fn inflate_;
    // Current frame (its header may arrive in pieces).
    std::array<std::uint8_t, max_header_size> header_bytes_{};
    std::size_t header_have_ = 0;
    bool in_frame_ = false;
    frame_header header_{};
    std::uint64_t frame_done_ = 0;  // payload bytes of the current frame consumed
    // Current message.
    bool in_message_ = false;
    bool compressed_ = false;
    opcode message_type_ = opcode::text;
    std::string message_;
    std::string compressed_data_;
    utf8_validator utf8_;
    // Control frame payload.
    std::array<char, max_control_payload> control_{};
    std::size_t control_size_ = 0;
    std::uint16_t close_code_ = close_code::no_status;
    std::uint16_t error_code_ = 0;
    std::string_view error_reason_;
};

}  // namespace covet::ws
