#pragma once
// covet::http::request: what a handler receives.
//
// Lifetime: every string_view returned here (method, target, path, query,
// header names and values, body, trailers) points into the connection's read
// buffer and is valid until the handler's task for this request completes.
// Copy what must live longer.

#include <covet/http/header.hpp>
#include <covet/http/method.hpp>
#include <covet/http/parser.hpp>
#include <covet/net/task.hpp>

#include <asio/ip/tcp.hpp>

#include <covet/base/result.hpp>

#include <asio/buffer.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace covet::http {

namespace detail {
/// Supplies a streamed request body (implemented by the server's connection).
class body_source {
public:
    virtual ~body_source() = default;
    virtual task<result<std::size_t>> read(asio::mutable_buffer buffer) = 0;
};
}  // namespace detail

class request {
public:
    request(const request_head& head, std::string_view body, std::span<const http::header> trailers,
            asio::ip::tcp::endpoint remote) noexcept
        : head_(&head), body_(body), trailers_(trailers), remote_(remote)
    {
    }

    http::method method() const noexcept { return head_->method; }
    /// The method token as received (useful for method::other).
    std::string_view method_name() const noexcept { return head_->method_name; }
    /// The request-target as received (origin, absolute, authority or asterisk form).
    std::string_view target() const noexcept { return head_->target; }
    /// The path of the target, still percent-encoded ("/a%20b"); for the
    /// absolute form the path after the authority ("/" if empty).
    std::string_view path() const noexcept;
    /// The query string after '?', still encoded; "" if none.
    std::string_view query_string() const noexcept;
    /// The first query parameter `name`, percent-decoded ('+' as space);
    /// nullopt if absent or malformed.
    std::optional<std::string> query(std::string_view name) const;

    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    int version_minor() const noexcept { return head_->version_minor; }
    bool keep_alive() const noexcept { return head_->keep_alive; }

    std::span<const http::header> headers() const noexcept { return head_->headers; }
    /// First value of header `name` (case-insensitive); "" when absent.
    std::string_view header(std::string_view name) const noexcept;
    bool has_header(std::string_view name) const noexcept;
    std::string_view host() const noexcept { return head_->find(known_header::host); }
    std::string_view content_type() const noexcept { return head_->find(known_header::content_type); }

    /// Value of cookie `name` from the Cookie header(s); nullopt if absent.
    std::optional<std::string_view> cookie(std::string_view name) const noexcept;

    /// The request content (decoded if it was chunked). Empty when the body is
    /// streamed (body_streamed()); use read_body() then.
    std::string_view body() const noexcept { return body_; }
    /// True when the server hands this body over as a stream
    /// (server_options::stream_body_if) instead of buffering it.
    bool body_streamed() const noexcept { return source_ != nullptr; }
    /// Reads the next part of the content into `buffer`; 0 at the end. Works
    /// for buffered bodies too, so a handler can always read this way. A
    /// streamed body is read from the socket as the handler asks (100 Continue
    /// is sent on the first read), under the body timeout.
    task<result<std::size_t>> read_body(asio::mutable_buffer buffer);
    /// Reads the whole content (at most `limit` bytes, else errc::limit_exceeded).
    task<result<std::string>> read_all_body(std::size_t limit);
    /// Used by the server to attach the stream.
    void attach_body_source(detail::body_source* source) noexcept { source_ = source; }
    /// Trailer fields of a chunked request.
    std::span<const http::header> trailers() const noexcept { return trailers_; }

    const asio::ip::tcp::endpoint& remote_endpoint() const noexcept { return remote_; }

private:
    const request_head* head_;
    std::string_view body_;
    std::span<const http::header> trailers_;
    asio::ip::tcp::endpoint remote_;
    detail::body_source* source_ = nullptr;
    std::size_t body_read_ = 0;
};

}  // namespace covet::http
