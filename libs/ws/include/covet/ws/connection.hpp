#pragma once
// ws::connection: one WebSocket over a net::any_stream (TCP or TLS), after
// the opening handshake (ws::accept on a server, ws::connect on a client).
//
//   for (;;) {
//       auto msg = co_await conn.read();            // a whole message, fragments reassembled
//       if (!msg) break;                            // ws::error::closed, or why it failed
//       co_await conn.send_text(msg->data);
//   }
//
// or, reusing one buffer for every message: ws::message msg; ... co_await conn.read(msg).
//
// What the connection does by itself: answers pings with pongs; answers a
// close frame and closes TCP; fails the connection on every protocol
// violation with the right close code (1002, 1007 invalid UTF-8, 1009 too
// big) and then closes TCP; while a read() is waiting it pings an idle peer
// every ping_interval and drops a peer that stays silent for another
// interval (dead-peer detection).
//
// Threading and lifetimes: a connection is a cheap, copyable handle; copies
// share one connection. Use it on the executor (worker thread) that owns its
// stream: at most one read() at a time, sends from any number of coroutines
// of that thread. Everything sent is queued in order; the send queue is
// bounded (options.send_queue_limit bytes) and a full queue follows
// options.when_full: wait for room, drop the message, or fail the connection
// with 1008, so that a slow reader cannot eat the server's memory. A send made
// while received bytes still wait in the read buffer is queued rather than
// written at once, so that the replies to a pipelining peer's messages leave
// together in one write when the connection next waits for input.

#include <covet/base/result.hpp>
#include <covet/net/any_stream.hpp>
#include <covet/net/task.hpp>
#include <covet/ws/error.hpp>
#include <covet/ws/frame.hpp>

#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace covet::ws {

enum class message_type : std::uint8_t { text, binary };

struct message {
    message_type type = message_type::text;
    std::string data;
    bool is_text() const noexcept { return type == message_type::text; }
};

/// What a send does when the send queue is full.
enum class full_queue_policy : std::uint8_t {
    wait,   ///< the sending coroutine waits for room (post() drops instead)
    drop,   ///< the message is not sent; the send returns error::queue_full
    close,  ///< the connection is failed with 1008; the send returns error::policy_violation
};

/// permessage-deflate (RFC 7692) settings; see covet/ws/deflate.hpp.
struct deflate_options {
    bool enabled = false;
    /// LZ77 window of our compressor (8..15); offered/accepted as *_max_window_bits.
    int server_max_window_bits = 15;
    int client_max_window_bits = 15;
    /// Reset the compressor after every message (less memory per connection, worse ratio).
    bool server_no_context_takeover = false;
    bool client_no_context_takeover = false;
    /// Messages smaller than this are sent uncompressed.
    std::size_t min_size = 64;
    /// zlib memory level for the compressor (1..9).
    int mem_level = 8;
};

struct connection_options {
    /// Largest message received, after decompression; more → close 1009.
    std::size_t max_message_size = 16 * 1024 * 1024;
    /// Bytes queued for sending before when_full applies.
    std::size_t send_queue_limit = 4 * 1024 * 1024;
    full_queue_policy when_full = full_queue_policy::wait;
    /// Keep-alive ping after this much silence while read() waits; 0 = never.
    std::chrono::milliseconds ping_interval{30'000};
    /// How long a close handshake waits for the peer's close frame / TCP close.
    std::chrono::milliseconds close_timeout{5'000};
    /// Limit for writing one frame.
    std::chrono::milliseconds write_timeout{30'000};
    /// Base size of the receive buffer (it grows up to 64 KiB under bulk traffic and shrinks back).
    std::size_t read_buffer_size = 512;
};

namespace detail {
struct connection_state;
class deflate_codec;
}  // namespace detail

class connection {
public:
    /// An empty handle (is_open() is false).
    connection() noexcept = default;

    /// Takes over `stream` after a finished handshake. `early_data` are bytes
    /// already read past the handshake. Used by accept() and connect().
    connection(net::any_stream stream, std::string early_data, ws::role r, connection_options options,
               std::string subprotocol = {}, std::shared_ptr<detail::deflate_codec> deflate = nullptr);

    /// The next whole message. Errors: error::closed after a close handshake
    /// (close_code() tells the peer's status), protocol_error/invalid_utf8/
    /// message_too_big after failing the connection, dead_peer, or the stream's
    /// error (end_of_stream, connection_reset...).
    task<result<message>> read();
    /// The same, into `into` (type and data replaced). The buffers trade
    /// places: the connection keeps the one `into` held (up to 64 KiB of it)
    /// for the next message, so a loop reading into one ws::message allocates
    /// nothing per message (while idle it holds that buffer: one more message).
    task<result<void>> read(message& into);

    task<result<void>> send_text(std::string_view text);
    task<result<void>> send_binary(std::string_view data);
    task<result<void>> send(message_type type, std::string_view data);
    /// Queues a message without waiting (for fan-out: the payload is shared, not
    /// copied, by every connection it goes to). A full queue drops the message
    /// under the `wait` and `drop` policies and fails the connection under `close`.
    result<void> post(message_type type, std::shared_ptr<const std::string> data);

    /// Streams one message in fragments: every call sends one frame; the call
    /// with last = true ends the message. Other data sends of this connection
    /// return error::invalid_argument until then (control frames still go out).
    /// With permessage-deflate the whole streamed message is compressed (one
    /// deflate stream across the fragments, RSV1 on the first frame, RFC 7692
    /// 6.1), whatever the size of its first fragment.
    task<result<void>> send_fragment(message_type type, std::string_view data, bool last);

    task<result<void>> ping(std::string_view payload = {});
    /// Starts the close handshake: sends a close frame with `code` and `reason`
    /// (<= 123 bytes). If no read() is running, waits (close_timeout at most)
    /// for the peer's close and closes TCP; otherwise the running read() ends
    /// with error::closed when the peer answers.
    task<result<void>> close(std::uint16_t code = close_code::normal, std::string_view reason = {});

    /// True until a close frame was sent or the connection failed.
    bool is_open() const noexcept;
    /// The close status received (or sent, when the connection failed); abnormal if none.
    std::uint16_t close_code() const noexcept;
    std::string close_reason() const;
    /// The subprotocol the handshake chose ("" for none).
    std::string_view subprotocol() const noexcept;
    /// Whether permessage-deflate is in use.
    bool compressed() const noexcept;
    result<asio::ip::tcp::endpoint> remote_endpoint() const;
    /// Bytes waiting in the send queue.
    std::size_t queued_bytes() const noexcept;
    asio::any_io_executor get_executor() const noexcept;

    /// Identity (copies compare equal).
    bool operator==(const connection& other) const noexcept { return state_ == other.state_; }
    const void* id() const noexcept { return state_.get(); }

private:
    std::shared_ptr<detail::connection_state> state_;
};

}  // namespace covet::ws
