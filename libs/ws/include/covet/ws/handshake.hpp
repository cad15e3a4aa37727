#pragma once
// The opening handshake (RFC 6455 section 4), server side on top of
// covet::http: a handler answers an upgrade request with ws::accept(), which
// validates it and returns either the 101 response (the server then hands the
// connection to `on_open`) or the precise error response.
//
//   http::handler h = [](http::request& req) -> task<http::response> {
//       co_return ws::accept(req, {}, [](ws::connection conn) -> task<void> {
//           for (;;) {
//               auto msg = co_await conn.read();
//               if (!msg) break;
//               co_await conn.send(msg->type, msg->data);
//           }
//       });
//   };

#include <covet/http/request.hpp>
#include <covet/http/response.hpp>
#include <covet/net/task.hpp>
#include <covet/ws/connection.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace covet::ws {

struct accept_options {
    /// Subprotocols this endpoint speaks, most preferred first; the first one
    /// the client offers is chosen. Empty: none is chosen.
    std::vector<std::string> subprotocols{};
    /// Refuses a handshake with 403 when it returns false; gets the Origin
    /// header ("" when absent, as from non-browser clients). Unset: any origin.
    std::function<bool(std::string_view origin)> check_origin{};
    connection_options connection{};
    deflate_options deflate{};
};

/// Runs the WebSocket once the 101 response is out. Captures must be owned.
using open_handler = std::function<task<void>(connection)>;

/// The Sec-WebSocket-Accept value for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view key);

/// True when `req` asks for a WebSocket upgrade (Upgrade: websocket), valid or not.
bool is_upgrade_request(const http::request& req) noexcept;

/// Validates the upgrade request and answers it:
/// - not GET, not HTTP/1.1, no "Upgrade: websocket", no "Connection: upgrade",
///   or a Sec-WebSocket-Key that is not 16 base64-encoded bytes → 400;
/// - Sec-WebSocket-Version other than 13 → 426 with Sec-WebSocket-Version: 13;
/// - check_origin refusing → 403;
/// - otherwise 101 with Sec-WebSocket-Accept, the chosen subprotocol and
///   permessage-deflate parameters, and `on_open` runs with the connection.
http::response accept(const http::request& req, accept_options options, open_handler on_open);

namespace detail {
/// Whether a comma-separated header value lists `token` (case-insensitive).
bool header_has_token(std::string_view value, std::string_view token) noexcept;
/// All values of header `name`, joined with ", ".
std::string joined_header(const http::request& req, std::string_view name);
std::string base64_encode(std::string_view bytes);
/// Decoded size of a canonical base64 string, or nullopt if it is not one.
std::optional<std::size_t> base64_decoded_size(std::string_view text) noexcept;
}  // namespace detail

}  // namespace covet::ws
