#pragma once
// covet::http::response: what a handler returns. The server adds Date,
// Server, Content-Length and Connection; everything else is the handler's.
//
// Header storage is an inline buffer of serialized field lines, so building a
// typical response allocates nothing. Bodies are either owned (std::string) or
// borrowed views of data that outlives the response (string literals, static
// tables): the static_* builders take such views.

#include <covet/http/status.hpp>
#include <covet/net/any_stream.hpp>
#include <covet/net/task.hpp>

#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace covet::http {

namespace detail {
/// A growable byte buffer with `N` bytes of inline storage.
template <std::size_t N>
class inline_buffer {
public:
    inline_buffer() = default;
    inline_buffer(const inline_buffer& other) { append(other.view()); }
    inline_buffer& operator=(const inline_buffer& other)
    {
        if (this != &other) {
            clear();
            append(other.view());
        }
        return *this;
    }
    inline_buffer(inline_buffer&& other) noexcept { *this = std::move(other); }
    inline_buffer& operator=(inline_buffer&& other) noexcept
    {
        if (this != &other) {
            heap_ = std::move(other.heap_);
            capacity_ = other.capacity_;
            size_ = other.size_;
            if (!heap_) {
                std::copy(other.inline_.data(), other.inline_.data() + size_, inline_.data());
            }
            other.capacity_ = N;
            other.size_ = 0;
        }
        return *this;
    }

    void append(std::string_view s)
    {
        if (size_ + s.size() > capacity_) {
            grow(size_ + s.size());
        }
        std::copy(s.begin(), s.end(), data() + size_);
        size_ += s.size();
    }
    void erase(std::size_t pos, std::size_t count) noexcept
    {
        char* d = data();
        std::copy(d + pos + count, d + size_, d + pos);
        size_ -= count;
    }
    void clear() noexcept { size_ = 0; }
    std::string_view view() const noexcept { return {data(), size_}; }
    std::size_t size() const noexcept { return size_; }

private:
    char* data() noexcept { return heap_ ? heap_.get() : inline_.data(); }
    const char* data() const noexcept { return heap_ ? heap_.get() : inline_.data(); }
    void grow(std::size_t need)
    {
        std::size_t capacity = capacity_ * 2;
        while (capacity < need) {
            capacity *= 2;
        }
        auto bigger = std::make_unique<char[]>(capacity);
        std::copy(data(), data() + size_, bigger.get());
        heap_ = std::move(bigger);
        capacity_ = capacity;
    }

    std::array<char, N> inline_;
    std::unique_ptr<char[]> heap_;
    std::size_t capacity_ = N;
    std::size_t size_ = 0;
};
/// An open file (the descriptor is owned and closed on destruction) and the
/// byte range of it to send.
struct file_body {
    file_body(int descriptor, std::uint64_t from, std::uint64_t count) noexcept
        : fd(descriptor), offset(from), length(count)
    {
    }
    ~file_body();
    file_body(const file_body&) = delete;
    file_body& operator=(const file_body&) = delete;
    int fd;
    std::uint64_t offset;
    std::uint64_t length;
};
}  // namespace detail

namespace detail {
/// Appends "name: value\r\n" to `lines` after checking that the field may be
/// a trailer: a token name, no CR/LF/NUL in the value, and none of the fields
/// RFC 9110 6.5.1 keeps out of trailers (framing, routing, request modifiers,
/// authentication, response control data, content processing). Throws
/// std::invalid_argument otherwise.
void append_trailer_line(std::string& lines, std::string_view name, std::string_view value);
}  // namespace detail

/// Where a streamed body goes. write() sends `data` at once (one chunk of a
/// chunked response) and returns false once the client is gone: stop then.
class body_writer {
public:
    virtual ~body_writer() = default;
    virtual task<bool> write(std::string_view data) = 0;
    /// Adds a trailer field, sent after the last piece of the body (after
    /// the response's own trailers): known only at the end, like gRPC's
    /// grpc-status. Same rules as response::add_trailer().
    void add_trailer(std::string_view name, std::string_view value)
    {
        detail::append_trailer_line(trailers_, name, value);
    }
    /// The trailer field lines added so far ("Name: value\r\n"...).
    std::string_view trailer_lines() const noexcept { return trailers_; }

protected:
    std::string trailers_;
};

/// Produces a streamed body. Runs on the connection's thread after the head
/// was sent; captured state must be owned (by value), not borrowed.
using stream_producer = std::function<task<void>(body_writer&)>;

/// Appends one Server-Sent Event (text/event-stream) to `out`: multi-line
/// data becomes several data: lines; CR/LF in `event` and `id` are dropped.
void append_event(std::string& out, std::string_view data, std::string_view event = {},
                  std::string_view id = {});

/// A connection handed over by the server after it sent a 101 Switching
/// Protocols response: the new protocol owns the stream from here on.
struct upgraded_connection {
    net::any_stream stream;
    /// Bytes the client sent after the upgrade request; they belong to the new protocol.
    std::string early_data;
    asio::ip::tcp::endpoint remote;
};

/// Starts the new protocol on an upgraded connection: called once, its task
/// runs as a tracked task of the connection's worker (a graceful stop waits
/// for it, then cancels it). The handler object lives until that task has
/// finished (a coroutine lambda may read its captures); the request is gone
/// by then, so captured state must be owned (by value).
using upgrade_handler = std::function<task<void>(upgraded_connection)>;

namespace detail {
/// The members most responses leave empty: file bodies, streamed bodies,
/// upgrades and trailers.
struct response_extras {
    std::shared_ptr<file_body> file;
    stream_producer producer;
    upgrade_handler upgrade;
    // Copies of a response share the lines; add_trailer() makes new ones.
    std::shared_ptr<const std::string> trailers;
};

/// Owns the response_extras of a response, if it has any. Copying copies
/// them (a response is a value); moving moves one pointer.
class extras_box {
public:
    extras_box() noexcept = default;
    extras_box(const extras_box& other) : p_(copy_of(other)) {}
    extras_box& operator=(const extras_box& other)
    {
        if (this != &other) {
            p_ = copy_of(other);
        }
        return *this;
    }
    extras_box(extras_box&&) noexcept = default;
    extras_box& operator=(extras_box&&) noexcept = default;
    ~extras_box() = default;

    response_extras* get() const noexcept { return p_.get(); }
    response_extras& get_or_create()
    {
        if (!p_) {
            p_ = std::make_unique<response_extras>();
        }
        return *p_;
    }

private:
    static std::unique_ptr<response_extras> copy_of(const extras_box& other)
    {
        return other.p_ ? std::make_unique<response_extras>(*other.p_) : nullptr;
    }
    std::unique_ptr<response_extras> p_;
};
}  // namespace detail

class response {
public:
    response() noexcept = default;
    explicit response(http::status s) noexcept : status_(s) {}

    /// text/plain; charset=utf-8
    static response text(std::string body, http::status s = status::ok);
    static response static_text(std::string_view body, http::status s = status::ok);
    /// text/html; charset=utf-8
    static response html(std::string body, http::status s = status::ok);
    static response static_html(std::string_view body, http::status s = status::ok);
    /// application/json, the body already serialized.
    static response json_bytes(std::string body, http::status s = status::ok);
    static response static_json(std::string_view body, http::status s = status::ok);
    /// A redirect with a Location header (302 by default; 301, 303, 307, 308).
    static response redirect(std::string_view location, http::status s = status::found);
    /// A chunked response whose body `producer` writes piece by piece.
    static response stream(stream_producer producer,
                           std::string_view static_content_type = "application/octet-stream");
    /// Server-Sent Events: text/event-stream, no caching; write events with append_event().
    static response event_stream(stream_producer producer);
    /// 101 Switching Protocols to `protocol` (the Upgrade field; Connection:
    /// Upgrade is added by the server), then `handler` gets the connection.
    /// Only for HTTP/1.1 requests that asked to upgrade (RFC 9110 7.8); the
    /// server answers an HTTP/1.0 request with 400 instead.
    static response switching_protocols(std::string_view protocol, upgrade_handler handler);
    /// 204 No Content.
    static response no_content() noexcept { return response(status::no_content); }

    http::status status() const noexcept { return status_; }
    response& set_status(http::status s) noexcept
    {
        status_ = s;
        return *this;
    }

    /// Appends a field line. Throws std::invalid_argument for a name that is
    /// not a token or a value with CR, LF or NUL (response splitting), and for
    /// the fields the server owns (Content-Length, Transfer-Encoding, Date,
    /// Connection).
    response& add_header(std::string_view name, std::string_view value);
    /// Replaces every `name` field with one line.
    response& set_header(std::string_view name, std::string_view value);
    /// First value of `name` (case-insensitive); "" if absent.
    std::string_view header(std::string_view name) const noexcept;
    /// The serialized extra field lines ("Name: value\r\n"...).
    std::string_view header_lines() const noexcept { return headers_.view(); }

    /// Content-Type; builders set it, set_header("Content-Type", ...) overrides.
    std::string_view content_type() const noexcept { return content_type_; }
    response& set_content_type(std::string_view static_type) noexcept
    {
        content_type_ = static_type;
        return *this;
    }

    /// Adds a trailer field, sent after the body: on HTTP/2 as a trailing
    /// HEADERS frame, on HTTP/1.1 as the trailer section of a chunked body
    /// (a response with trailers is sent chunked; RFC 9112 7.1.2 allows a
    /// trailer section whatever the request's TE says, and a client that did
    /// not ask for one may drop it). HTTP/1.0 and HEAD responses have none.
    /// Throws std::invalid_argument for a name that is not a token, a value
    /// with CR, LF or NUL, and the fields RFC 9110 6.5.1 forbids in trailers
    /// (Content-Length, Transfer-Encoding, Host, Content-Type, Trailer, ...).
    response& add_trailer(std::string_view name, std::string_view value)
    {
        auto lines = std::make_shared<std::string>(trailer_lines());
        detail::append_trailer_line(*lines, name, value);
        extras_.get_or_create().trailers = std::move(lines);
        return *this;
    }
    /// The serialized trailer field lines ("Name: value\r\n"...), "" if none.
    std::string_view trailer_lines() const noexcept
    {
        const detail::response_extras* e = extras_.get();
        return e != nullptr && e->trailers ? std::string_view(*e->trailers) : std::string_view{};
    }

    /// The in-memory body ("" for a file body).
    std::string_view body() const noexcept { return owned_ ? std::string_view(owned_body_) : borrowed_body_; }
    /// Bytes the body has, in memory or in the file.
    std::uint64_t content_length() const noexcept
    {
        const detail::file_body* f = file();
        return f != nullptr ? f->length : body().size();
    }
    /// Sends `length` bytes of the open file `fd` from `offset` (sendfile on
    /// plain TCP). Takes ownership of `fd`.
    response& set_file_body(int fd, std::uint64_t offset, std::uint64_t length);
    const detail::file_body* file() const noexcept
    {
        const detail::response_extras* e = extras_.get();
        return e != nullptr ? e->file.get() : nullptr;
    }
    /// The producer of a streamed body, or nullptr.
    const stream_producer* streamed() const noexcept
    {
        const detail::response_extras* e = extras_.get();
        return e != nullptr && e->producer ? &e->producer : nullptr;
    }
    /// The upgrade handler of a switching_protocols() response, or nullptr.
    const upgrade_handler* upgrade() const noexcept
    {
        const detail::response_extras* e = extras_.get();
        return e != nullptr && e->upgrade ? &e->upgrade : nullptr;
    }
    /// Moves the upgrade handler out (the server, when it hands the connection over).
    upgrade_handler take_upgrade() noexcept
    {
        detail::response_extras* e = extras_.get();
        return e != nullptr ? std::move(e->upgrade) : upgrade_handler{};
    }
    response& set_body(std::string body)
    {
        owned_body_ = std::move(body);
        owned_ = true;
        drop_other_bodies();
        return *this;
    }
    /// `body` must outlive the response's transmission.
    response& set_static_body(std::string_view body) noexcept
    {
        borrowed_body_ = body;
        owned_ = false;
        drop_other_bodies();
        return *this;
    }

private:
    void drop_other_bodies() noexcept
    {
        if (detail::response_extras* e = extras_.get()) {
            e->file.reset();
            e->producer = nullptr;
        }
    }

    http::status status_ = status::ok;
    bool owned_ = false;
    std::string_view content_type_;
    std::string_view borrowed_body_;
    std::string owned_body_;
    detail::inline_buffer<192> headers_;
    // Rare, so behind one pointer: a response is moved and destroyed several
    // times per request, and each member moved costs.
    detail::extras_box extras_;
};

}  // namespace covet::http
