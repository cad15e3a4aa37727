#pragma once
// The WebSocket client: ws:// and wss:// URLs, the client side of the opening
// handshake (a random key, Sec-WebSocket-Accept checked, subprotocol and
// permessage-deflate negotiated), then a ws::connection in the client role
// (every frame masked).
//
//   auto conn = co_await ws::connect("ws://127.0.0.1:8080/chat/lobby");
//   if (!conn) { ... conn.error() ... }
//   co_await conn->send_text("hello");
//   auto reply = co_await conn->read();
//
// The connection belongs to the executor of the coroutine that connected.

#include <covet/base/result.hpp>
#include <covet/net/task.hpp>
#include <covet/net/tls.hpp>
#include <covet/ws/connection.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace covet::ws {

struct client_options {
    /// Offered in Sec-WebSocket-Protocol, in this order.
    std::vector<std::string> subprotocols{};
    /// Sent as the Origin header when not empty.
    std::string origin{};
    /// Extra request header fields.
    std::vector<std::pair<std::string, std::string>> headers{};
    connection_options connection{};
    /// permessage-deflate is offered when deflate.enabled.
    deflate_options deflate{};
    /// Limit for connecting plus the handshake.
    std::chrono::milliseconds handshake_timeout{10'000};
    /// TLS for wss://; by default the system trust store with peer verification.
    std::optional<net::tls_context> tls{};
    std::size_t max_response_head = 16 * 1024;
};

struct parsed_url {
    bool secure = false;
    std::string host;
    std::uint16_t port = 0;
    std::string target;  // path and query, at least "/"
};

/// Parses ws://host[:port]/path?query and wss://...; IPv6 hosts in brackets.
result<parsed_url> parse_url(std::string_view url);

/// Connects, runs the handshake and returns the open connection. Errors: the
/// network's, or error::handshake_failed (status not 101, wrong accept key,
/// unoffered subprotocol or extension), or covet::errc::invalid_argument for a bad URL.
task<result<connection>> connect(std::string url, client_options options);
/// connect() with default options. (Not a default argument: GCC 12 destroys a
/// defaulted class argument of a coroutine twice when the call is co_awaited.)
inline task<result<connection>> connect(std::string url)
{
    client_options defaults;
    return connect(std::move(url), std::move(defaults));
}

}  // namespace covet::ws
