#include <covet/http/header.hpp>
#include <covet/ws/deflate.hpp>
#include <covet/ws/handshake.hpp>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <cctype>
#include <memory>

namespace covet::ws {

namespace {

constexpr std::string_view websocket_guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

// What the connection needs once the 101 is out, shared by the response's
// handler and the coroutine (one allocation per accepted connection).
struct accepted {
    connection_options connection;
    deflate_options deflate;
    std::string protocol;
    std::optional<deflate_params> params;
};

// The connection the handshake agreed on.
connection open_connection(http::upgraded_connection upgraded, accepted& state)
{
    std::shared_ptr<detail::deflate_codec> codec;
    if (state.params) {
        codec = std::make_shared<detail::deflate_codec>(*state.params, true, state.deflate);
    }
    return connection(std::move(upgraded.stream), std::move(upgraded.early_data), role::server,
                      state.connection, std::move(state.protocol), std::move(codec));
}

http::response refuse(http::status status, std::string_view why)
{
    return http::response::text(std::string(why), status);
}

}  // namespace

namespace detail {

bool header_has_token(std::string_view value, std::string_view token) noexcept
{
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        if (http::iequals(http::trim_ows(value.substr(0, comma)), token)) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        value.remove_prefix(comma + 1);
    }
    return false;
}

std::string joined_header(const http::request& req, std::string_view name)
{
    std::string out;
    for (const auto& h : req.headers()) {
        if (http::iequals(h.name, name)) {
            if (!out.empty()) {
                out.append(", ");
            }
            out.append(h.value);
        }
    }
    return out;
}

std::string base64_encode(std::string_view bytes)
{
    std::string out(4 * ((bytes.size() + 2) / 3), '\0');
    const int n =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::optional<std::size_t> base64_decoded_size(std::string_view text) noexcept
{
    if (text.empty() || text.size() % 4 != 0) {
        return std::nullopt;
    }
    std::size_t padding = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool alphabet = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '+' || c == '/';
        if (c == '=') {
            if (i + 2 < text.size()) {
                return std::nullopt;
            }
            ++padding;
        } else if (!alphabet || padding > 0) {
            return std::nullopt;
        }
    }
    return text.size() / 4 * 3 - padding;
}

}  // namespace detail

std::string accept_key(std::string_view key)
{
    std::string input;
    input.reserve(key.size() + websocket_guid.size());
    input.append(key);
    input.append(websocket_guid);
    std::array<unsigned char, SHA_DIGEST_LENGTH> digest{};
    SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest.data());
    return detail::base64_encode(
        std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

bool is_upgrade_request(const http::request& req) noexcept
{
    return detail::header_has_token(req.header("Upgrade"), "websocket");
}

http::response accept(const http::request& req, accept_options options, open_handler on_open)
{
    if (req.method() != http::method::get) {
        return refuse(http::status::bad_request, "WebSocket handshake: the method must be GET");
    }
    if (req.version_minor() < 1) {
        return refuse(http::status::bad_request, "WebSocket handshake: HTTP/1.1 required");
    }
    if (!is_upgrade_request(req)) {
        return refuse(http::status::bad_request, "WebSocket handshake: Upgrade: websocket missing");
    }
    if (!detail::header_has_token(detail::joined_header(req, "Connection"), "upgrade")) {
        return refuse(http::status::bad_request, "WebSocket handshake: Connection: Upgrade missing");
    }
    const std::string_view version = http::trim_ows(req.header("Sec-WebSocket-Version"));
    if (version != "13") {
        http::response r = refuse(http::status::upgrade_required, "WebSocket handshake: version 13 required");
        r.add_header("Sec-WebSocket-Version", "13");
        return r;
    }
    const std::string_view key = http::trim_ows(req.header("Sec-WebSocket-Key"));
    if (detail::base64_decoded_size(key) != std::optional<std::size_t>(16)) {
        return refuse(http::status::bad_request, "WebSocket handshake: bad Sec-WebSocket-Key");
    }
    if (options.check_origin && !options.check_origin(req.header("Origin"))) {
        return refuse(http::status::forbidden, "WebSocket handshake: origin not allowed");
    }

    std::string protocol;
    if (!options.subprotocols.empty()) {
        const std::string offered = detail::joined_header(req, "Sec-WebSocket-Protocol");
        for (const auto& candidate : options.subprotocols) {
            if (detail::header_has_token(offered, candidate)) {
                protocol = candidate;
                break;
            }
        }
    }
    std::optional<deflate_params> deflate;
    if (options.deflate.enabled) {
        deflate = negotiate_deflate(detail::joined_header(req, "Sec-WebSocket-Extensions"), options.deflate);
    }

    auto state = std::make_shared<accepted>();
    state->connection = options.connection;
    state->deflate = options.deflate;
    state->protocol = protocol;
    state->params = deflate;
    // Called once by the server, which keeps this handler (and so on_open and
    // its captures) alive until on_open's task has finished. The task is
    // on_open's own: no frame of ours stays under it, and the handshake state
    // is freed once the connection is built.
    http::response r = http::response::switching_protocols(
        "websocket",
        [state = std::move(state),
         on_open = std::move(on_open)](http::upgraded_connection upgraded) mutable -> task<void> {
            connection conn = open_connection(std::move(upgraded), *state);
            state.reset();
            return on_open(std::move(conn));
        });
    r.add_header("Sec-WebSocket-Accept", accept_key(key));
    if (!protocol.empty()) {
        r.add_header("Sec-WebSocket-Protocol", protocol);
    }
    if (deflate) {
        r.add_header("Sec-WebSocket-Extensions", deflate_response(*deflate));
    }
    return r;
}

}  // namespace covet::ws
