#include <covet/ws/connection.hpp>
#include <covet/ws/deflate.hpp>

#include "direct_io.hpp"

#include <covet/net/send_now.hpp>

#include <covet/base/error.hpp>
#include <covet/net/detail/error.hpp>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include <array>
#include <cstring>
#include <deque>
#include <optional>
#include <random>
#include <vector>

namespace covet::ws {

namespace {

class ws_error_category final : public std::error_category {
public:
    const char* name() const noexcept override { return "covet.ws"; }
    std::string message(int value) const override
    {
        switch (static_cast<error>(value)) {
        case error::closed: return "the WebSocket was closed";
        case error::not_open: return "the WebSocket is not open";
        case error::protocol_error: return "WebSocket protocol error";
        case error::invalid_utf8: return "invalid UTF-8 in a WebSocket text message";
        case error::message_too_big: return "WebSocket message too big";
        case error::queue_full: return "WebSocket send queue full: message dropped";
        case error::policy_violation: return "WebSocket send queue full: connection closed";
        case error::dead_peer: return "WebSocket peer did not answer a ping";
        case error::handshake_failed: return "WebSocket handshake failed";
        case error::invalid_argument: return "invalid WebSocket operation";
        }
        return "unknown covet.ws error";
    }
};

// Client masks must be unpredictable to intermediaries (RFC 6455 10.3); a
// per-thread generator seeded from the OS is enough for that.
std::array<std::uint8_t, 4> random_mask()
{
    thread_local std::mt19937 generator{std::random_device{}()};
    const std::uint32_t value = generator();
    return {static_cast<std::uint8_t>(value), static_cast<std::uint8_t>(value >> 8),
            static_cast<std::uint8_t>(value >> 16), static_cast<std::uint8_t>(value >> 24)};
}

error error_for_close_code(std::uint16_t code)
{
    switch (code) {
    case close_code::invalid_payload: return error::invalid_utf8;
    case close_code::message_too_big: return error::message_too_big;
    case close_code::policy_violation: return error::policy_violation;
    default: return error::protocol_error;
    }
}

}  // namespace

const std::error_category& ws_category() noexcept
{
    static const ws_error_category category;
    return category;
}

namespace detail {

// 64 KiB of payload and the largest header: a 64 KiB message in one receive.
constexpr std::size_t max_read_buffer = 64 * 1024 + max_header_size;
// Largest payload copied into the queue to batch a reply (see send_frame).
constexpr std::size_t max_batched_copy = 16 * 1024;
// Largest frame send_whole_now joins on the stack (header and payload).
constexpr std::size_t max_joined_frame = 2048;

enum class close_mode : std::uint8_t { none, immediate, wait_for_peer, linger };
enum class read_step : std::uint8_t { more, done, close_answered };

struct out_frame {
    std::array<std::uint8_t, max_header_size> head{};
    std::uint8_t head_size = 0;
    close_mode closes_after = close_mode::none;  // close TCP once this frame is out
    std::string owned;
    std::shared_ptr<const std::string> shared;

    std::string_view payload() const noexcept
    {
        return shared ? std::string_view(*shared) : std::string_view(owned);
    }
};

// The send queue, allocated only while the connection sends in bursts: an
// idle connection holds no deque (libstdc++ allocates a 512-byte block for an
// empty one). An emptied deque stays for the next burst (three allocations
// fewer per batch of pipelined replies) until the sweeper finds it empty.
class frame_queue {
public:
    bool empty() const noexcept { return !frames_ || frames_->empty(); }
    out_frame& front() noexcept { return frames_->front(); }
    void pop_front() { frames_->pop_front(); }
    void release_if_empty() noexcept
    {
        if (frames_ && frames_->empty()) {
            frames_.reset();
        }
    }
    void push_back(out_frame f) { get().push_back(std::move(f)); }
    void push_front(out_frame f) { get().push_front(std::move(f)); }
    void clear() noexcept { frames_.reset(); }

private:
    std::deque<out_frame>& get()
    {
        if (!frames_) {
            frames_ = std::make_unique<std::deque<out_frame>>();
        }
        return *frames_;
    }
    std::unique_ptr<std::deque<out_frame>> frames_;
};

struct connection_state;

// Keep-alive pings, dead peers, unanswered closes and stalled writes are found
// by one coarse timer per thread walking that thread's connections, instead of
// arming a timer on every read and write (a timer per operation cost a quarter
// of the echo throughput). Connections hold the sweeper; the thread only
// remembers it weakly, so it goes away with the thread's last connection.
class sweeper : public std::enable_shared_from_this<sweeper> {
public:
    using clock = std::chrono::steady_clock;

    explicit sweeper(const asio::any_io_executor& executor) : timer_(executor), now_(clock::now()) {}

    static std::shared_ptr<sweeper> for_this_thread(const asio::any_io_executor& executor)
    {
        thread_local std::weak_ptr<sweeper> current;
        auto found = current.lock();
        if (!found) {
            found = std::make_shared<sweeper>(executor);
            current = found;
        }
        return found;
    }

    clock::time_point now() const noexcept { return now_; }
    void add(connection_state* s, std::chrono::milliseconds shortest_limit);
    void remove(connection_state* s) noexcept;

private:
    void arm();
    void sweep();

    asio::steady_timer timer_;
    std::vector<connection_state*> members_;
    clock::time_point now_;
    std::chrono::milliseconds period_{1000};
    bool armed_ = false;
};

struct connection_state : std::enable_shared_from_this<connection_state> {
    connection_state(net::any_stream s, ws::role r, connection_options o, std::string protocol,
                     std::shared_ptr<deflate_codec> codec)
        : stream(std::move(s)),
          role(r),
          options(o),
          subprotocol(std::move(protocol)),
          deflate(std::move(codec)),
          reader(reader_options{r, o.max_message_size, deflate != nullptr})
    {
        if (deflate) {
            // The reader calls back into the codec; the state outlives its reader.
            reader.set_inflate(
                [codec = deflate.get()](std::string_view in, std::string& out, std::size_t limit) {
                    return codec->inflate(in, out, limit);
                });
        }
        stream.set_timeouts({});  // limits are the sweeper's
        if (asio::ip::tcp::socket* socket = stream.plain_socket()) {
            watch_input = input_watch::usable(*socket);
        }
        sweep = sweeper::for_this_thread(stream.get_executor());
        last_rx = sweep->now();
        sweep->add(this, shortest_limit());
    }

    ~connection_state() { sweep->remove(this); }

    std::chrono::milliseconds shortest_limit() const noexcept
    {
        std::chrono::milliseconds shortest = std::chrono::milliseconds::max();
        for (auto limit : {options.ping_interval, options.close_timeout, options.write_timeout}) {
            if (limit.count() > 0) {
                shortest = std::min(shortest, limit);
            }
        }
        return shortest;
    }

    net::any_stream stream;
    ws::role role;
    connection_options options;
    std::string subprotocol;
    std::shared_ptr<deflate_codec> deflate;
    frame_reader reader;

    // Grows while reads fill it (bulk traffic), shrinks back when they do not,
    // so an idle connection keeps only options.read_buffer_size bytes.
    std::unique_ptr<std::uint8_t[]> read_buffer;
    std::size_t read_capacity = 0;
    std::size_t pending_resize = 0;  // applied once the buffer is empty
    std::size_t read_begin = 0;
    std::size_t read_end = 0;

    // input_watch (see direct_io.hpp): `watch_input` when this socket may
    // wait for readiness without a receive that finds nothing first.
    // `input_unproven`: it waits so after a short receive, which does not
    // show that the peer's FIN is not already in (end of stream raises no
    // new edge), so the sweeper makes a silent connection receive once more
    // (`recheck_input`: its read is cancelled on purpose). `write_waits`
    // counts starts and ends of write operations left to the reactor (odd:
    // one is queued), whose completion could come before the read's.
    bool watch_input = false;
    bool input_unproven = false;
    bool recheck_input = false;
    std::uint32_t write_waits = 0;

    std::shared_ptr<sweeper> sweep;
    std::size_t sweep_index = 0;
    sweeper::clock::time_point last_rx;
    sweeper::clock::time_point ping_sent_at;
    sweeper::clock::time_point close_sent_at;
    sweeper::clock::time_point write_started_at;

    void resize_read_buffer(std::size_t size)
    {
        read_buffer = std::make_unique_for_overwrite<std::uint8_t[]>(size);
        read_capacity = size;
    }

    void mark_close_sent() noexcept
    {
        close_sent = true;
        close_sent_at = sweep->now();
    }

    // Called by the sweeper on this connection's thread.
    void check_limits(sweeper::clock::time_point now, std::chrono::milliseconds period)
    {
        queue.release_if_empty();
        if (shut_down) {
            return;
        }
        if (input_unproven && reading && write_waits % 2 == 0 && now - last_rx >= period) {
            // Silent since a short receive: receive once more, in case the
            // end of stream came with the last bytes.
            input_unproven = false;
            if (asio::ip::tcp::socket* socket = stream.plain_socket()) {
                recheck_input = true;
                std::error_code ignored;
                socket->cancel(ignored);
            }
        }
        if (writing && options.write_timeout.count() > 0 && now - write_started_at >= options.write_timeout) {
            if (!terminal) {
                terminal = covet::errc::timed_out;
            }
            abort();
            return;
        }
        if (close_sent) {
            if (options.close_timeout.count() > 0 && now - close_sent_at >= options.close_timeout) {
                if (!terminal) {
                    terminal = error::closed;
                }
                abort();
            }
            return;
        }
        if (options.ping_interval.count() <= 0 || !reading) {
            return;  // pings need a running read() to see the pongs
        }
        if (awaiting_pong) {
            if (now - ping_sent_at >= options.ping_interval) {
                terminal = error::dead_peer;
                abort();
            }
        } else if (now - last_rx >= options.ping_interval) {
            awaiting_pong = true;
            ping_sent_at = now;
            enqueue(make_frame(opcode::ping, true, {}, nullptr), true);
        }
    }

    frame_queue queue;
    std::size_t queued = 0;  // payload bytes in `queue`
    bool writing = false;
    close_mode close_when_drained = close_mode::none;
    std::unique_ptr<asio::steady_timer> room;  // cancelled whenever the queue shrinks; made on first wait

    bool reading = false;
    bool close_sent = false;
    bool shut_down = false;  // our side of TCP is shut down or closed
    bool awaiting_pong = false;
    bool streaming = false;
    bool stream_compressed = false;  // the message being streamed is compressed
    std::error_code terminal;        // what read() reports once the connection is over
    std::uint16_t code = close_code::abnormal;
    std::string reason;

    // Runs the frame reader over the buffered bytes (a plain function, so that
    // read()'s coroutine frame stays small). A message goes into `into`; an
    // error that ends the read, into `failed`.
    read_step process_buffered(message& into, std::error_code& failed)
    {
        while (read_begin < read_end) {
            std::size_t used = 0;
            const auto event = reader.next(
                std::span<const std::uint8_t>(read_buffer.get() + read_begin, read_end - read_begin), used);
            read_begin += used;
            switch (event) {
            case frame_reader::kind::need_more: break;
            case frame_reader::kind::message:
                if (!close_sent) {
                    into.type =
                        reader.message_type() == opcode::text ? message_type::text : message_type::binary;
                    reader.take_message(into.data);
                    return read_step::done;
                }
                break;
            case frame_reader::kind::ping:
                if (open()) {
                    enqueue(make_frame(opcode::pong, true, reader.payload(), nullptr), true);
                }
                break;
            case frame_reader::kind::pong: awaiting_pong = false; break;
            case frame_reader::kind::close: {
                code = reader.close_code();
                reason.assign(reader.close_reason());
                terminal = error::closed;
                failed = error::closed;
                if (!close_sent && !shut_down) {
                    // Echo the status (RFC 6455 5.5.1); queued data is dropped, the peer is gone.
                    mark_close_sent();
                    queue.clear();
                    queued = 0;
                    std::string payload;
                    if (code != close_code::no_status) {
                        payload = close_payload(code, {});
                    }
                    out_frame f = make_frame(opcode::close, true, payload, nullptr);
                    f.closes_after = handshake_close_mode();
                    enqueue(std::move(f));
                    return read_step::done;
                }
                return read_step::close_answered;
            }
            case frame_reader::kind::error:
                fail(reader.error_code(), reader.error_reason());
                failed = terminal;
                return read_step::done;
            }
        }
        return read_step::more;
    }

    bool open() const noexcept { return !close_sent && !shut_down; }

    void notify_room()
    {
        if (room) {
            room->cancel();
        }
    }

    task<void> wait_for_room()
    {
        if (!room) {
            room = std::make_unique<asio::steady_timer>(stream.get_executor(),
                                                        asio::steady_timer::time_point::max());
        }
        auto [ec] = co_await room->async_wait(net::nothrow);
        (void)ec;
    }

    // Whole messages of deflate->min_size() or more are compressed; a streamed
    // message is compressed from its first fragment on when deflate is in use
    // (its size is unknown then): `stream_compressed`, set by send_fragment.
    bool compresses(opcode op, bool fin, std::size_t size) const noexcept
    {
        if (!deflate || is_control(op)) {
            return false;
        }
        if (op == opcode::continuation || !fin) {
            return stream_compressed;
        }
        return size >= deflate->min_size();
    }

    // Builds a frame; the payload is masked (client) or compressed (deflate) into an owned copy.
    out_frame make_frame(opcode op, bool fin, std::string_view payload,
                         std::shared_ptr<const std::string> shared)
    {
        out_frame f;
        frame_header h;
        h.fin = fin;
        h.op = op;
        bool copied = false;
        if (compresses(op, fin, payload.size())) {
            std::string compressed;
            if (deflate->compress(payload, compressed, fin)) {
                h.rsv1 = op != opcode::continuation;  // RFC 7692 6.1: on the first frame only
                f.owned = std::move(compressed);
                copied = true;
            } else if (op == opcode::continuation || !fin) {
                // Half a compressed stream cannot go on uncompressed.
                fail(close_code::internal_error, "compression failed");
            }
        }
        if (!copied) {
            if (shared && role == ws::role::server) {
                f.shared = std::move(shared);
            } else {
                f.owned.assign(payload);
            }
        }
        if (role == ws::role::client) {
            h.masked = true;
            h.mask = random_mask();
            apply_mask(reinterpret_cast<std::uint8_t*>(f.owned.data()), f.owned.size(), h.mask);
        }
        h.payload_length = f.payload().size();
        f.head_size = static_cast<std::uint8_t>(write_header(f.head.data(), h));
        return f;
    }

    void enqueue(out_frame f, bool front = false)
    {
        queued += f.payload().size();
        if (front) {
            queue.push_front(std::move(f));
        } else {
            queue.push_back(std::move(f));
        }
        if (!writing) {
            writing = true;
            asio::co_spawn(stream.get_executor(), drain_task(shared_from_this()), asio::detached);
        }
    }

    static task<void> drain_task(std::shared_ptr<connection_state> self)
    {
        // co_spawn starts this at once; writes are synchronous now, so let the
        // caller queue what else it has first (the replies to the messages of
        // one receive leave in one write).
        co_await asio::post(self->stream.get_executor(), asio::use_awaitable);
        co_await self->drain();
        self->writing = false;
    }

    // Starts writing `buffers`: on a plain TCP socket, sends what the socket
    // takes now (on loopback and with room, all of it) without an operation;
    // `sent` counts those bytes. The rest goes through write_rest().
    result<void> start_write(std::span<const asio::const_buffer> buffers, std::size_t& sent)
    {
        write_started_at = sweep->now();
        sent = 0;
        if (asio::ip::tcp::socket* socket = stream.plain_socket()) {
            auto now = net::send_now(*socket, buffers);
            if (!now) {
                return now.error();
            }
            sent = *now;
        }
        return {};
    }

    // Writes what follows the first `sent` bytes of `buffers` (advanced in
    // place): straight on a plain TCP socket (no timed operation's frame in
    // between), else through the stream (then `sent` is 0).
    task<result<void>> write_rest(std::span<asio::const_buffer> buffers, std::size_t sent)
    {
        std::error_code failed;
        if (asio::ip::tcp::socket* socket = stream.plain_socket()) {
            const std::span<const asio::const_buffer> rest = net::unsent(buffers, sent);
            ++write_waits;
            auto [ec, n] = co_await asio::async_write(*socket, rest, net::nothrow);
            ++write_waits;
            (void)n;
            if (ec) {
                failed = net::detail::normalize_error(ec);
            }
        } else {
            auto written = co_await stream.write(buffers);
            if (!written) {
                failed = written.error();
            }
        }
        if (failed) {
            co_return failed;
        }
        co_return result<void>{};
    }

    // Writes queued frames until the queue is empty; the caller holds
    // `writing`. Up to max_batch frames go out in one gather write (replies to
    // pipelined messages, a burst of posts).
    task<void> drain()
    {
        static constexpr std::size_t max_batch = 8;
        while (!queue.empty() && !shut_down) {
            std::array<out_frame, max_batch> batch;
            std::array<asio::const_buffer, 2 * max_batch> buffers;
            std::size_t count = 0;
            close_mode closes_after = close_mode::none;
            while (count < max_batch && !queue.empty() && closes_after == close_mode::none) {
                out_frame& f = batch[count];
                f = std::move(queue.front());
                queue.pop_front();
                const std::string_view payload = f.payload();
                queued -= payload.size();
                closes_after = f.closes_after;
                buffers[2 * count] = asio::buffer(f.head.data(), f.head_size);
                buffers[2 * count + 1] = asio::buffer(payload.data(), payload.size());
                ++count;
            }
            notify_room();
            const std::span<asio::const_buffer> frames(buffers.data(), 2 * count);
            std::size_t sent = 0;
            auto written = start_write(frames, sent);
            if (written && sent < asio::buffer_size(frames)) {
                written = co_await write_rest(frames, sent);
            }
            if (!written) {
                if (!terminal) {
                    terminal = written.error();
                }
                abort();
                break;
            }
            if (closes_after != close_mode::none) {
                co_await shutdown_tcp(closes_after);
                break;
            }
        }
        if (close_when_drained != close_mode::none && !shut_down) {
            co_await shutdown_tcp(close_when_drained);
        }
        queue.clear();
        queued = 0;
        notify_room();
    }

    void abort() noexcept
    {
        shut_down = true;
        stream.close();
        queue.clear();
        queued = 0;
        notify_room();
    }

    // Ends TCP after our last frame. `immediate`: the peer already sent its
    // close (a server closes first). `wait_for_peer`: a client lets the server
    // close first (bounded by close_timeout). `linger`: after failing the
    // connection, shut down our side and read what the peer still sends for a
    // moment, so that closing cannot become a reset that discards our close
    // frame before the peer reads it.
    task<void> shutdown_tcp(close_mode mode)
    {
        if (shut_down) {
            co_return;
        }
        shut_down = true;
        std::error_code ignored;
        if (mode != close_mode::wait_for_peer) {
            stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        }
        if (reading) {
            // A running read() owns the receive side; it closes the stream when its read completes.
            notify_room();
            co_return;
        }
        if (mode != close_mode::immediate) {
            const auto limit = mode == close_mode::linger
                                   ? std::min(options.close_timeout, std::chrono::milliseconds(250))
                                   : options.close_timeout;
            stream.set_timeouts({limit, options.write_timeout});
            std::array<std::uint8_t, 512> sink;
            for (int i = 0; i < 64; ++i) {
                auto n = co_await stream.read_some(asio::buffer(sink));
                if (!n) {
                    break;
                }
            }
        }
        stream.close();
        notify_room();
    }

    close_mode handshake_close_mode() const noexcept
    {
        return role == ws::role::server ? close_mode::immediate : close_mode::wait_for_peer;
    }

    // Closes TCP now, or after the frames being written.
    task<void> close_after_flush(close_mode mode)
    {
        if (writing) {
            close_when_drained = mode;
            co_return;
        }
        co_await shutdown_tcp(mode);
    }

    // Fails the connection (RFC 6455 7.1.7): a close frame with `code`, then TCP close.
    void fail(std::uint16_t close_with, std::string_view why)
    {
        if (terminal) {
            return;
        }
        code = close_with;
        reason.assign(why);
        terminal = error_for_close_code(close_with);
        if (!close_sent && !shut_down) {
            mark_close_sent();
            queue.clear();
            queued = 0;
            out_frame f = make_frame(opcode::close, true, close_payload(close_with, why), nullptr);
            f.closes_after = close_mode::linger;
            enqueue(std::move(f));
        } else if (!shut_down) {
            close_when_drained = close_mode::linger;
            if (!writing) {
                asio::co_spawn(stream.get_executor(), shutdown_detached(shared_from_this()), asio::detached);
            }
        }
    }

    static task<void> shutdown_detached(std::shared_ptr<connection_state> self)
    {
        co_await self->shutdown_tcp(close_mode::linger);
    }

    result<void> check_room(std::size_t size)
    {
        if (queued == 0 || queued + size <= options.send_queue_limit) {
            return {};
        }
        if (options.when_full == full_queue_policy::close) {
            fail(close_code::policy_violation, "send queue full");
            return error::policy_violation;
        }
        return error::queue_full;
    }

    // send()'s common case with no coroutine below it: nothing queued or being
    // written, no received bytes waiting (see send_frame), a server frame sent
    // as is on a plain socket. The frame goes in one system call; a tail the
    // socket does not take is queued (payloads up to max_batched_copy, as when
    // batching). Returns nothing, having sent nothing, when send_frame must.
    std::optional<result<void>> send_whole_now(opcode op, bool fin, std::string_view payload)
    {
        if (role != ws::role::server || !open() || writing || !queue.empty() || read_begin < read_end ||
            payload.size() > max_batched_copy || terminal || compresses(op, fin, payload.size()) ||
            stream.plain_socket() == nullptr) {
            return std::nullopt;
        }
        frame_header h;
        h.fin = fin;
        h.op = op;
        h.payload_length = payload.size();
        // A small frame is built whole behind its header and sent as one
        // piece (what send_now would join anyway, without its gather loops).
        std::array<std::uint8_t, max_joined_frame> head;
        const std::size_t head_size = write_header(head.data(), h);
        std::array<asio::const_buffer, 2> buffers{asio::buffer(head.data(), head_size),
                                                  asio::buffer(payload.data(), payload.size())};
        std::span<const asio::const_buffer> frame(buffers);
        if (payload.size() <= head.size() - head_size) {
            if (!payload.empty()) {
                std::memcpy(head.data() + head_size, payload.data(), payload.size());
            }
            buffers[0] = asio::buffer(head.data(), head_size + payload.size());
            frame = frame.first(1);
        }
        std::size_t sent = 0;
        auto started = start_write(frame, sent);
        if (!started) {
            if (!terminal) {
                terminal = started.error();
            }
            abort();
            return started;
        }
        if (sent == 0) {
            return std::nullopt;  // the socket is full: send_frame waits for room
        }
        if (sent < head_size + payload.size()) {
            out_frame rest;  // the frame's unsent bytes, sent before any later frame
            if (sent < head_size) {
                rest.owned.assign(reinterpret_cast<const char*>(head.data()) + sent, head_size - sent);
                sent = head_size;
            }
            rest.owned.append(payload.substr(sent - head_size));
            enqueue(std::move(rest));
        }
        return result<void>{};
    }

    // The sends that only queue a frame, with no coroutine below: frames
    // already queued or being written (and room in the queue, or a policy
    // that does not wait), or received bytes waiting, so that the replies to
    // a pipelining peer's messages leave together in one write once the
    // connection waits for input (the caller's next read() is likely served
    // from them). Nothing, having done nothing, when send_frame must wait for
    // room or start a write.
    std::optional<result<void>> queue_now(opcode op, bool fin, std::string_view payload)
    {
        if (!open()) {
            return result<void>(error::not_open);
        }
        if (writing || !queue.empty()) {
            if (must_wait_for_room(payload.size())) {
                return std::nullopt;
            }
            auto room_left = check_room(payload.size());
            if (!room_left) {
                return room_left;
            }
            enqueue(make_frame(op, fin, payload, nullptr));
            return result<void>{};
        }
        if (read_begin < read_end && payload.size() <= max_batched_copy) {
            enqueue(make_frame(op, fin, payload, nullptr));
            return result<void>{};
        }
        return std::nullopt;
    }

    bool must_wait_for_room(std::size_t size) const noexcept
    {
        return options.when_full == full_queue_policy::wait && open() && queued > 0 &&
               queued + size > options.send_queue_limit;
    }

    task<result<void>> send_frame(opcode op, bool fin, std::string_view payload)
    {
        while ((writing || !queue.empty()) && must_wait_for_room(payload.size())) {
            co_await wait_for_room();
        }
        if (auto queued_now = queue_now(op, fin, payload)) {
            co_return *queued_now;
        }
        // Nothing in flight: write straight from the caller's buffer (no copy
        // unless masking or compressing), then anything queued meanwhile.
        writing = true;
        out_frame f;
        std::string_view body = payload;
        if (role == ws::role::server && !compresses(op, fin, payload.size())) {
            frame_header h;
            h.fin = fin;
            h.op = op;
            h.payload_length = payload.size();
            f.head_size = static_cast<std::uint8_t>(write_header(f.head.data(), h));
        } else {
            f = make_frame(op, fin, payload, nullptr);
            body = f.payload();
        }
        result<void> outcome;
        if (terminal) {
            outcome = terminal;  // make_frame failed the connection
        } else {
            std::array<asio::const_buffer, 2> buffers{asio::buffer(f.head.data(), f.head_size),
                                                      asio::buffer(body.data(), body.size())};
            std::size_t sent = 0;
            outcome = start_write(buffers, sent);
            if (outcome && sent < asio::buffer_size(buffers)) {
                outcome = co_await write_rest(buffers, sent);
            }
        }
        if (!outcome) {
            if (!terminal) {
                terminal = outcome.error();
            }
            abort();
        } else if (!queue.empty() || close_when_drained != close_mode::none) {
            co_await drain();
        }
        writing = false;
        co_return outcome;
    }
};

void sweeper::add(connection_state* s, std::chrono::milliseconds shortest_limit)
{
    s->sweep_index = members_.size();
    members_.push_back(s);
    if (shortest_limit != std::chrono::milliseconds::max()) {
        // A quarter of the shortest limit, within [10 ms, 1 s]: limits are kept to about 25%.
        period_ = std::min(period_, std::clamp(shortest_limit / 4, std::chrono::milliseconds(10),
                                               std::chrono::milliseconds(1000)));
    }
    arm();
}

void sweeper::remove(connection_state* s) noexcept
{
    connection_state* last = members_.back();
    members_[s->sweep_index] = last;
    last->sweep_index = s->sweep_index;
    members_.pop_back();
    if (members_.empty()) {
        timer_.cancel();
        armed_ = false;
    }
}

void sweeper::arm()
{
    if (armed_) {
        return;
    }
    armed_ = true;
    timer_.expires_after(period_);
    timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
        auto self = weak.lock();
        if (!self || ec) {
            return;
        }
        self->armed_ = false;
        self->sweep();
    });
}

void sweeper::sweep()
{
    now_ = clock::now();
    // check_limits never adds or removes members synchronously (closing posts its work).
    for (std::size_t i = 0; i < members_.size(); ++i) {
        members_[i]->check_limits(now_, period_);
    }
    if (!members_.empty()) {
        arm();
    }
}

}  // namespace detail

using detail::connection_state;
using detail::max_read_buffer;

connection::connection(net::any_stream stream, std::string early_data, ws::role r, connection_options options,
                       std::string subprotocol, std::shared_ptr<detail::deflate_codec> deflate)
    : state_(std::make_shared<connection_state>(std::move(stream), r, options, std::move(subprotocol),
                                                std::move(deflate)))
{
    auto& s = *state_;
    s.options.read_buffer_size = std::max<std::size_t>(s.options.read_buffer_size, 64);
    s.resize_read_buffer(std::max(s.options.read_buffer_size, early_data.size()));
    std::copy(early_data.begin(), early_data.end(), s.read_buffer.get());
    s.read_end = early_data.size();
}

namespace detail {

// read()'s loop, for both read() (Outcome = result<message>: the message is
// built in place in the outcome) and read(message&) (Outcome = result<void>:
// into `*into`, whose buffer the reader reuses).
template <class Outcome>
task<Outcome> read_message(std::shared_ptr<connection_state> keep, message* into)
{
    // `keep`: the state stays alive for the whole read even if the handle is dropped.
    connection_state& s = *keep;
    if (s.reading) {
        co_return error::invalid_argument;
    }
    if (s.terminal) {
        co_return s.terminal;
    }
    s.reading = true;
    Outcome outcome;
    if constexpr (std::is_same_v<Outcome, result<message>>) {
        outcome = message{};
        into = &*outcome;
    }
    // Set by every way out of the loop below that ends the read with an error.
    std::error_code failed;
    for (;;) {
        auto step = read_step::more;
        if (s.read_begin < s.read_end) {  // (at the start of a read, usually nothing is buffered)
            step = s.process_buffered(*into, failed);
        }
        if (step == read_step::close_answered) {
            // Our close was answered: the handshake is complete.
            s.reading = false;
            co_await s.close_after_flush(s.handshake_close_mode());
            break;
        }
        if (step == read_step::done) {
            break;
        }
        s.read_begin = s.read_end = 0;
        if (s.pending_resize != 0) {
            s.resize_read_buffer(s.pending_resize);
            s.pending_resize = 0;
        }
        if (s.shut_down && !s.stream.is_open()) {
            failed = s.terminal ? s.terminal : make_error_code(error::not_open);
            break;
        }
        const bool at_frame_start = s.reader.between_frames();
        result<std::size_t> n = std::size_t{0};
        if (asio::ip::tcp::socket* socket = s.stream.plain_socket()) {
            // Plain TCP: no timed operation's frame stays behind while idle.
            const asio::mutable_buffer space(s.read_buffer.get(), s.read_capacity);
            if (s.watch_input &&
                (std::exchange(s.recheck_input, false) || detail::input_watch::would_try_first(*socket))) {
                n = detail::input_watch::try_receive(*socket, space);
                // Nothing (proven empty) or a short receive (switch off, unproven).
                s.input_unproven = n && *n != 0 && *n < space.size();
            }
            if (n && *n == 0) {
                // A receive queued behind the switch completes right after the
                // reactor made it, unless a queued write completes first.
                const bool behind_switch = s.watch_input && !detail::input_watch::would_try_first(*socket);
                const std::uint32_t writes = s.write_waits;
#if COVET_WS_AWAIT_RECEIVE
                detail::receive_outcome received;
                const detail::await_receive receive{*socket, space, received};  // named: GCC 12
                co_await receive;
                const std::error_code ec = received.error;
                const std::size_t got = received.bytes;
#else
                auto [ec, got] = co_await socket->async_read_some(space, net::nothrow);
#endif
                if (ec == asio::error::operation_aborted && s.recheck_input && !s.shut_down) {
                    continue;  // the sweeper's nudge: receive again
                }
                s.recheck_input = false;
                if (ec) {
                    n = net::detail::normalize_error(ec);
                } else {
                    n = got;
                    s.input_unproven =
                        behind_switch && writes == s.write_waits && writes % 2 == 0 && got < space.size();
                    if (s.input_unproven) {
                        detail::input_watch::received(*socket, got, space.size());
                    }
                }
            }
        } else {
            n = co_await s.stream.read_some(asio::buffer(s.read_buffer.get(), s.read_capacity));
        }
        if (s.shut_down) {
            // Our side is done: whatever happened, this read ends the connection.
            if (n) {
                s.read_end = *n;
                continue;
            }
            s.stream.close();
            failed = s.terminal ? s.terminal : make_error_code(error::closed);
            break;
        }
        if (!n) {
            if (!s.terminal) {
                s.terminal = n.error();
            }
            s.abort();
            failed = s.terminal;
            break;
        }
        s.awaiting_pong = false;  // any byte shows the peer is alive
        s.last_rx = s.sweep->now();
        s.read_end = *n;
        // Bulk traffic fills the buffer: grow it. A short read that started a
        // new frame (small messages again, a keep-alive pong): back to the base
        // size. The tail of a large frame does not count, or a message a bit
        // larger than the buffer would make it grow and shrink on every message.
        if (*n == s.read_capacity && s.read_capacity < max_read_buffer) {
            s.pending_resize = std::min(max_read_buffer, 2 * s.read_capacity);
        } else if (at_frame_start && *n < s.read_capacity / 8 &&
                   s.read_capacity > s.options.read_buffer_size) {
            s.pending_resize = s.options.read_buffer_size;
        }
    }
    if (s.reading && s.shut_down) {
        s.stream.close();  // shutdown_tcp() left the receive side to this read
    }
    s.reading = false;
    if (failed) {
        outcome = failed;
    }
    co_return outcome;
}

}  // namespace detail

task<result<message>> connection::read()
{
    return detail::read_message<result<message>>(state_, nullptr);
}

task<result<void>> connection::read(message& into)
{
    return detail::read_message<result<void>>(state_, &into);
}

task<result<void>> connection::send(message_type type, std::string_view data)
{
    if (state_->streaming) {
        co_return error::invalid_argument;
    }
    const opcode op = type == message_type::text ? opcode::text : opcode::binary;
    result<void> sent;
    if (auto now = state_->send_whole_now(op, true, data)) {
        sent = *now;  // done without suspending: the handle kept the state alive
    } else if (auto queued = state_->queue_now(op, true, data)) {
        sent = *queued;  // likewise
    } else {
        // Keep the state alive while suspended even if the handle is dropped.
        std::shared_ptr<connection_state> keep = state_;
        sent = co_await keep->send_frame(op, true, data);
    }
    co_return sent;
}

task<result<void>> connection::send_text(std::string_view text)
{
    auto sent = co_await send(message_type::text, text);
    co_return sent;
}

task<result<void>> connection::send_binary(std::string_view data)
{
    auto sent = co_await send(message_type::binary, data);
    co_return sent;
}

result<void> connection::post(message_type type, std::shared_ptr<const std::string> data)
{
    connection_state& s = *state_;
    if (!s.open()) {
        return error::not_open;
    }
    if (s.streaming) {
        return error::invalid_argument;
    }
    auto room = s.check_room(data->size());
    if (!room) {
        return room;
    }
    const opcode op = type == message_type::text ? opcode::text : opcode::binary;
    const std::string_view payload = *data;
    s.enqueue(s.make_frame(op, true, payload, std::move(data)));
    return {};
}

task<result<void>> connection::send_fragment(message_type type, std::string_view data, bool last)
{
    std::shared_ptr<connection_state> keep = state_;
    opcode op = opcode::continuation;
    if (!keep->streaming) {
        op = type == message_type::text ? opcode::text : opcode::binary;
        keep->stream_compressed = keep->deflate != nullptr;
    }
    keep->streaming = !last;
    auto sent = co_await keep->send_frame(op, last, data);
    if (!sent) {
        keep->streaming = false;
    }
    co_return sent;
}

task<result<void>> connection::ping(std::string_view payload)
{
    std::shared_ptr<connection_state> keep = state_;
    if (payload.size() > max_control_payload) {
        co_return error::invalid_argument;
    }
    auto sent = co_await keep->send_frame(opcode::ping, true, payload);
    co_return sent;
}

task<result<void>> connection::close(std::uint16_t code, std::string_view reason)
{
    std::shared_ptr<connection_state> keep = state_;
    connection_state& s = *keep;
    if (!s.open()) {
        co_return error::not_open;
    }
    if (!is_valid_close_code(code)) {
        co_return error::invalid_argument;
    }
    s.mark_close_sent();
    s.streaming = false;
    s.code = code;
    s.reason.assign(reason);
    s.enqueue(s.make_frame(opcode::close, true, close_payload(code, reason), nullptr));
    if (!s.reading) {
        // Nobody reads: wait here for the peer's close (read() discards data meanwhile).
        for (;;) {
            auto m = co_await read();
            if (!m) {
                break;
            }
        }
    }
    co_return result<void>{};
}

bool connection::is_open() const noexcept
{
    return state_ && state_->open();
}

std::uint16_t connection::close_code() const noexcept
{
    return state_ ? state_->code : close_code::abnormal;
}

std::string connection::close_reason() const
{
    return state_ ? state_->reason : std::string();
}

std::string_view connection::subprotocol() const noexcept
{
    return state_ ? std::string_view(state_->subprotocol) : std::string_view();
}

bool connection::compressed() const noexcept
{
    return state_ && state_->deflate != nullptr;
}

result<asio::ip::tcp::endpoint> connection::remote_endpoint() const
{
    return state_->stream.remote_endpoint();
}

std::size_t connection::queued_bytes() const noexcept
{
    return state_ ? state_->queued : 0;
}

asio::any_io_executor connection::get_executor() const noexcept
{
    return state_->stream.get_executor();
}

}  // namespace covet::ws
