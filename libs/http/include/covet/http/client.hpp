#pragma once
// covet::http::client: a coroutine HTTP/1.1 client for tests, tools and apps.
// Keep-alive connections are pooled per scheme://host:port and reused; an
// idempotent request that finds a pooled connection closed by the server is
// retried once on a fresh one. Responses may be Content-Length, chunked or
// close-delimited; https:// goes through covet::net TLS (verified by default).
//
// A client is used from one thread and one executor (the coroutines that
// call it), like everything per-connection in covet: its pooled sockets
// belong to that executor's io_context, so destroy the client (or call
// close_idle()) before that io_context goes away.

#include <covet/base/result.hpp>
#include <covet/http/method.hpp>
#include <covet/http/status.hpp>
#include <covet/net/task.hpp>
#include <covet/net/tls.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::http {

struct client_options {
    std::chrono::milliseconds connect_timeout{10'000};
    /// Limit for each read and write while a request is in flight.
    std::chrono::milliseconds io_timeout{30'000};
    std::size_t max_response_head = 64 * 1024;
    std::size_t max_response_body = 64 * 1024 * 1024;
    /// Idle keep-alive connections kept per scheme://host:port.
    std::size_t max_idle_per_origin = 8;
    /// TLS configuration for https://; by default the system trust store.
    std::optional<net::tls_context> tls{};
    std::string user_agent = "covet";
};

struct client_request {
    http::method method = http::method::get;
    /// Method token for method::other.
    std::string method_name{};
    /// http://host[:port]/path?query or https://...
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers{};
    std::string body{};
};

struct client_response {
    int status_code = 0;
    std::string reason;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    http::status status() const noexcept { return static_cast<http::status>(status_code); }
    /// First value of `name` (case-insensitive); "" if absent.
    std::string_view header(std::string_view name) const noexcept;
};

/// Errors of the client besides network errors (covet.http.client category).
enum class client_error : std::uint8_t {
    bad_url = 1,         ///< not http(s)://host[:port][/...]
    bad_header,          ///< a request header with CR/LF/NUL or a bad name
    malformed_response,  ///< the response does not parse
    response_too_large,  ///< head or body over the configured limits
    truncated_response,  ///< the connection closed before the response ended
};
const std::error_category& client_error_category() noexcept;
inline std::error_code make_error_code(client_error e) noexcept
{
    return {static_cast<int>(e), client_error_category()};
}

class client {
public:
    explicit client(client_options options = {});
    ~client();
    client(client&&) noexcept;
    client& operator=(client&&) noexcept;

    task<result<client_response>> send(client_request request);
    task<result<client_response>> get(std::string url);
    task<result<client_response>> post(std::string url, std::string body,
                                       std::string content_type = "application/octet-stream");

    /// Closes every pooled idle connection.
    void close_idle() noexcept;
    /// Idle pooled connections (all origins).
    std::size_t idle_connections() const noexcept;
    /// Connections opened so far.
    std::uint64_t connections_opened() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

}  // namespace covet::http

template <>
struct std::is_error_code_enum<covet::http::client_error> : std::true_type {
};
