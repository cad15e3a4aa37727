#include "h2_connection.hpp"

#include <covet/http/detail/serialize.hpp>
#include <covet/http/error.hpp>
#include <covet/net/send_now.hpp>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/write.hpp>

#include <nghttp2/nghttp2.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

namespace covet::http::detail {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr std::size_t read_buffer_size = 16 * 1024;
// One gather write carries at most this much; more waits for the next one.
constexpr std::size_t write_batch_limit = 256 * 1024;
// DATA payloads from this size on are written from the response's memory
// (NGHTTP2_DATA_FLAG_NO_COPY) instead of being copied into the batch.
constexpr std::size_t borrow_threshold = 4096;

// A wake-up for one waiting coroutine: a timer that never expires on its own
// and is cancelled to wake the waiter. notify() before wait() is not lost.
class event {
public:
    explicit event(const asio::any_io_executor& executor)
        : timer_(executor, asio::steady_timer::time_point::max())
    {
    }
    void notify() noexcept
    {
        signalled_ = true;
        if (waiting_) {
            timer_.cancel();  // only a waiting coroutine needs the timer's wake-up
        }
    }
    void reset() noexcept { signalled_ = false; }
    // Waits for notify(); false when `limit` (if non-zero) passed first.
    task<bool> wait(std::chrono::milliseconds limit = {})
    {
        if (!signalled_) {
            if (limit.count() > 0) {
                timer_.expires_after(limit);
            } else {
                timer_.expires_at(asio::steady_timer::time_point::max());
            }
            waiting_ = true;
            auto [ec] = co_await timer_.async_wait(net::nothrow);
            waiting_ = false;
            if (!ec && !signalled_) {
                co_return false;
            }
        }
        signalled_ = false;
        co_return true;
    }

private:
    asio::steady_timer timer_;
    bool signalled_ = false;
    bool waiting_ = false;
};

// Allows `burst` events at once and `per_second` on average after that.
class token_bucket {
public:
    explicit token_bucket(std::uint32_t burst) : tokens_(burst), last_(std::chrono::steady_clock::now()) {}
    bool take(std::uint32_t burst, std::uint32_t per_second) noexcept
    {
        const auto now = std::chrono::steady_clock::now();
        const double elapsed = std::chrono::duration<double>(now - last_).count();
        last_ = now;
        tokens_ = std::min<double>(burst, tokens_ + elapsed * per_second);
        if (tokens_ < 1.0) {
            return false;
        }
        tokens_ -= 1.0;
        return true;
    }

private:
    double tokens_;
    std::chrono::steady_clock::time_point last_;
};

// nghttp2's allocations (streams, frames, header buffers: several per
// request) from per-thread free lists of 64-byte size classes. glibc's
// per-thread cache holds 7 blocks per size, too few for hundreds of open
// streams, and its slow path showed up as 15% of the HTTP/2 server's time.
// A session lives on one thread, so its blocks are freed where they were
// allocated. Each block starts with a 16-byte header: its class (or the
// size of a large block, which goes straight to malloc).
class block_pool {
public:
    static constexpr std::size_t granule = 64;
    static constexpr std::size_t classes = 16;  // up to 1 KiB
    static constexpr std::size_t header = 16;
    static constexpr std::size_t keep_per_class = 4096;

    ~block_pool()
    {
        for (void* head : free_) {
            while (head != nullptr) {
                void* next = *static_cast<void**>(head);
                std::free(head);
                head = next;
            }
        }
    }

    void* allocate(std::size_t size) noexcept
    {
        const std::size_t cls = size == 0 ? 0 : (size - 1) / granule;
        if (cls >= classes) {
            auto* block = static_cast<std::size_t*>(std::malloc(header + size));
            if (block == nullptr) {
                return nullptr;
            }
            block[0] = classes + size;  // large: the size, offset past the class numbers
            return reinterpret_cast<char*>(block) + header;
        }
        void* block = free_[cls];
        if (block != nullptr) {
            free_[cls] = *static_cast<void**>(block);
            --count_[cls];
        } else {
            block = std::malloc(header + (cls + 1) * granule);
            if (block == nullptr) {
                return nullptr;
            }
        }
        *static_cast<std::size_t*>(block) = cls;
        return static_cast<char*>(block) + header;
    }

    void deallocate(void* ptr) noexcept
    {
        if (ptr == nullptr) {
            return;
        }
        void* block = static_cast<char*>(ptr) - header;
        const std::size_t cls = *static_cast<std::size_t*>(block);
        if (cls >= classes || count_[cls] >= keep_per_class) {
            std::free(block);
            return;
        }
        *static_cast<void**>(block) = free_[cls];
        free_[cls] = block;
        ++count_[cls];
    }

    static std::size_t capacity(void* ptr) noexcept
    {
        const std::size_t cls = *reinterpret_cast<std::size_t*>(static_cast<char*>(ptr) - header);
        return cls >= classes ? cls - classes : (cls + 1) * granule;
    }

    static block_pool& local() noexcept
    {
        thread_local block_pool pool;
        return pool;
    }

private:
    std::array<void*, classes> free_{};
    std::array<std::size_t, classes> count_{};
};

// The pool comes as nghttp2's mem_user_data: the session's thread's pool,
// without a thread_local lookup per call.
void* pool_malloc(std::size_t size, void* pool)
{
    return static_cast<block_pool*>(pool)->allocate(size);
}
void pool_free(void* ptr, void* pool)
{
    static_cast<block_pool*>(pool)->deallocate(ptr);
}
void* pool_calloc(std::size_t count, std::size_t size, void* pool)
{
    if (size != 0 && count > SIZE_MAX / size) {
        return nullptr;
    }
    void* p = static_cast<block_pool*>(pool)->allocate(count * size);
    if (p != nullptr) {
        std::memset(p, 0, count * size);
    }
    return p;
}
void* pool_realloc(void* ptr, std::size_t size, void* pool)
{
    auto& blocks = *static_cast<block_pool*>(pool);
    if (ptr == nullptr) {
        return blocks.allocate(size);
    }
    const std::size_t had = block_pool::capacity(ptr);
    if (size <= had && had <= 4 * size + block_pool::granule) {
        return ptr;
    }
    void* bigger = blocks.allocate(size);
    if (bigger != nullptr) {
        std::memcpy(bigger, ptr, std::min(had, size));
        blocks.deallocate(ptr);
    }
    return bigger;
}

std::string_view view(nghttp2_rcbuf* buffer) noexcept
{
    const nghttp2_vec v = nghttp2_rcbuf_get_buf(buffer);
    return {reinterpret_cast<const char*>(v.base), v.len};
}

nghttp2_nv make_nv(std::string_view name, std::string_view value) noexcept
{
    return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
            reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
            NGHTTP2_NV_FLAG_NONE};
}

// Header fields as nghttp2 name/value pairs, inline for typical responses.
// Names may be in any case: nghttp2 lower-cases them as it copies the list
// (RFC 9113 8.2.1), so the response's lines are used in place.
class nv_list {
public:
    // `flags`: NGHTTP2_NV_FLAG_NO_COPY_NAME / _VALUE for bytes that outlive
    // the frame queue (string literals, per-stream or per-thread buffers).
    void add(std::string_view name, std::string_view value, std::uint8_t flags = NGHTTP2_NV_FLAG_NONE)
    {
        nghttp2_nv nv = make_nv(name, value);
        nv.flags = flags;
        if (size_ < inline_.size()) [[likely]] {
            inline_[size_++] = nv;
        } else {
            add_more(nv);
        }
    }
    // Serialized field lines ("Name: value\r\n"...), without the fields
    // HTTP/2 does not allow (connection-specific, RFC 9113 8.2.2).
    void add_lines(std::string_view lines)
    {
        while (!lines.empty()) {
            std::size_t eol = lines.find("\r\n");
            if (eol == std::string_view::npos) {
                eol = lines.size();
            }
            const std::string_view line = lines.substr(0, eol);
            lines.remove_prefix(std::min(lines.size(), eol + 2));
            const std::size_t colon = line.find(':');
            if (colon == std::string_view::npos) {
                continue;
            }
            const std::string_view name = line.substr(0, colon);
            if (iequals(name, "keep-alive") || iequals(name, "proxy-connection") ||
                iequals(name, "upgrade")) {
                continue;
            }
            add(name, trim_ows(line.substr(colon + 1)));
        }
    }
    const nghttp2_nv* data() const noexcept { return more_.empty() ? inline_.data() : more_.data(); }
    std::size_t size() const noexcept { return size_; }

private:
    void add_more(const nghttp2_nv& nv)
    {
        if (more_.empty()) {
            more_.assign(inline_.begin(), inline_.end());
        }
        more_.push_back(nv);
        ++size_;
    }

    std::array<nghttp2_nv, 32> inline_;
    std::vector<nghttp2_nv> more_;
    std::size_t size_ = 0;
};

class connection;

// The nghttp2 buffers a stream's request fields point into, referenced until
// the stream is recycled (no vector::push_back call per field).
class held_buffers {
public:
    held_buffers() = default;
    held_buffers(const held_buffers&) = delete;
    held_buffers& operator=(const held_buffers&) = delete;
    ~held_buffers() { release(); }

    void add(nghttp2_rcbuf* buffer)
    {
        if (size_ == capacity_) [[unlikely]] {
            grow();
        }
        data_[size_++] = buffer;
        nghttp2_rcbuf_incref(buffer);
    }
    void release() noexcept
    {
        for (std::size_t i = 0; i < size_; ++i) {
            nghttp2_rcbuf_decref(data_[i]);
        }
        size_ = 0;
    }

private:
    [[gnu::noinline]] void grow()
    {
        const std::size_t capacity = std::max<std::size_t>(16, 2 * capacity_);
        auto bigger = std::make_unique<nghttp2_rcbuf*[]>(capacity);
        std::copy_n(data_.get(), size_, bigger.get());
        data_ = std::move(bigger);
        capacity_ = capacity;
    }

    std::unique_ptr<nghttp2_rcbuf*[]> data_;
    std::size_t size_ = 0;
    std::size_t capacity_ = 0;
};

enum class body_kind : std::uint8_t { none, memory, file, streamed };

// One request/response exchange. Referenced (an intrusive count: one
// thread) by nghttp2's stream while it is open, the handler's coroutine and
// the write batch that points at its body bytes; then recycled by the
// connection with its buffers' capacity (no allocation for the next stream).
struct h2_stream final : body_source, body_writer {
    explicit h2_stream(connection& c);
    void reset() noexcept;
    h2_stream(const h2_stream&) = delete;
    h2_stream& operator=(const h2_stream&) = delete;

    // body_source: the request content as the handler reads it (streamed bodies).
    task<result<std::size_t>> read(asio::mutable_buffer into) override;
    // body_writer: one piece of a streamed response; returns once it is on the wire.
    task<bool> write(std::string_view data) override;

    std::string_view body_view() const noexcept { return streamed_request ? std::string_view{} : body; }
    void finish_head();

    connection& conn;
    std::int32_t id = 0;
    std::uint32_t refs = 0;
    h2_stream* prev = nullptr;  // the connection's list of open streams
    h2_stream* next = nullptr;
    // Request: fields are views into nghttp2's reference-counted buffers.
    held_buffers held;
    std::vector<header> fields;
    std::vector<header> trailer_fields;
    std::string_view authority;
    std::size_t header_list_bytes = 0;
    request_head head;
    std::string body;
    std::size_t body_read = 0;
    bool body_complete = false;
    bool streamed_request = false;
    bool dispatched = false;
    // Response.
    std::optional<response> res;
    std::array<char, 3> status_text{};   // the :status value nghttp2 reads in place
    std::array<char, 24> length_text{};  // the content-length value, likewise
    body_kind kind = body_kind::none;
    std::string_view pending;  // memory body not yet framed, or the producer's current piece
    std::string chunk;         // the producer's current piece
    std::uint64_t file_offset = 0;
    std::uint64_t file_remaining = 0;
    std::size_t unwritten = 0;       // framed bytes of `pending` not yet written to the socket
    std::size_t unconsumed = 0;      // buffered body bytes not yet acknowledged (connection over its budget)
    std::size_t body_accounted = 0;  // bytes of `body` counted in the connection's budget
    bool producer_done = false;
    // Lifetime.
    bool closed = false;
    bool handler_running = false;
    struct handler_runner* runner = nullptr;  // runs the handler while handler_running
    event wake;
};

void release(h2_stream* s) noexcept;

// An owning reference to a stream.
class stream_ptr {
public:
    stream_ptr() noexcept = default;
    explicit stream_ptr(h2_stream* s) noexcept : s_(s)
    {
        if (s_ != nullptr) {
            ++s_->refs;
        }
    }
    stream_ptr(const stream_ptr& other) noexcept : stream_ptr(other.s_) {}
    stream_ptr(stream_ptr&& other) noexcept : s_(std::exchange(other.s_, nullptr)) {}
    stream_ptr& operator=(stream_ptr other) noexcept
    {
        std::swap(s_, other.s_);
        return *this;
    }
    ~stream_ptr()
    {
        if (s_ != nullptr) {
            release(s_);
        }
    }
    h2_stream* get() const noexcept { return s_; }
    h2_stream* operator->() const noexcept { return s_; }
    h2_stream& operator*() const noexcept { return *s_; }

private:
    h2_stream* s_ = nullptr;
};

// A piece of a write batch that is not copied: body bytes between frame
// headers, in memory, or (plain TCP) in a file that goes out with sendfile(2).
struct borrowed_piece {
    std::size_t out_offset;  // position in the batch's copied bytes
    const char* data;        // nullptr for file bytes
    std::size_t size;
    int fd = -1;
    std::uint64_t file_offset = 0;
};

// A long-lived coroutine of a connection that runs stream handlers one after
// another: starting a stream costs a queue push (and sometimes a wake-up)
// instead of a co_spawn with a cancellation slot per stream. RST_STREAM
// cancels the runner's current handler through the runner's signal.
struct handler_runner {
    explicit handler_runner(const asio::any_io_executor& executor) : wake(executor) {}
    event wake;
    asio::cancellation_signal cancel;
    bool cancelled = false;  // `cancel` was emitted for the current handler
};

class connection final : public h2_stoppable {
public:
    connection(h2_server s, std::list<h2_stoppable*>& registry, net::any_stream st,
               asio::ip::tcp::endpoint peer)
        : srv(s),
          options(*s.options),
          stream(std::move(st)),
          remote(peer),
          writer_wake(stream.get_executor()),
          all_done(stream.get_executor()),
          resets_(s.options->http2.reset_burst),
          control_frames_(s.options->http2.control_frame_burst),
          registry_(registry)
    {
        registration_ = registry_.insert(registry_.end(), this);
        in.reset(new char[read_buffer_size]);
    }
    ~connection()
    {
        registry_.erase(registration_);
        if (session != nullptr) {
            nghttp2_session_del(session);
        }
        for (h2_stream* s : spare_) {
            delete s;
        }
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    task<void> run(std::string received, std::unique_ptr<h2_upgrade_request> upgrade, bool stopping);
    void begin_shutdown() noexcept override
    {
        if (shutting_down || session == nullptr) {
            return;
        }
        shutting_down = true;
        nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session),
                              NGHTTP2_NO_ERROR, nullptr, 0);
        writer_wake.notify();
    }

    // Sends the head of s.res and sets up its body.
    void submit(h2_stream& s);
    void task_finished() noexcept
    {
        if (--tasks == 0 && dead) {
            all_done.notify();
        }
    }

    h2_server srv;
    const server_options& options;
    net::any_stream stream;
    asio::ip::tcp::endpoint remote;
    nghttp2_session* session = nullptr;
    event writer_wake;
    event all_done;
    bool dead = false;  // the connection is finished: no more frames go out
    bool shutting_down = false;
    std::size_t tasks = 0;  // the writer, the watchdog and the handler runners

private:
    bool setup(std::string_view upgrade_settings, bool head_request);
    bool feed(const char* data, std::size_t size);
    void launch_ready();
    void wake_runner();
    void spare_runner_if_suspended();
    static task<void> run_handlers(connection& c, handler_runner& r);
    static task<void> produce_body(connection& c, h2_stream& s);
    task<void> write_loop();
    task<void> watchdog();
    // Writes until nghttp2 has nothing more to send (one writer at a time);
    // false once the connection cannot be written to any more.
    task<bool> write_batch();
    task<bool> write_all();
    task<void> flush();
    task<bool> write_gathered();
    void close_if_finished() noexcept;

    // nghttp2 callbacks.
    static ssize_t on_send(nghttp2_session*, const std::uint8_t* data, std::size_t length, int, void* self);
    static int on_send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* frame_head,
                            std::size_t length, nghttp2_data_source* source, void* self);
    static ssize_t on_read_body(nghttp2_session* session, std::int32_t, std::uint8_t*, std::size_t length,
                                std::uint32_t* flags, nghttp2_data_source* source, void*);
    static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* self);
    static int on_header(nghttp2_session*, const nghttp2_frame* frame, nghttp2_rcbuf* name,
                         nghttp2_rcbuf* value, std::uint8_t, void* self);
    static int on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self);
    static int on_data_chunk(nghttp2_session*, std::uint8_t, std::int32_t stream_id, const std::uint8_t* data,
                             std::size_t length, void* self);
    static int on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                               void* self);

    static int on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* frame, void* self);
    // Ends the connection with GOAWAY(ENHANCE_YOUR_CALM); the callback that
    // calls it returns NGHTTP2_ERR_CALLBACK_FAILURE, so nothing more is read.
    int abuse() noexcept
    {
        nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    bool count_reset() noexcept
    {
        return resets_.take(options.http2.reset_burst, options.http2.resets_per_second);
    }
    void release_body(h2_stream& s);
    // The oldest stream still receiving a buffered body: it is always
    // acknowledged, so that a budget smaller than the bodies cannot deadlock.
    const h2_stream* oldest_waiting_body() const noexcept
    {
        const h2_stream* oldest = nullptr;
        for (const h2_stream* s = open_; s != nullptr; s = s->next) {
            if (!s->dispatched && !s->streamed_request && !s->closed &&
                (oldest == nullptr || s->id < oldest->id)) {
                oldest = s;
            }
        }
        return oldest;
    }

public:
    // A stream for `id`, open (listed, referenced by nghttp2's side) until close_stream().
    h2_stream* open_stream(std::int32_t id);
    void close_stream(h2_stream& s) noexcept;
    void recycle(h2_stream* s) noexcept;

private:
    h2_stream* find(std::int32_t id) const noexcept
    {
        return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(session, id));
    }
    void body_done(h2_stream& s);

    std::unique_ptr<char[]> in;
    asio::ip::tcp::socket* plain_ = nullptr;  // the socket when plain TCP without stream timeouts
    asio::steady_timer watchdog_{stream.get_executor()};
    clock::time_point last_read_{};
    clock::time_point write_started_{};
    bool writing_ = false;            // a write is on the socket (for the write timeout)
    bool write_in_progress_ = false;  // write_batch() runs, in the writer or a runner
    token_bucket resets_;
    token_bucket control_frames_;
    std::uint32_t continuations_ = 0;
    std::size_t handlers_running_ = 0;
    std::size_t buffered_body_bytes_ = 0;
    std::size_t unconsumed_streams_ = 0;  // streams whose received bytes wait for the budget  // over all
                                          // streams, for max_buffered_body_per_connection
    h2_stream* open_ = nullptr;           // open streams, newest first
    std::size_t open_count_ = 0;
    std::vector<h2_stream*> spare_;        // recycled streams
    h2_stream* headers_target_ = nullptr;  // the stream whose request header block is being read
    std::vector<stream_ptr> ready_;
    // Streams whose handlers wait for a runner (oldest at queue_head_).
    std::vector<stream_ptr> queue_;
    std::size_t queue_head_ = 0;
    std::vector<std::unique_ptr<handler_runner>> runners_;
    std::vector<handler_runner*> idle_runners_;
    std::size_t waking_runners_ = 0;  // woken or spawned, not yet taking work
    bool spare_check_posted_ = false;
    // The write batch being collected: copied frame bytes, borrowed body bytes
    // and the streams those belong to (kept alive until the write is done).
    std::string out_;
    std::vector<borrowed_piece> borrowed_;
    std::vector<stream_ptr> referenced_;
    std::size_t batch_bytes_ = 0;
    std::vector<asio::const_buffer> gather_;
    std::list<h2_stoppable*>& registry_;
    std::list<h2_stoppable*>::iterator registration_;
};

h2_stream::h2_stream(connection& c) : conn(c), wake(c.stream.get_executor())
{
    fields.reserve(16);
}

void h2_stream::reset() noexcept
{
    held.release();
    fields.clear();
    trailer_fields.clear();
    authority = {};
    header_list_bytes = 0;
    head = request_head{};
    if (body.capacity() > 64 * 1024) {
        body = std::string();  // large bodies are not kept for the next stream
    }
    body.clear();
    body_read = 0;
    body_complete = false;
    streamed_request = false;
    dispatched = false;
    res.reset();
    kind = body_kind::none;
    pending = {};
    chunk.clear();
    file_offset = 0;
    file_remaining = 0;
    unwritten = 0;
    unconsumed = 0;
    producer_done = false;
    trailers_.clear();
    closed = false;
    handler_running = false;
    wake.reset();
}

void release(h2_stream* s) noexcept
{
    if (--s->refs == 0) {
        s->conn.recycle(s);
    }
}

h2_stream* connection::open_stream(std::int32_t id)
{
    h2_stream* s = nullptr;
    if (spare_.empty()) {
        s = new h2_stream(*this);
    } else {
        s = spare_.back();
        spare_.pop_back();
    }
    s->id = id;
    s->refs = 1;  // nghttp2's side, until close_stream()
    s->prev = nullptr;
    s->next = open_;
    if (open_ != nullptr) {
        open_->prev = s;
    }
    open_ = s;
    ++open_count_;
    nghttp2_session_set_stream_user_data(session, id, s);
    return s;
}

void connection::close_stream(h2_stream& s) noexcept
{
    if (headers_target_ == &s) {
        headers_target_ = nullptr;
    }
    if (s.prev != nullptr) {
        s.prev->next = s.next;
    } else {
        open_ = s.next;
    }
    if (s.next != nullptr) {
        s.next->prev = s.prev;
    }
    s.prev = s.next = nullptr;
    --open_count_;
    release(&s);
}

void connection::recycle(h2_stream* s) noexcept
{
    buffered_body_bytes_ -= std::min(buffered_body_bytes_, s->body_accounted);
    s->body_accounted = 0;
    s->reset();
    if (spare_.size() < options.http2.max_concurrent_streams) {
        spare_.push_back(s);
    } else {
        delete s;
    }
}

void h2_stream::finish_head()
{
    bool has_host = false;
    head.known.fill(-1);
    for (std::size_t i = 0; i < fields.size(); ++i) {
        const known_header k = classify_field_name(fields[i].name);
        if (k != known_header::count_ && head.known[static_cast<std::size_t>(k)] < 0) {
            head.known[static_cast<std::size_t>(k)] = static_cast<std::int16_t>(i);
        }
        has_host = has_host || k == known_header::host;
    }
    // Handlers find the authority where HTTP/1.1 puts it (RFC 9113 8.3.1).
    if (!has_host && !authority.empty()) {
        head.known[static_cast<std::size_t>(known_header::host)] = static_cast<std::int16_t>(fields.size());
        fields.push_back({"host", authority});
    }
    head.headers = fields;
    head.method = method_from_string(head.method_name);
    head.version_minor = 1;
    head.keep_alive = true;
    if (const std::string_view length = head.find(known_header::content_length); !length.empty()) {
        std::uint64_t n = 0;
        const auto [end, ec] = std::from_chars(length.data(), length.data() + length.size(), n);
        if (ec == std::errc{} && end == length.data() + length.size()) {
            head.framing = body_framing::content_length;
            head.content_length = n;
        }
    } else if (!body_complete) {
        head.framing = body_framing::chunked;  // a body of unannounced length
    }
}

task<result<std::size_t>> h2_stream::read(asio::mutable_buffer into)
{
    for (;;) {
        if (body_read < body.size()) {
            const std::size_t n = std::min(into.size(), body.size() - body_read);
            std::memcpy(into.data(), body.data() + body_read, n);
            body_read += n;
            if (body_read == body.size()) {
                body.clear();
                body_read = 0;
            }
            // The client may send as much again: flow control follows the handler.
            if (!closed && !conn.dead) {
                nghttp2_session_consume(conn.session, id, n);
                conn.writer_wake.notify();
            }
            co_return n;
        }
        if (body_complete) {
            co_return std::size_t{0};
        }
        if (closed || conn.dead) {
            co_return make_error_code(std::errc::connection_reset);
        }
        if (!co_await wake.wait(conn.options.body_timeout)) {
            co_return errc::timed_out;
        }
    }
}

task<bool> h2_stream::write(std::string_view data)
{
    if (closed || conn.dead) {
        co_return false;
    }
    if (data.empty()) {
        co_return true;
    }
    // A copy the stream owns: if the handler is cancelled mid-write, its
    // `data` dies while a write batch may still reference the bytes.
    chunk.assign(data);
    pending = chunk;
    nghttp2_session_resume_data(conn.session, id);
    conn.writer_wake.notify();
    while (!closed && !conn.dead && (!pending.empty() || unwritten > 0)) {
        co_await wake.wait();
    }
    pending = {};
    co_return !closed && !conn.dead;
}

bool connection::setup(std::string_view upgrade_settings, bool head_request)
{
    nghttp2_session_callbacks* callbacks = nullptr;
    if (nghttp2_session_callbacks_new(&callbacks) != 0) {
        return false;
    }
    nghttp2_session_callbacks_set_send_callback(callbacks, on_send);
    nghttp2_session_callbacks_set_send_data_callback(callbacks, on_send_data);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback2(callbacks, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_stream_close);
    nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, on_begin_frame);

    nghttp2_option* option = nullptr;
    if (nghttp2_option_new(&option) != 0) {
        nghttp2_session_callbacks_del(callbacks);
        return false;
    }
    // Request bodies are acknowledged (WINDOW_UPDATE) as handlers consume them.
    nghttp2_option_set_no_auto_window_update(option, 1);
    // Closed streams are not kept for the priority tree (RFC 9113 deprecates
    // priority signalling); frames for them are still handled as for closed
    // streams, by stream id.
    nghttp2_option_set_no_closed_streams(option, 1);
    nghttp2_option_set_max_deflate_dynamic_table_size(option, 4096);
    nghttp2_option_set_max_settings(option, options.http2.max_settings_entries);
#ifdef COVET_NGHTTP2_HAS_RESET_RATE_LIMIT
    nghttp2_option_set_stream_reset_rate_limit(option, options.http2.reset_burst,
                                               options.http2.resets_per_second);
#endif
#ifdef COVET_NGHTTP2_HAS_MAX_CONTINUATIONS
    nghttp2_option_set_max_continuations(option, options.http2.max_continuations);
#endif
    // A session lives on one thread: its blocks come from that thread's pool
    // (nghttp2 keeps its own copy of `mem`).
    nghttp2_mem mem{&block_pool::local(), pool_malloc, pool_free, pool_calloc, pool_realloc};
    const int rv = nghttp2_session_server_new3(&session, callbacks, this, option, &mem);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(callbacks);
    if (rv != 0) {
        session = nullptr;
        return false;
    }
    const http2_options& o = options.http2;
    // No RFC 7540 priorities (RFC 9218 2.1): nghttp2 then schedules streams
    // by RFC 9218 urgency instead of keeping a dependency tree per stream,
    // and parses PRIORITY frames without acting on them (RFC 9113 5.3.2).
    const std::array<nghttp2_settings_entry, 6> settings{{
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o.initial_window_size},
        {NGHTTP2_SETTINGS_MAX_FRAME_SIZE, o.max_frame_size},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o.max_header_list_size},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, o.header_table_size},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    }};
    if (!upgrade_settings.empty()) {
        if (nghttp2_session_upgrade2(session, reinterpret_cast<const std::uint8_t*>(upgrade_settings.data()),
                                     upgrade_settings.size(), head_request ? 1 : 0, nullptr) != 0) {
            return false;
        }
    }
    if (nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, settings.data(), settings.size()) != 0) {
        return false;
    }
    if (o.connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE) {
        nghttp2_session_set_local_window_size(session, NGHTTP2_FLAG_NONE, 0,
                                              static_cast<std::int32_t>(o.connection_window_size));
    }
    return true;
}

task<void> connection::run(std::string received, std::unique_ptr<h2_upgrade_request> upgrade, bool stopping)
{
    // Teardown must wait for the streams' coroutines even when this task is
    // cancelled (runtime stop), so cancellation is checked by hand here.
    co_await asio::this_coro::throw_if_cancelled(false);
    const bool head_request = upgrade != nullptr && upgrade->method == "HEAD";
    if (!setup(upgrade ? std::string_view(upgrade->settings) : std::string_view{}, head_request)) {
        co_return;
    }
    // Reads and writes are not timed one by one (a timer per operation costs
    // more than the rest of a small request): the watchdog keeps the deadlines.
    stream.set_timeouts({});
    plain_ = stream.plain_socket();
    last_read_ = clock::now();
    tasks += 2;
    asio::co_spawn(stream.get_executor(), write_loop(), [](std::exception_ptr) {});
    asio::co_spawn(stream.get_executor(), watchdog(), [](std::exception_ptr) {});
    if (upgrade) {
        // Stream 1 is the request that carried the upgrade; it is complete already.
        h2_stream* s = open_stream(1);
        s->head.method_name = upgrade->method;
        s->head.target = upgrade->target;
        for (const auto& [name, value] : upgrade->fields) {
            s->fields.push_back({name, value});
        }
        s->body = std::move(upgrade->body);
        s->body_complete = true;
        s->finish_head();
        s->dispatched = true;
        ready_.emplace_back(s);
        // `upgrade` owns the strings the fields point to: it lives as long as this frame.
    }
    if (stopping) {
        begin_shutdown();
    }
    bool ok = feed(received.data(), received.size());
    received = std::string();
    while (ok && !dead) {
        if (nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0) {
            break;
        }
        std::size_t got = 0;
        if (plain_ != nullptr) {
            // Plain TCP: the socket itself, no stream coroutine frame per read.
            auto [ec, n] =
                co_await plain_->async_read_some(asio::buffer(in.get(), read_buffer_size), net::nothrow);
            if (ec) {
                break;
            }
            got = n;
        } else {
            auto n = co_await stream.read_some(asio::buffer(in.get(), read_buffer_size));
            if (!n) {
                break;
            }
            got = *n;
        }
        last_read_ = clock::now();
        ok = feed(in.get(), got);
    }

    // Teardown: cancel the handlers still running, let the writer send what
    // it can (a GOAWAY), then close once every coroutine is gone.
    dead = true;
    watchdog_.cancel();
    for (h2_stream* s = open_; s != nullptr; s = s->next) {
        s->closed = true;
        if (s->handler_running) {
            s->runner->cancelled = true;
            s->runner->cancel.emit(asio::cancellation_type::terminal);
        }
        s->wake.notify();
    }
    for (handler_runner* r : idle_runners_) {
        r->wake.notify();  // they see `dead` and end
    }
    idle_runners_.clear();
    queue_.clear();
    queue_head_ = 0;
    writer_wake.notify();
    bool closed_socket = false;
    while (tasks > 0) {
        const bool woke = co_await all_done.wait(closed_socket ? 1000ms : 200ms);
        if (!woke && !closed_socket) {
            stream.close();  // a writer stuck on a client that does not read
            closed_socket = true;
        }
        if (!!(co_await asio::this_coro::cancellation_state).cancelled() && !closed_socket) {
            stream.close();
            closed_socket = true;
            co_await asio::this_coro::reset_cancellation_state();
        }
    }
    ready_.clear();
    while (open_ != nullptr) {
        close_stream(*open_);
    }
    // Half-close and drain briefly: closing with unread input would send a
    // TCP reset, and the client could lose our GOAWAY with it.
    if (stream.is_open()) {
        std::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        stream.set_timeouts({.read = 300ms, .write = {}});
        for (std::size_t drained = 0; drained < 1024 * 1024;) {
            auto n = co_await stream.read_some(asio::buffer(in.get(), read_buffer_size));
            if (!n) {
                break;
            }
            drained += *n;
        }
    }
    stream.close();
}

bool connection::feed(const char* data, std::size_t size)
{
    if (size > 0) {
        const ssize_t consumed =
            nghttp2_session_mem_recv(session, reinterpret_cast<const std::uint8_t*>(data), size);
        if (consumed < 0) {
            // Bad preface, a flood nghttp2 detected (too many CONTINUATION
            // frames or unread ACKs), a callback that called abuse(): the
            // writer sends the GOAWAY (ours, or this one), then we close.
            const std::uint32_t code = consumed == NGHTTP2_ERR_CALLBACK_FAILURE   ? NGHTTP2_INTERNAL_ERROR
                                       : consumed == NGHTTP2_ERR_BAD_CLIENT_MAGIC ? NGHTTP2_PROTOCOL_ERROR
                                                                                  : NGHTTP2_ENHANCE_YOUR_CALM;
            nghttp2_session_terminate_session(session, code);
            dead = true;
            writer_wake.notify();
            return false;
        }
    }
    launch_ready();
    if (queue_head_ == queue_.size() || dead) {
        writer_wake.notify();  // else the runner that empties the queue writes
    }
    return true;
}

void connection::launch_ready()
{
    // Handlers start after nghttp2_session_mem_recv() returned: they may
    // submit responses, which nghttp2 does not allow from inside its callbacks.
    for (std::size_t i = 0; i < ready_.size(); ++i) {
        stream_ptr& s = ready_[i];
        if (s->closed || dead) {
            continue;
        }
        // Handlers of reset streams may still be unwinding: bound how many run or wait.
        if (handlers_running_ + (queue_.size() - queue_head_) >=
            2 * std::size_t{options.http2.max_concurrent_streams}) {
            nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_REFUSED_STREAM);
            continue;
        }
        queue_.push_back(std::move(s));
    }
    ready_.clear();
    if (queue_head_ < queue_.size()) {
        wake_runner();
    }
}

// Gets one more runner going: an idle one, or a new one. One at a time: a
// runner whose handler suspends while more streams wait gets another one
// going (spare_runner_if_suspended), so the queue keeps moving, and
// synchronous handlers run one after another in the same runner without a
// wake-up each.
void connection::wake_runner()
{
    if (waking_runners_ > 0 || dead) {
        return;
    }
    ++waking_runners_;
    if (!idle_runners_.empty()) {
        handler_runner* r = idle_runners_.back();
        idle_runners_.pop_back();
        r->wake.notify();
        return;
    }
    runners_.push_back(std::make_unique<handler_runner>(stream.get_executor()));
    handler_runner& r = *runners_.back();
    ++tasks;
    // Posted, not started here: a runner asking for another one would nest.
    asio::post(stream.get_executor(), [this, &r] {
        auto slot = r.cancel.slot();
        asio::co_spawn(stream.get_executor(), run_handlers(*this, r),
                       asio::bind_cancellation_slot(slot, [](std::exception_ptr) {}));
    });
}

// Streams wait behind the handler a runner is about to run: another runner
// must take them if that handler suspends. A posted check finds out (it runs
// only once this runner gives the thread away); synchronous handlers empty
// the queue first, so no runner is woken just to find nothing to do.
void connection::spare_runner_if_suspended()
{
    if (spare_check_posted_ || waking_runners_ > 0 || dead) {
        return;
    }
    spare_check_posted_ = true;
    ++tasks;
    asio::post(stream.get_executor(), [this] {
        spare_check_posted_ = false;
        if (queue_head_ < queue_.size()) {
            wake_runner();
        }
        task_finished();
    });
}

task<void> connection::run_handlers(connection& c, handler_runner& r)
{
    for (;;) {
        --c.waking_runners_;
        while (c.queue_head_ < c.queue_.size() && !c.dead) {
            stream_ptr s = std::move(c.queue_[c.queue_head_++]);
            if (c.queue_head_ == c.queue_.size()) {
                c.queue_.clear();
                c.queue_head_ = 0;
            } else {
                c.spare_runner_if_suspended();
            }
            if (s->closed) {
                continue;
            }
            s->handler_running = true;
            s->runner = &r;
            ++c.handlers_running_;
            // The exchange runs in this frame, not in a coroutine of its own:
            // one frame less to allocate, start and resume per request.
            try {
                request req(s->head, s->body_view(), s->trailer_fields, c.remote);
                if (s->streamed_request) {
                    req.attach_body_source(s.get());
                }
                // The response is built in the stream (no moves on the way to nghttp2).
                std::optional<response>& res = s->res;
                std::exception_ptr failure;
                try {
                    if (!c.options.handle_now || !c.options.handle_now(req, res)) {
                        res.emplace(co_await (*c.srv.handle)(req));
                    }
                } catch (...) {
                    failure = std::current_exception();
                }
                if (failure) {
                    res.emplace(s->closed ? response(status::internal_server_error)
                                          : response_for_exception(failure, req));
                }
                c.srv.requests->fetch_add(1, std::memory_order_relaxed);
                if (c.options.compression.enabled && !s->closed) {
                    co_await maybe_compress(c.options.compression, req, *res);
                }
                if (!s->closed && !c.dead) {
                    if (res->upgrade() != nullptr) {
                        // RFC 9113 8.6: no Upgrade in HTTP/2.
                        res.emplace(response::static_text("Upgrade is not supported over HTTP/2\n",
                                                          status::bad_request));
                    }
                    c.submit(*s);
                    if (s->kind == body_kind::streamed) {
                        co_await produce_body(c, *s);
                    }
                }
            } catch (...) {
                // Cancelled (RST_STREAM, connection gone) or out of memory: the stream ends here.
            }
            s->handler_running = false;
            s->runner = nullptr;
            --c.handlers_running_;
            c.release_body(*s);
            s = stream_ptr();
            if (r.cancelled) {
                r.cancelled = false;
                co_await asio::this_coro::reset_cancellation_state();
            }
            // The last handler of the queue writes what the turn produced
            // (the responses of every stream that ran) in this coroutine:
            // no wake-up of the writer per turn.
            if (c.queue_head_ == c.queue_.size() && !c.dead && !c.write_in_progress_) {
                co_await c.flush();
            }
        }
        if (c.dead) {
            break;
        }
        c.idle_runners_.push_back(&r);
        co_await r.wake.wait();
        if (c.dead) {
            break;
        }
    }
    c.task_finished();
}

// Runs a streamed body's producer after the head went out, then ends the
// body (or resets the stream when the producer failed).
task<void> connection::produce_body(connection& c, h2_stream& s)
{
    std::exception_ptr producer_failure;
    try {
        co_await (*s.res->streamed())(s);
    } catch (...) {
        producer_failure = std::current_exception();
    }
    if (!s.closed && !c.dead) {
        if (producer_failure) {
            // The head is gone already: reset the stream, an honest unfinished body.
            nghttp2_submit_rst_stream(c.session, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
        } else {
            s.producer_done = true;
            nghttp2_session_resume_data(c.session, s.id);
        }
        c.writer_wake.notify();
    }
}

void connection::submit(h2_stream& s)
{
    const response& res = *s.res;
    const bool body_allowed = status_allows_body(res.status()) && s.head.method != method::head;

    const auto code = static_cast<unsigned>(to_underlying(res.status()));
    s.status_text = {static_cast<char>('0' + code / 100), static_cast<char>('0' + code / 10 % 10),
                     static_cast<char>('0' + code % 10)};

    // nghttp2 copies the fields into its frame queue, except those flagged
    // NO_COPY: lower-case literal names, and values in the stream (a stale
    // queued HEADERS frame of a closed stream is dropped without being
    // read), the server options, static content types, or the per-thread
    // Date buffer.
    constexpr std::uint8_t no_copy = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE;
    nv_list nv;
    nv.add(":status", std::string_view(s.status_text.data(), 3), no_copy);
    if (!options.server_name.empty()) {
        nv.add("server", options.server_name, no_copy);
    }
    nv.add("date", http_date(), no_copy);
    if (!res.content_type().empty()) {
        // Content types are static strings (response::set_content_type()).
        nv.add("content-type", res.content_type(), no_copy);
    }
    nv.add_lines(res.header_lines());

    s.kind = body_kind::none;
    if (res.streamed() != nullptr) {
        if (body_allowed) {
            s.kind = body_kind::streamed;
        }
    } else if (status_allows_body(res.status())) {
        char* const digits = s.length_text.data();
        const auto [end, ec] = std::to_chars(digits, digits + s.length_text.size(), res.content_length());
        (void)ec;
        nv.add("content-length", std::string_view(digits, static_cast<std::size_t>(end - digits)), no_copy);
        if (body_allowed && (res.content_length() > 0 || !res.trailer_lines().empty())) {
            if (const detail::file_body* file = res.file()) {
                s.kind = body_kind::file;
                s.file_offset = file->offset;
                s.file_remaining = file->length;
            } else {
                // Also an empty body with trailers: the data provider sends them at its end.
                s.kind = body_kind::memory;
                s.pending = res.body();
            }
        }
    }

    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = on_read_body;
    const int rv = nghttp2_submit_response(session, s.id, nv.data(), nv.size(),
                                           s.kind == body_kind::none ? nullptr : &provider);
    if (rv != 0) {
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
    }
    // The runner writes once its queue is empty; a streamed head goes out
    // now, before its producer (maybe much later) writes the body.
    if (s.kind == body_kind::streamed) {
        writer_wake.notify();
    }
}

// The connection's deadlines: the keep-alive timeout when no stream is open
// (GOAWAY, then close if the client stays), and the write timeout (a client
// that stops reading). Checked at least every half write timeout.
task<void> connection::watchdog()
{
    const auto idle_limit = options.keep_alive_timeout;
    const auto write_limit = options.write_timeout;
    while (!dead) {
        auto now = clock::now();
        auto wake_at = clock::time_point::max();
        if (idle_limit.count() > 0) {
            wake_at = last_read_ + idle_limit;
        }
        if (write_limit.count() > 0) {
            wake_at = std::min(wake_at, writing_ ? write_started_ + write_limit : now + write_limit / 2);
        }
        watchdog_.expires_at(wake_at);
        auto [ec] = co_await watchdog_.async_wait(net::nothrow);
        (void)ec;
        if (dead) {
            break;
        }
        now = clock::now();
        if (writing_ && write_limit.count() > 0 && now - write_started_ >= write_limit) {
            stream.close();  // the client stopped reading
            break;
        }
        if (idle_limit.count() > 0 && now - last_read_ >= idle_limit) {
            if (open_count_ > 0) {
                last_read_ = now;  // streams in progress: not idle
            } else if (!shutting_down) {
                begin_shutdown();  // GOAWAY; the writer ends the read once it is out
                last_read_ = now;
            } else {
                stream.close();  // GOAWAY sent long ago and the client stays
                break;
            }
        }
    }
    task_finished();
}

task<void> connection::write_loop()
{
    for (;;) {
        // A runner writing now sends whatever is queued once its write is
        // done (a last GOAWAY too): then there is nothing to do here.
        if (!write_in_progress_) {
            const bool writable = co_await write_batch();
            if (!writable) {
                break;
            }
            close_if_finished();
        }
        if (dead) {
            break;
        }
        co_await writer_wake.wait();
    }
    task_finished();
}

task<void> connection::flush()
{
    bool writable = false;
    try {
        writable = co_await write_batch();
    } catch (...) {
        // Out of memory: end the connection rather than leave frames unsent.
    }
    if (!writable) {
        dead = true;
        stream.close();
    } else {
        close_if_finished();
    }
}

task<bool> connection::write_batch()
{
    write_in_progress_ = true;
    const bool writable = co_await write_all();
    write_in_progress_ = false;
    co_return writable;
}

task<bool> connection::write_all()
{
    for (;;) {
        out_.clear();
        borrowed_.clear();
        batch_bytes_ = 0;
        // nghttp2_session_send() can return with frames still queued (DATA of
        // some streams goes out a round later): ask again while nghttp2 wants
        // to write and the last call gave something, so that one write
        // carries every response that is ready.
        for (std::size_t collected = 0;;) {
            if (nghttp2_session_send(session) != 0) {
                stream.close();
                co_return false;
            }
            if (batch_bytes_ == collected || batch_bytes_ >= write_batch_limit ||
                nghttp2_session_want_write(session) == 0) {
                break;
            }
            collected = batch_bytes_;
        }
        if (out_.empty() && borrowed_.empty()) {
            co_return true;
        }
        gather_.clear();
        writing_ = true;
        write_started_ = clock::now();
        bool written = true;
        std::size_t copied_from = 0;
        for (const borrowed_piece& piece : borrowed_) {
            if (piece.out_offset > copied_from) {
                gather_.emplace_back(out_.data() + copied_from, piece.out_offset - copied_from);
            }
            copied_from = piece.out_offset;
            if (piece.data != nullptr) {
                gather_.emplace_back(piece.data, piece.size);
                continue;
            }
            // File bytes: what is gathered before them (their frame header) goes first.
            written = co_await write_gathered();
            if (written) {
                // No deadline here: the watchdog keeps the write timeout.
                written = co_await send_file_range(stream.socket(), piece.fd, piece.file_offset, piece.size,
                                                   clock::time_point::max());
            }
            if (!written) {
                break;
            }
        }
        if (written && out_.size() > copied_from) {
            gather_.emplace_back(out_.data() + copied_from, out_.size() - copied_from);
        }
        if (written) {
            written = co_await write_gathered();
        }
        writing_ = false;
        for (auto& s : referenced_) {
            s->unwritten = 0;
            s->wake.notify();
        }
        referenced_.clear();
        if (!written) {
            dead = true;
            stream.close();
            co_return false;
        }
        // Responses submitted while the batch was on the socket go in the next one.
        if (nghttp2_session_want_write(session) == 0) {
            co_return true;
        }
    }
}

task<bool> connection::write_gathered()
{
    if (gather_.empty()) {
        co_return true;
    }
    bool ok = true;
    if (plain_ != nullptr) {
        // Plain TCP: one sendmsg(2) straight away (a batch usually fits in the
        // socket buffer); only what it did not take goes through Asio's write.
        const result<std::size_t> sent = net::send_now(*plain_, gather_);
        if (!sent) {
            gather_.clear();
            co_return false;
        }
        const std::span<const asio::const_buffer> rest = net::unsent(gather_, *sent);
        if (!rest.empty()) {
            auto [ec, n] = co_await asio::async_write(*plain_, rest, net::nothrow);
            (void)n;
            ok = !ec;
        }
    } else {
        auto written = co_await stream.write(std::span<const asio::const_buffer>(gather_));
        ok = written.has_value();
    }
    gather_.clear();
    co_return ok;
}

void connection::close_if_finished() noexcept
{
    // After a GOAWAY with no stream left, or a connection error, nghttp2 wants
    // neither to read nor to write: the reader is woken by the close.
    if (nghttp2_session_want_read(session) == 0 && nghttp2_session_want_write(session) == 0) {
        std::error_code ignored;
        stream.socket().cancel(ignored);  // ends the reader's wait; teardown closes
    }
}

ssize_t connection::on_send(nghttp2_session*, const std::uint8_t* data, std::size_t length, int, void* self)
{
    auto& c = *static_cast<connection*>(self);
    if (c.batch_bytes_ >= write_batch_limit) {
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    c.out_.append(reinterpret_cast<const char*>(data), length);
    c.batch_bytes_ += length;
    return static_cast<ssize_t>(length);
}

// The end of a response body: END_STREAM on the last DATA frame, or, with
// trailers (the response's, then those the producer added), a trailing
// HEADERS frame that ends the stream instead.
void end_body(nghttp2_session* session, h2_stream& s, std::uint32_t* flags)
{
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    const std::string_view own = s.res->trailer_lines();
    const std::string_view produced = s.trailer_lines();
    if (own.empty() && produced.empty()) {
        return;
    }
    nv_list nv;
    nv.add_lines(own);
    nv.add_lines(produced);
    if (nghttp2_submit_trailer(session, s.id, nv.data(), nv.size()) == 0) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
    }
}

ssize_t connection::on_read_body(nghttp2_session* session, std::int32_t, std::uint8_t*, std::size_t length,
                                 std::uint32_t* flags, nghttp2_data_source* source, void*)
{
    auto& s = *static_cast<h2_stream*>(source->ptr);
    switch (s.kind) {
    case body_kind::memory: {
        const std::size_t n = std::min(length, s.pending.size());
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
        if (n == s.pending.size()) {
            end_body(session, s, flags);
        }
        return static_cast<ssize_t>(n);
    }
    case body_kind::file: {
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(length, s.file_remaining));
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
        if (n == s.file_remaining) {
            end_body(session, s, flags);
        }
        return static_cast<ssize_t>(n);
    }
    case body_kind::streamed:
        if (!s.pending.empty()) {
            *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
            return static_cast<ssize_t>(std::min(length, s.pending.size()));
        }
        if (s.producer_done) {
            end_body(session, s, flags);
            return 0;
        }
        return NGHTTP2_ERR_DEFERRED;
    case body_kind::none: break;
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
}

int connection::on_send_data(nghttp2_session*, nghttp2_frame* frame, const std::uint8_t* frame_head,
                             std::size_t length, nghttp2_data_source* source, void* self)
{
    auto& c = *static_cast<connection*>(self);
    auto& s = *static_cast<h2_stream*>(source->ptr);
    if (c.batch_bytes_ >= write_batch_limit) {
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    c.out_.append(reinterpret_cast<const char*>(frame_head), 9);
    const std::size_t padding = frame->data.padlen;
    if (padding > 0) {
        c.out_.push_back(static_cast<char>(padding - 1));
    }
    if (s.kind == body_kind::file && c.srv.plain_tcp && length >= borrow_threshold) {
        // Sent from the page cache by sendfile(2) when the batch is written.
        c.borrowed_.push_back({c.out_.size(), nullptr, length, s.res->file()->fd, s.file_offset});
        s.file_offset += length;
        s.file_remaining -= length;
    } else if (s.kind == body_kind::file) {
        // pread straight into the batch: one copy, as a TLS stream needs anyway.
        const int fd = s.res->file()->fd;
        const std::size_t at = c.out_.size();
        c.out_.resize(at + length);
        std::size_t done = 0;
        while (done < length) {
            const ssize_t n = ::pread(fd, c.out_.data() + at + done, length - done,
                                      static_cast<off_t>(s.file_offset + done));
            if (n > 0) {
                done += static_cast<std::size_t>(n);
            } else if (n < 0 && errno == EINTR) {
                continue;
            } else {
                return NGHTTP2_ERR_CALLBACK_FAILURE;  // the file shrank or failed under us
            }
        }
        s.file_offset += length;
        s.file_remaining -= length;
    } else if (length < borrow_threshold) {
        // Small bodies are copied: an iovec costs more than the copy, and
        // Asio gathers at most 16 buffers per send.
        c.out_.append(s.pending.data(), length);
        s.pending.remove_prefix(length);
    } else {
        c.borrowed_.push_back({c.out_.size(), s.pending.data(), length});
        s.pending.remove_prefix(length);
        if (s.kind == body_kind::streamed) {
            s.unwritten += length;
        }
    }
    // Keep borrowed bytes alive until the write completes, and wake a
    // producer once its piece is on the wire.
    if ((length >= borrow_threshold || s.kind == body_kind::streamed) &&
        (c.referenced_.empty() || c.referenced_.back().get() != &s)) {
        c.referenced_.emplace_back(&s);
    }
    if (padding > 1) {
        c.out_.append(padding - 1, '\0');
    }
    c.batch_bytes_ += 9 + length + padding;
    return 0;
}

int connection::on_begin_headers(nghttp2_session* session, const nghttp2_frame* frame, void* self)
{
    auto& c = *static_cast<connection*>(self);
    c.headers_target_ = nullptr;
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    (void)session;
    c.headers_target_ = c.open_stream(frame->hd.stream_id);
    return 0;
}

int connection::on_header(nghttp2_session*, const nghttp2_frame* frame, nghttp2_rcbuf* name,
                          nghttp2_rcbuf* value, std::uint8_t, void* self)
{
    auto& c = *static_cast<connection*>(self);
    // The stream of the header block being decoded, without a lookup per field.
    h2_stream* s = c.headers_target_;
    if (s == nullptr || s->id != frame->hd.stream_id) {
        s = c.find(frame->hd.stream_id);
    }
    if (s == nullptr || frame->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    const std::string_view n = view(name);
    const std::string_view v = view(value);
    // RFC 9113 6.5.2 counting; past the limit the stream is reset (HPACK bombs end here).
    s->header_list_bytes += n.size() + v.size() + 32;
    if (s->header_list_bytes > c.options.http2.max_header_list_size ||
        s->fields.size() + s->trailer_fields.size() >= c.options.limits.max_headers) {
        if (!c.count_reset()) {
            return c.abuse();
        }
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    // Only the bytes the stream keeps are referenced: both of a field, the
    // value of a pseudo-header it uses, nothing of the others (:scheme).
    if (frame->headers.cat != NGHTTP2_HCAT_HEADERS && !n.empty() && n.front() == ':') {
        std::string_view* kept = nullptr;
        if (n == ":method") {
            kept = &s->head.method_name;
        } else if (n == ":path") {
            kept = &s->head.target;
        } else if (n == ":authority") {
            kept = &s->authority;
        }
        if (kept != nullptr) {
            s->held.add(value);
            *kept = v;
        }
        return 0;
    }
    s->held.add(name);
    s->held.add(value);
    if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
        s->trailer_fields.push_back({n, v});
    } else {
        s->fields.push_back({n, v});
    }
    return 0;
}

int connection::on_frame_recv(nghttp2_session*, const nghttp2_frame* frame, void* self)
{
    auto& c = *static_cast<connection*>(self);
    const bool ack = (frame->hd.flags & NGHTTP2_FLAG_ACK) != 0;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA: break;
    case NGHTTP2_RST_STREAM: return c.count_reset() ? 0 : c.abuse();
    case NGHTTP2_PING:
    case NGHTTP2_SETTINGS:
        if (!ack && !c.control_frames_.take(c.options.http2.control_frame_burst,
                                            c.options.http2.control_frames_per_second)) {
            return c.abuse();
        }
        return 0;
    default: return 0;
    }
    h2_stream* s = c.headers_target_;
    if (s == nullptr || s->id != frame->hd.stream_id) {
        s = c.find(frame->hd.stream_id);
    }
    if (s == nullptr) {
        return 0;
    }
    const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        s->body_complete = end_stream;
        s->finish_head();
        if (end_stream) {
            c.ready_.emplace_back(s);
            s->dispatched = true;
            return 0;
        }
        if (c.options.stream_body_if) {
            request probe(s->head, {}, {}, c.remote);
            if (c.options.stream_body_if(probe)) {
                s->streamed_request = true;
                c.ready_.emplace_back(s);
                s->dispatched = true;
                return 0;
            }
        }
        if (s->head.framing == body_framing::content_length &&
            s->head.content_length <= c.options.limits.max_body) {
            s->body.reserve(static_cast<std::size_t>(s->head.content_length));
        }
        return 0;
    }
    if (end_stream) {
        c.body_done(*s);
    }
    return 0;
}

void connection::body_done(h2_stream& s)
{
    s.body_complete = true;
    if (!s.dispatched) {
        s.dispatched = true;
        ready_.emplace_back(&s);
    } else {
        s.wake.notify();
    }
}

int connection::on_data_chunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                              const std::uint8_t* data, std::size_t length, void* self)
{
    auto& c = *static_cast<connection*>(self);
    h2_stream* s = c.find(stream_id);
    if (s == nullptr || s->closed) {
        nghttp2_session_consume(session, stream_id, length);
        return 0;
    }
    const std::size_t limit =
        s->streamed_request ? c.options.limits.max_streamed_body : c.options.limits.max_body;
    if (s->body.size() + length > limit) {
        nghttp2_session_consume(session, stream_id, length);
        nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_CANCEL);
        return 0;
    }
    s->body.append(reinterpret_cast<const char*>(data), length);
    if (s->streamed_request) {
        s->wake.notify();  // consumed (WINDOW_UPDATE) as the handler reads it
        return 0;
    }
    // Buffered bodies are acknowledged at once while the connection's budget
    // allows; past it the client waits until handlers release theirs.
    c.buffered_body_bytes_ += length;
    s->body_accounted += length;
    // The connection window is always given back: only the stream's own
    // window holds a client back, else unacknowledged streams could starve
    // the oldest one of connection window.
    nghttp2_session_consume_connection(session, length);
    if (c.buffered_body_bytes_ <= c.options.http2.max_buffered_body_per_connection ||
        c.oldest_waiting_body() == s) {
        nghttp2_session_consume_stream(session, stream_id, length);
    } else {
        c.unconsumed_streams_ += s->unconsumed == 0 ? 1 : 0;
        s->unconsumed += length;
    }
    return 0;
}

void connection::release_body(h2_stream& s)
{
    if (s.streamed_request) {
        return;
    }
    buffered_body_bytes_ -= std::min(buffered_body_bytes_, s.body_accounted);
    s.body_accounted = 0;
    if (s.body.capacity() > 64 * 1024) {
        s.body = std::string();
    } else {
        s.body.clear();
    }
    if (dead || unconsumed_streams_ == 0) {
        return;
    }
    const h2_stream* oldest = oldest_waiting_body();
    for (h2_stream* other = open_; other != nullptr; other = other->next) {
        if (other->unconsumed > 0 &&
            (buffered_body_bytes_ <= options.http2.max_buffered_body_per_connection || other == oldest)) {
            nghttp2_session_consume_stream(session, other->id, other->unconsumed);
            other->unconsumed = 0;
            --unconsumed_streams_;
            writer_wake.notify();
        }
    }
}

int connection::on_begin_frame(nghttp2_session*, const nghttp2_frame_hd* frame, void* self)
{
    auto& c = *static_cast<connection*>(self);
    if (frame->type == NGHTTP2_HEADERS) {
        c.continuations_ = 0;
    } else if (frame->type == NGHTTP2_CONTINUATION &&
               ++c.continuations_ > c.options.http2.max_continuations) {
        return c.abuse();
    }
    return 0;
}

int connection::on_stream_close(nghttp2_session*, std::int32_t stream_id, std::uint32_t, void* self)
{
    auto& c = *static_cast<connection*>(self);
    h2_stream* s = c.find(stream_id);
    if (s == nullptr) {
        return 0;
    }
    s->closed = true;
    if (s->handler_running) {
        // RST_STREAM (or the end of the connection) cancels the handler's task.
        s->runner->cancelled = true;
        s->runner->cancel.emit(asio::cancellation_type::terminal);
    }
    s->wake.notify();
    if (s->unconsumed > 0) {
        s->unconsumed = 0;
        --c.unconsumed_streams_;
    }
    c.close_stream(*s);
    return 0;
}

// base64url without padding (RFC 4648 5), as HTTP2-Settings carries it.
bool decode_base64url(std::string_view text, std::string& out)
{
    std::uint32_t bits = 0;
    int count = 0;
    for (char ch : text) {
        int v = -1;
        if (ch >= 'A' && ch <= 'Z') {
            v = ch - 'A';
        } else if (ch >= 'a' && ch <= 'z') {
            v = ch - 'a' + 26;
        } else if (ch >= '0' && ch <= '9') {
            v = ch - '0' + 52;
        } else if (ch == '-') {
            v = 62;
        } else if (ch == '_') {
            v = 63;
        } else if (ch == '=') {
            break;
        } else {
            return false;
        }
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out.push_back(static_cast<char>((bits >> count) & 0xff));
        }
    }
    return true;
}

bool has_token(std::string_view list, std::string_view token)
{
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        std::string_view item = list.substr(0, comma);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
            item.remove_suffix(1);
        }
        if (iequals(item, token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

std::unique_ptr<h2_upgrade_request> h2c_upgrade_request(const request_head& head, std::string_view body)
{
    if (head.version_minor != 1 || !has_token(head.find(known_header::upgrade), "h2c")) {
        return nullptr;
    }
    std::string_view settings;
    int settings_fields = 0;
    for (const header& h : head.headers) {
        if (iequals(h.name, "http2-settings")) {
            settings = h.value;
            ++settings_fields;
        }
    }
    auto upgrade = std::make_unique<h2_upgrade_request>();
    // Exactly one HTTP2-Settings (RFC 7540 3.2.1), a whole number of 6-byte settings.
    if (settings_fields != 1 || !decode_base64url(settings, upgrade->settings) ||
        upgrade->settings.size() % 6 != 0) {
        return nullptr;
    }
    upgrade->method = head.method_name;
    upgrade->target = head.target;
    upgrade->fields.reserve(head.headers.size());
    for (const header& h : head.headers) {
        // Hop-by-hop fields stay with the HTTP/1.1 hop.
        if (iequals(h.name, "connection") || iequals(h.name, "upgrade") ||
            iequals(h.name, "http2-settings") || iequals(h.name, "keep-alive") ||
            iequals(h.name, "transfer-encoding") || iequals(h.name, "proxy-connection") ||
            iequals(h.name, "te")) {
            continue;
        }
        upgrade->fields.emplace_back(std::string(h.name), std::string(h.value));
    }
    upgrade->body.assign(body);
    return upgrade;
}

task<void> serve_h2(h2_server server, std::list<h2_stoppable*>& registry, bool stopping,
                    net::any_stream stream, std::string received, asio::ip::tcp::endpoint remote,
                    std::unique_ptr<h2_upgrade_request> upgrade)
{
    connection c(server, registry, std::move(stream), remote);
    co_await c.run(std::move(received), std::move(upgrade), stopping);
}

}  // namespace covet::http::detail
