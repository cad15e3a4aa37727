#include "h2_connection.hpp"

#include <covet/http/compression.hpp>
#include <covet/http/detail/serialize.hpp>
#include <covet/http/error.hpp>
#include <covet/http/server.hpp>
#include <covet/net/offload.hpp>
#include <covet/net/per_thread.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>

#include <sys/sendfile.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <list>
#include <optional>
#include <type_traits>

namespace covet::http {

namespace detail {

response response_for_exception(std::exception_ptr failure, const request& req)
{
    try {
        std::rethrow_exception(failure);
    } catch (const http::error& e) {
        return response::text(e.detail().empty() ? std::string(reason_phrase(e.status())) : e.detail(),
                              e.status());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet.http: handler for %.*s %.*s threw: %s\n",
                     static_cast<int>(req.method_name().size()), req.method_name().data(),
                     static_cast<int>(req.path().size()), req.path().data(), e.what());
    } catch (...) {
        std::fprintf(stderr, "covet.http: handler for %.*s %.*s threw a non-standard exception\n",
                     static_cast<int>(req.method_name().size()), req.method_name().data(),
                     static_cast<int>(req.path().size()), req.path().data());
    }
    return response::static_text("Internal Server Error\n", status::internal_server_error);
}

// Compresses `res` in place when the policy and the client allow it.
task<void> maybe_compress(const compression_options& policy, const request& req, response& res)
{
    if (!status_allows_body(res.status()) || res.file() != nullptr || res.body().size() < policy.min_size ||
        !res.header("content-encoding").empty()) {
        co_return;
    }
    const std::string_view type = res.header("content-type");
    if (!is_compressible(type)) {
        co_return;
    }
    // The representation now depends on Accept-Encoding, compressed or not.
    const std::string_view vary = res.header("vary");
    if (vary.empty()) {
        res.add_header("Vary", "Accept-Encoding");
    } else if (vary.find("Accept-Encoding") == std::string_view::npos && vary != "*") {
        res.set_header("Vary", std::string(vary) + ", Accept-Encoding");
    }
    const content_coding coding = negotiate_coding(req.header("accept-encoding"));
    if (coding == content_coding::identity) {
        co_return;
    }
    const std::string_view body = res.body();
    // Plain if/else: GCC 12 mishandles temporaries of a co_await inside ?:.
    result<std::string> packed = errc::invalid_argument;
    if (body.size() > policy.offload_above) {
        packed = co_await net::offload(
            [body, coding, level = policy.level] { return compress(body, coding, level); });
    } else {
        packed = compress(body, coding, policy.level);
    }
    if (packed && packed->size() < body.size()) {
        res.set_body(std::move(*packed));
        res.add_header("Content-Encoding", coding == content_coding::gzip ? "gzip" : "deflate");
    }
}

}  // namespace detail

namespace {

using detail::maybe_compress;
using detail::response_for_exception;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

constexpr std::size_t initial_buffer_size = 8 * 1024;
constexpr std::size_t min_read_space = 4 * 1024;
// Bodies up to this size are copied into the response batch; larger ones go
// out as their own buffer of a gather write.
constexpr std::size_t inline_body_limit = 64 * 1024;
// A response batch this large is written without waiting for the pipeline to drain.
constexpr std::size_t flush_threshold = 256 * 1024;
constexpr std::string_view continue_response = "HTTP/1.1 100 Continue\r\n\r\n";

// What a graceful stop needs of an HTTP/1.1 connection over any stream type.
struct connection_base {
    bool idle = false;
    bool closing = false;
    virtual void close_stream() noexcept = 0;

protected:
    ~connection_base() = default;
};

struct worker_state {
    std::list<connection_base*> connections;
    std::list<detail::h2_stoppable*> h2_connections;
    std::size_t open = 0;
    bool stopping = false;
};

}  // namespace

struct server::state {
    net::runtime* rt = nullptr;
    server_options options;
    http::handler handler;
    std::unique_ptr<net::per_thread<worker_state>> workers;
    std::vector<net::stop_registration> stop_hooks;
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> requests{0};
};

namespace {

// With streaming enabled the parser admits Content-Length up to the streamed
// limit; buffered requests are held to max_body by the connection.
parser_limits parse_limits(const server_options& options)
{
    parser_limits limits = options.limits;
    if (options.stream_body_if) {
        limits.max_body = std::max(limits.max_body, limits.max_streamed_body);
    }
    return limits;
}

// Room kept after the head while a body is streamed: chunk framing and
// trailers are decoded there, so reading never moves the head.
constexpr std::size_t stream_window = 32 * 1024;

// One HTTP/1.1 connection over a tcp_stream or a tls_stream (compiled for
// each, so that the plaintext path pays nothing for TLS).
template <class Stream>
struct connection final : connection_base {
    connection(server::state& s, Stream st)
        : srv(s),
          stream(std::move(st)),
          parser(parse_limits(s.options)),
          chunked(s.options.limits.max_body, s.options.limits.max_header_line),
          max_buffer(s.options.limits.max_head_bytes + 2 * s.options.limits.max_body + 64 * 1024)
    {
        remote = stream.remote_endpoint().value_or(asio::ip::tcp::endpoint{});
        in.reset(new char[initial_buffer_size]);
        capacity = initial_buffer_size;
        out.reserve(4 * 1024);
        worker = &srv.workers->local();
        registration = worker->connections.insert(worker->connections.end(), this);
        ++worker->open;
    }
    ~connection()
    {
        worker->connections.erase(registration);
        --worker->open;
    }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    void close_stream() noexcept override { stream.close(); }

    std::string_view current() const noexcept { return {in.get() + begin, end - begin}; }
    std::size_t buffered() const noexcept { return end - begin; }

    // Makes room for `want` more bytes after the data; false if that would
    // exceed the buffer limit. Sets `moved` when the data changed address.
    bool reserve(std::size_t want, bool& moved)
    {
        moved = false;
        if (capacity - end >= want) {
            return true;
        }
        if (begin > 0) {
            std::memmove(in.get(), in.get() + begin, end - begin);
            end -= begin;
            begin = 0;
            moved = true;
            if (capacity - end >= want) {
                return true;
            }
        }
        std::size_t bigger = std::max(capacity * 2, end + want);
        if (bigger > max_buffer) {
            if (end + want > max_buffer) {
                return false;
            }
            bigger = max_buffer;
        }
        std::unique_ptr<char[]> grown(new char[bigger]);
        std::memcpy(grown.get(), in.get(), end);
        in = std::move(grown);
        capacity = bigger;
        moved = true;
        return true;
    }

    task<result<std::size_t>> read(std::chrono::milliseconds timeout)
    {
        stream.set_timeouts(
            {.read = std::max(timeout, std::chrono::milliseconds(1)), .write = srv.options.write_timeout});
        auto n = co_await stream.read_some(asio::buffer(in.get() + end, capacity - end));
        if (n) {
            end += *n;
        }
        co_return n;
    }

    task<bool> flush()
    {
        if (out.empty()) {
            co_return true;
        }
        stream.set_timeouts({.read = {}, .write = srv.options.write_timeout});
        auto written = co_await stream.write(asio::buffer(out));
        out.clear();
        co_return written.has_value();
    }

    task<bool> flush_with(std::string_view body)
    {
        stream.set_timeouts({.read = {}, .write = srv.options.write_timeout});
        const std::array<asio::const_buffer, 2> parts{asio::buffer(out), asio::buffer(body)};
        auto written = co_await stream.write(std::span<const asio::const_buffer>(parts));
        out.clear();
        co_return written.has_value();
    }

    // Runs a streamed body's producer; each write is one chunk (HTTP/1.1) or
    // raw bytes (HTTP/1.0, where the close ends the body).
    struct chunk_writer final : body_writer {
        chunk_writer(connection& c, bool chunked) : conn(c), chunked_encoding(chunked) {}
        task<bool> write(std::string_view data) override
        {
            if (failed) {
                co_return false;
            }
            if (data.empty()) {
                co_return true;  // an empty chunk would end the body
            }
            conn.stream.set_timeouts({.read = {}, .write = conn.srv.options.write_timeout});
            result<std::size_t> written = std::size_t{0};
            if (chunked_encoding) {
                char size_line[24];
                const int n = std::snprintf(size_line, sizeof(size_line), "%zx\r\n", data.size());
                const std::array<asio::const_buffer, 3> parts{
                    asio::buffer(size_line, static_cast<std::size_t>(n)), asio::buffer(data),
                    asio::buffer("\r\n", 2)};
                written = co_await conn.stream.write(std::span<const asio::const_buffer>(parts));
            } else {
                written = co_await conn.stream.write(asio::buffer(data));
            }
            failed = !written.has_value();
            co_return !failed;
        }
        connection& conn;
        bool chunked_encoding;
        bool failed = false;
    };

    // The end of a chunked body: the last chunk and the trailer section
    // (the response's trailers, then those the producer added).
    void append_last_chunk(std::string_view trailers, std::string_view more_trailers = {})
    {
        out.append("0\r\n");
        out.append(trailers);
        out.append(more_trailers);
        out.append("\r\n");
    }

    task<bool> send_stream(const stream_producer& producer, bool use_chunks, std::string_view trailers)
    {
        chunk_writer writer(*this, use_chunks);
        std::exception_ptr failure;
        try {
            co_await producer(writer);
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            // The head is gone already: the only honest signal is an unfinished body.
            try {
                std::rethrow_exception(failure);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "covet.http: stream producer threw: %s\n", e.what());
            } catch (...) {
                std::fprintf(stderr, "covet.http: stream producer threw\n");
            }
            co_return false;
        }
        if (writer.failed) {
            co_return false;
        }
        if (use_chunks) {
            append_last_chunk(trailers, writer.trailer_lines());
            co_return co_await flush();
        }
        co_return true;
    }

    // sendfile(2) from the page cache straight to the socket; waits for
    // writability when the socket buffer is full.
    task<bool> send_file(const detail::file_body& file)
    {
        if constexpr (!std::is_same_v<Stream, net::tcp_stream>) {
            co_return co_await send_file_copied(file);
        } else {
            co_return co_await send_file_zero_copy(file);
        }
    }

    // TLS encrypts in user space: read the file in pieces and write them.
    task<bool> send_file_copied(const detail::file_body& file)
    {
        std::unique_ptr<char[]> piece(new char[64 * 1024]);
        std::uint64_t offset = file.offset;
        std::uint64_t remaining = file.length;
        stream.set_timeouts({.read = {}, .write = srv.options.write_timeout});
        while (remaining > 0) {
            const ssize_t n = ::pread(file.fd, piece.get(), std::min<std::uint64_t>(remaining, 64 * 1024),
                                      static_cast<off_t>(offset));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                co_return false;  // the file shrank or failed under us
            }
            const auto written =
                co_await stream.write(asio::buffer(piece.get(), static_cast<std::size_t>(n)));
            if (!written) {
                co_return false;
            }
            offset += static_cast<std::uint64_t>(n);
            remaining -= static_cast<std::uint64_t>(n);
        }
        co_return true;
    }

    task<bool> send_file_zero_copy(const detail::file_body& file)
    {
        co_return co_await detail::send_file_range(stream.socket(), file.fd, file.offset, file.length,
                                                   clock::now() + srv.options.write_timeout);
    }

    // Half-closes and drains briefly, so that the client reads our last
    // response instead of a reset caused by its unread bytes (RFC 9112 9.6).
    task<void> lingering_close()
    {
        std::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        std::array<char, 4096> sink;
        stream.set_timeouts({.read = 500ms, .write = {}});
        for (std::size_t drained = 0; drained < 256 * 1024;) {
            auto n = co_await stream.read_some(asio::buffer(sink));
            if (!n) {
                break;
            }
            drained += *n;
        }
        stream.close();
    }

    task<void> send_error(http::status code, std::string_view message)
    {
        response r = response::text(std::string(message) + "\n", code);
        detail::serialize_head(
            r, out, {.keep_alive = false, .version_minor = 1, .server_name = srv.options.server_name});
        out.append(r.body());
        if (co_await flush()) {
            co_await lingering_close();
        }
    }

    // Reads more of a buffered body (room for `want` bytes first). On false
    // the connection is finished: the limit or timeout was answered, or the
    // peer is gone.
    task<bool> read_body_bytes(std::size_t want)
    {
        bool moved = false;
        if (!reserve(want, moved)) {
            co_await send_error(status::content_too_large, "request content too large");
            co_return false;
        }
        if (moved) {
            reparse_head();
        }
        auto n = co_await read(srv.options.body_timeout);
        if (!n) {
            if (n.error() == errc::timed_out) {
                co_await send_error(status::request_timeout, "request content not received in time");
            }
            co_return false;
        }
        co_return true;
    }

    // Parses the head again after the buffer moved (its views moved with it).
    void reparse_head()
    {
        parser.reset();
        (void)parser.parse(current());
    }

    // The body of one request, read as the handler asks for it.
    struct streamed_body final : detail::body_source {
        streamed_body(connection& c, const request_head& h)
            : conn(c),
              framing(h.framing),
              remaining(h.content_length),
              head_size(h.head_size),
              pos(h.head_size),
              expect_continue(h.expect_continue)
        {
            if (framing == body_framing::chunked) {
                conn.chunked.reset();
                conn.chunked.set_max_body(conn.srv.options.limits.max_streamed_body);
            }
        }

        char* region() const noexcept { return conn.in.get() + conn.begin + head_size; }

        task<result<std::size_t>> read(asio::mutable_buffer into) override
        {
            if (failure) {
                co_return failure;
            }
            if (!started) {
                started = true;
                // RFC 9110 10.1.1: 100 Continue only once the handler wants the body.
                if (expect_continue && conn.buffered() == head_size) {
                    conn.out.append(continue_response);
                    if (!co_await conn.flush()) {
                        failure = errc::end_of_stream;
                        co_return failure;
                    }
                }
            }
            if (into.size() == 0) {
                co_return std::size_t{0};
            }
            conn.stream.set_timeouts(
                {.read = conn.srv.options.body_timeout, .write = conn.srv.options.write_timeout});
            result<std::size_t> got = std::size_t{0};
            if (framing == body_framing::content_length) {
                got = co_await read_length(into);
            } else {
                got = co_await read_chunked(into);
            }
            co_return got;
        }

        task<result<std::size_t>> read_length(asio::mutable_buffer into)
        {
            if (remaining == 0) {
                co_return std::size_t{0};
            }
            const std::size_t available = conn.buffered() - pos;
            if (available > 0) {
                const std::uint64_t limit = std::min<std::uint64_t>(remaining, into.size());
                const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(available, limit));
                std::memcpy(into.data(), conn.in.get() + conn.begin + pos, n);
                pos += n;
                remaining -= n;
                co_return n;
            }
            // Nothing buffered: read from the socket straight into the caller's buffer.
            const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(into.size(), remaining));
            const asio::mutable_buffer target(into.data(), want);
            auto n = co_await conn.stream.read_some(target);
            if (!n) {
                failure = n.error();
                co_return failure;
            }
            remaining -= *n;
            co_return *n;
        }

        task<result<std::size_t>> read_chunked(asio::mutable_buffer into)
        {
            for (;;) {
                const std::size_t decoded = conn.chunked.decoded_size();
                if (returned < decoded) {
                    const std::size_t n = std::min(into.size(), decoded - returned);
                    std::memcpy(into.data(), region() + returned, n);
                    returned += n;
                    co_return n;
                }
                if (complete) {
                    co_return std::size_t{0};
                }
                const auto st = conn.chunked.decode(region(), conn.buffered() - head_size);
                if (st == parse_status::complete) {
                    complete = true;
                    continue;
                }
                if (st == parse_status::error) {
                    failure = make_error_code(conn.chunked.error());
                    co_return failure;
                }
                if (conn.chunked.decoded_size() > returned) {
                    continue;
                }
                // The caller has every decoded byte: drop them and move the
                // undecoded rest down, so the window never fills up.
                if (const std::size_t shift = conn.chunked.discard_decoded(); shift > 0) {
                    const std::size_t rest = conn.buffered() - head_size - shift;
                    std::memmove(region(), region() + shift, rest);
                    conn.end -= shift;
                    returned = 0;
                }
                if (conn.capacity - conn.end < 512) {
                    failure = errc::limit_exceeded;  // a trailer section larger than the window
                    co_return failure;
                }
                auto n = co_await conn.stream.read_some(
                    asio::buffer(conn.in.get() + conn.end, conn.capacity - conn.end));
                if (!n) {
                    failure = n.error();
                    co_return failure;
                }
                conn.end += *n;
            }
        }

        // After the handler: the bytes of this request in the buffer, and
        // whether the body was consumed (if not, the connection must close).
        std::size_t finish(bool& body_done)
        {
            if (framing == body_framing::content_length) {
                if (!failure && remaining > 0 && conn.buffered() - pos >= remaining) {
                    pos += static_cast<std::size_t>(remaining);  // unread but already here: skip it
                    remaining = 0;
                }
                body_done = !failure && remaining == 0;
                return pos;
            }
            if (!failure && !complete &&
                conn.chunked.decode(region(), conn.buffered() - head_size) == parse_status::complete) {
                complete = true;
            }
            body_done = !failure && complete;
            return head_size + conn.chunked.raw_pos();
        }

        connection& conn;
        body_framing framing;
        std::uint64_t remaining;
        std::size_t head_size;
        std::size_t pos;
        std::size_t returned = 0;
        bool expect_continue;
        bool started = false;
        bool complete = false;
        std::error_code failure;
    };

    task<void> run();

    // Sends the 101 (after any earlier pipelined responses) and starts the new
    // protocol as its own tracked task, so that this connection's buffers and
    // frames are freed while the upgraded connection lives on. The handler's
    // task is spawned as it is, with no wrapper frame around it (an idle
    // upgraded connection holds only what the new protocol needs): the runtime
    // keeps the handler alive until the task ends and reports an exception
    // escaping it.
    task<void> hand_over(response& switching, std::size_t consumed)
    {
        detail::serialize_head(
            switching, out, {.keep_alive = true, .version_minor = 1, .server_name = srv.options.server_name});
        if (!co_await flush()) {
            co_return;
        }
        stream.set_timeouts({});
        upgraded_connection upgraded{net::any_stream(std::move(stream)),
                                     std::string(current().substr(consumed)), remote};
        auto owner = std::make_shared<const upgrade_handler>(switching.take_upgrade());
        std::optional<task<void>> started;
        try {
            started.emplace((*owner)(std::move(upgraded)));
        } catch (const std::exception& e) {
            std::fprintf(stderr, "covet.http: upgrade handler threw: %s\n", e.what());
        } catch (...) {
            std::fprintf(stderr, "covet.http: upgrade handler threw a non-standard exception\n");
        }
        if (started) {
            net::spawn(std::move(*started), std::move(owner));
        }
    }

    server::state& srv;
    Stream stream;
    asio::ip::tcp::endpoint remote;
    request_parser parser;
    chunked_decoder chunked;
    std::unique_ptr<char[]> in;
    std::size_t capacity = 0;
    std::size_t begin = 0;
    std::size_t end = 0;
    std::size_t max_buffer;
    std::string out;
    bool first_request = true;
    // run() returned because the client speaks HTTP/2 (the preface is in the
    // buffer, or follows the h2c upgrade request).
    bool to_h2 = false;
    std::unique_ptr<detail::h2_upgrade_request> h2_upgrade;
    worker_state* worker;
    std::list<connection_base*>::iterator registration;
};

template <class Stream>
task<void> connection<Stream>::run()
{
    const server_options& options = srv.options;
    for (;;) {
        // 1. A complete head.
        parse_status st = parser.parse(current());
        clock::time_point head_deadline{};
        while (st == parse_status::need_more) {
            if (!co_await flush()) {
                co_return;
            }
            const bool between_requests = buffered() == 0;
            if (between_requests && closing) {
                co_return;  // graceful stop: an idle keep-alive connection just closes
            }
            if (!between_requests && head_deadline == clock::time_point{}) {
                head_deadline = clock::now() + options.header_timeout;
            }
            bool moved = false;
            if (!reserve(min_read_space, moved)) {
                co_await send_error(status::request_header_fields_too_large, "request head too large");
                co_return;
            }
            const auto timeout =
                between_requests
                    ? options.keep_alive_timeout
                    : std::chrono::duration_cast<std::chrono::milliseconds>(head_deadline - clock::now());
            idle = between_requests;
            auto n = co_await read(timeout);
            idle = false;
            if (!n) {
                if (!between_requests && n.error() == errc::timed_out) {
                    co_await send_error(status::request_timeout, "request head not received in time");
                }
                co_return;
            }
            if (between_requests) {
                head_deadline = clock::now() + options.header_timeout;
            }
            st = parser.parse(current());
        }
        if (st == parse_status::error) {
            // HTTP/2 with prior knowledge: the preface instead of a first request.
            if (first_request && srv.options.http2.enabled &&
                current().substr(0, 16) == detail::h2_preface.substr(0, 16)) {
                to_h2 = true;
                co_return;
            }
            const parse_error e = parser.error();
            co_await send_error(status_for(e), make_error_code(e).message());
            co_return;
        }

        // 2. The body, if any: streamed to the handler, or buffered here.
        std::string_view body;
        std::span<const header> trailers;
        std::size_t consumed = parser.head().head_size;
        const body_framing framing = parser.head().framing;
        std::optional<streamed_body> streamed;
        if (framing != body_framing::none && options.stream_body_if) {
            request probe(parser.head(), {}, {}, remote);
            if (options.stream_body_if(probe)) {
                bool moved = false;
                if (!reserve(stream_window, moved)) {
                    co_await send_error(status::request_header_fields_too_large, "request head too large");
                    co_return;
                }
                if (moved) {
                    reparse_head();
                }
                streamed.emplace(*this, parser.head());
            }
        }
        if (!streamed && framing == body_framing::content_length &&
            parser.head().content_length > options.limits.max_body) {
            co_await send_error(status::content_too_large, "request content too large");
            co_return;
        }
        if (!streamed && framing == body_framing::chunked) {
            chunked.set_max_body(options.limits.max_body);
        }
        if (framing != body_framing::none && !streamed) {
            const std::size_t head_size = parser.head().head_size;
            if (parser.head().expect_continue && buffered() == head_size) {
                out.append(continue_response);
                if (!co_await flush()) {
                    co_return;
                }
            }
            if (framing == body_framing::content_length) {
                const std::size_t need = head_size + static_cast<std::size_t>(parser.head().content_length);
                while (buffered() < need) {
                    if (!co_await read_body_bytes(std::max(need - buffered(), min_read_space))) {
                        co_return;
                    }
                }
                body = current().substr(head_size, need - head_size);
                consumed = need;
            } else {
                chunked.reset();
                for (;;) {
                    const auto cst = chunked.decode(in.get() + begin + head_size, buffered() - head_size);
                    if (cst == parse_status::complete) {
                        break;
                    }
                    if (cst == parse_status::error) {
                        const parse_error e = chunked.error();
                        co_await send_error(status_for(e), make_error_code(e).message());
                        co_return;
                    }
                    if (!co_await read_body_bytes(min_read_space)) {
                        co_return;
                    }
                }
                body = std::string_view(in.get() + begin + head_size, chunked.decoded_size());
                trailers = chunked.trailers();
                consumed = head_size + chunked.raw_pos();
            }
        }

        // An h2c upgrade (RFC 7540 3.2, cleartext only): 101, then this
        // request is answered as stream 1 of the HTTP/2 connection.
        if constexpr (std::is_same_v<Stream, net::tcp_stream>) {
            if (!streamed && options.http2.enabled && !parser.head().find(known_header::upgrade).empty()) {
                h2_upgrade = detail::h2c_upgrade_request(parser.head(), body);
                if (h2_upgrade) {
                    out.append(
                        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n");
                    if (!co_await flush()) {
                        co_return;
                    }
                    begin += consumed;
                    to_h2 = true;
                    co_return;
                }
            }
        }

        // 3. The handler.
        const request_head& head = parser.head();
        request req(head, body, trailers, remote);
        if (streamed) {
            req.attach_body_source(&*streamed);
        }
        std::optional<response> res;
        std::exception_ptr failure;
        try {
            if (!options.handle_now || !options.handle_now(req, res)) {
                res.emplace(co_await srv.handler(req));
            }
        } catch (...) {
            failure = std::current_exception();
        }
        if (failure) {
            res.emplace(response_for_exception(failure, req));
        }
        srv.requests.fetch_add(1, std::memory_order_relaxed);
        if (options.compression.enabled) {
            co_await maybe_compress(options.compression, req, *res);
        }

        bool body_done = true;
        if (streamed) {
            consumed = streamed->finish(body_done);
        }

        // An accepted upgrade: the 101 goes out, then the new protocol owns the stream.
        if (const upgrade_handler* upgrade = res->upgrade();
            upgrade != nullptr && res->status() == status::switching_protocols) {
            if (head.version_minor == 1 && body_done) {
                co_await hand_over(*res, consumed);
                co_return;
            }
            // RFC 9110 7.8: no upgrade on HTTP/1.0; nor with an unread body in the way.
            res.emplace(response::static_text("Upgrade requires HTTP/1.1\n", status::bad_request));
        }

        // 4. The response, batched with those to earlier pipelined requests.
        // A streamed body the handler left unread ends the connection.
        const bool keep_alive = head.keep_alive && !closing && body_done;
        detail::serialize_head(*res, out,
                               {.keep_alive = keep_alive,
                                .version_minor = head.version_minor,
                                .server_name = options.server_name});
        if (head.method != method::head && status_allows_body(res->status())) {
            const std::string_view content = res->body();
            // A fixed body with trailers goes out as one chunk and the trailer section.
            const bool chunk_fixed = detail::chunked_for_trailers(*res, head.version_minor);
            if (chunk_fixed && res->content_length() > 0) {
                char size_line[24];
                const int n = std::snprintf(size_line, sizeof(size_line), "%llx\r\n",
                                            static_cast<unsigned long long>(res->content_length()));
                out.append(size_line, static_cast<std::size_t>(n));
            }
            if (const stream_producer* producer = res->streamed()) {
                if (!co_await flush() ||
                    !co_await send_stream(*producer, head.version_minor == 1, res->trailer_lines())) {
                    co_return;
                }
                if (head.version_minor == 0) {
                    co_await lingering_close();
                    co_return;
                }
            } else if (const detail::file_body* file = res->file()) {
                if (!co_await flush() || !co_await send_file(*file)) {
                    co_return;
                }
            } else if (content.size() <= inline_body_limit) {
                out.append(content);
            } else if (!co_await flush_with(content)) {
                co_return;
            }
            if (chunk_fixed) {
                if (res->content_length() > 0) {
                    out.append("\r\n");
                }
                append_last_chunk(res->trailer_lines());
            }
        }
        begin += consumed;
        if (begin == end) {
            begin = end = 0;
        }
        parser.reset();
        first_request = false;
        if (!keep_alive) {
            if (co_await flush()) {
                co_await lingering_close();
            }
            co_return;
        }
        if (out.size() >= flush_threshold && !co_await flush()) {
            co_return;
        }
    }
}

template <class Stream>
task<void> serve_http1(std::shared_ptr<server::state> s, worker_state& worker, Stream stream);

task<void> serve(std::shared_ptr<server::state> s, net::tcp_stream stream)
{
    s->accepted.fetch_add(1, std::memory_order_relaxed);
    worker_state& worker = s->workers->local();
    if (worker.open + worker.h2_connections.size() >= s->options.max_connections_per_worker ||
        worker.stopping) {
        static constexpr std::string_view busy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
            "Content-Length: 20\r\nConnection: close\r\nRetry-After: 1\r\n\r\nServer at capacity.\n";
        stream.set_timeouts({.read = 500ms, .write = 1s});
        (void)co_await stream.write(asio::buffer(busy));
        std::error_code ignored;
        stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
        co_return;
    }
    if (s->options.tls) {
        net::tls_stream tls(std::move(stream), *s->options.tls);
        tls.set_timeouts({.read = s->options.header_timeout, .write = s->options.write_timeout});
        if (!co_await tls.handshake_server()) {
            co_return;
        }
        if (s->options.http2.enabled && tls.alpn_protocol() == "h2") {
            const auto remote = tls.remote_endpoint().value_or(asio::ip::tcp::endpoint{});
            co_await detail::serve_h2({&s->options, &s->handler, &s->requests}, worker.h2_connections,
                                      worker.stopping, net::any_stream(std::move(tls)), std::string(),
                                      remote);
        } else {
            co_await serve_http1(s, worker, std::move(tls));
        }
        co_return;
    }
    co_await serve_http1(s, worker, std::move(stream));
}

template <class Stream>
task<void> serve_http1(std::shared_ptr<server::state> s, worker_state& worker, Stream stream)
{
    std::optional<net::any_stream> h2_stream;
    std::string h2_received;
    asio::ip::tcp::endpoint remote;
    std::unique_ptr<detail::h2_upgrade_request> upgrade;
    {
        connection<Stream> c(*s, std::move(stream));
        co_await c.run();
        if (c.to_h2) {
            h2_received.assign(c.current());
            remote = c.remote;
            h2_stream.emplace(std::move(c.stream));
            upgrade = std::move(c.h2_upgrade);
        }
    }
    if (h2_stream) {
        co_await detail::serve_h2(
            {&s->options, &s->handler, &s->requests, std::is_same_v<Stream, net::tcp_stream>},
            worker.h2_connections, worker.stopping, std::move(*h2_stream), std::move(h2_received), remote,
            std::move(upgrade));
    }
}

}  // namespace

result<server> server::start(net::runtime& rt, server_options options, http::handler h)
{
    if (!h) {
        return errc::invalid_argument;
    }
    auto s = std::make_shared<state>();
    s->rt = &rt;
    s->options = std::move(options);
    s->handler = std::move(h);
    s->workers =
        std::make_unique<net::per_thread<worker_state>>(rt, [](std::size_t) { return worker_state{}; });
    auto l = net::listener::start(rt, s->options.listen, [s](net::tcp_stream stream) -> task<void> {
        co_await serve(s, std::move(stream));
    });
    if (!l) {
        return l.error();
    }
    for (std::size_t i = 0; i < rt.size(); ++i) {
        worker_state* w = &(*s->workers)[i];
        // On stop: idle keep-alive connections close now, busy ones after
        // their current response (which then says Connection: close).
        s->stop_hooks.push_back(rt.on_stop(i, [w] {
            w->stopping = true;
            for (connection_base* c : w->connections) {
                c->closing = true;
                if (c->idle) {
                    c->close_stream();
                }
            }
            // HTTP/2: GOAWAY; open streams finish, then the connection closes.
            for (detail::h2_stoppable* c : w->h2_connections) {
                c->begin_shutdown();
            }
        }));
    }
    return server(std::move(s), std::move(*l));
}

std::uint16_t server::port() const noexcept
{
    return listener_.port();
}

void server::stop()
{
    listener_.stop();
}

std::uint64_t server::connections_accepted() const noexcept
{
    return state_->accepted.load(std::memory_order_relaxed);
}

std::uint64_t server::requests_handled() const noexcept
{
    return state_->requests.load(std::memory_order_relaxed);
}

}  // namespace covet::http

namespace covet::http::detail {

task<bool> send_file_range(asio::ip::tcp::socket& socket, int fd, std::uint64_t offset, std::uint64_t count,
                           std::chrono::steady_clock::time_point deadline)
{
    auto position = static_cast<off_t>(offset);
    if (!socket.native_non_blocking()) {
        std::error_code ignored;
        socket.native_non_blocking(true, ignored);
    }
    while (count > 0) {
        const ssize_t sent = ::sendfile(socket.native_handle(), fd, &position,
                                        static_cast<std::size_t>(std::min<std::uint64_t>(count, 1 << 20)));
        if (sent > 0) {
            count -= static_cast<std::uint64_t>(sent);
            continue;
        }
        if (sent == 0) {
            co_return false;  // the file shrank under us
        }
        if (errno == EINTR) {
            continue;
        }
        if ((errno != EAGAIN && errno != EWOULDBLOCK) || std::chrono::steady_clock::now() >= deadline) {
            co_return false;
        }
        auto [ec] = co_await socket.async_wait(asio::socket_base::wait_write, net::nothrow);
        if (ec) {
            co_return false;
        }
    }
    co_return true;
}

}  // namespace covet::http::detail
