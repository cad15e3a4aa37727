#include <covet/http/header.hpp>
#include <covet/ws/client.hpp>
#include <covet/ws/deflate.hpp>
#include <covet/ws/handshake.hpp>

#include <covet/base/error.hpp>
#include <covet/net/any_stream.hpp>
#include <covet/net/stream.hpp>

#include <openssl/rand.h>

#include <array>
#include <cctype>
#include <charconv>

namespace covet::ws {

namespace {

struct response_head {
    int status = 0;
    std::vector<std::pair<std::string_view, std::string_view>> headers;

    // All values of `name`, joined with ", ".
    std::string joined(std::string_view name) const
    {
        std::string out;
        for (const auto& [n, v] : headers) {
            if (http::iequals(n, name)) {
                if (!out.empty()) {
                    out.append(", ");
                }
                out.append(v);
            }
        }
        return out;
    }
    bool has(std::string_view name) const
    {
        for (const auto& h : headers) {
            if (http::iequals(h.first, name)) {
                return true;
            }
        }
        return false;
    }
};

bool parse_response_head(std::string_view head, response_head& out)
{
    const std::size_t line_end = head.find("\r\n");
    const std::string_view status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.substr(0, 9) != "HTTP/1.1 ") {
        return false;
    }
    const std::string_view code = status_line.substr(9, 3);
    if (std::from_chars(code.data(), code.data() + 3, out.status).ec != std::errc{}) {
        return false;
    }
    std::string_view rest = head.substr(line_end + 2);
    while (!rest.empty()) {
        const std::size_t end = rest.find("\r\n");
        const std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 2);
        if (line.empty()) {
            break;
        }
        const std::size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            return false;
        }
        out.headers.emplace_back(line.substr(0, colon), http::trim_ows(line.substr(colon + 1)));
    }
    return true;
}

task<result<net::any_stream>> open_stream(const parsed_url& url, const client_options& options)
{
    net::connect_options connect;
    connect.timeout = options.handshake_timeout;
    if (!url.secure) {
        auto tcp = co_await net::connect(url.host, url.port, connect);
        if (!tcp) {
            co_return tcp.error();
        }
        co_return net::any_stream(std::move(*tcp));
    }
    std::optional<net::tls_context> context = options.tls;
    if (!context) {
        auto made = net::tls_context::client();
        if (!made) {
            co_return made.error();
        }
        context.emplace(std::move(*made));
    }
    auto tls = co_await net::connect_tls(url.host, url.port, *context, connect);
    if (!tls) {
        co_return tls.error();
    }
    co_return net::any_stream(std::move(*tls));
}

}  // namespace

result<parsed_url> parse_url(std::string_view url)
{
    parsed_url out;
    if (url.substr(0, 5) == "ws://") {
        url.remove_prefix(5);
        out.port = 80;
    } else if (url.substr(0, 6) == "wss://") {
        url.remove_prefix(6);
        out.secure = true;
        out.port = 443;
    } else {
        return covet::errc::invalid_argument;
    }
    const std::size_t path_at = url.find_first_of("/?");
    std::string_view authority = url.substr(0, path_at);
    out.target = path_at == std::string_view::npos ? "/" : std::string(url.substr(path_at));
    if (out.target.front() == '?') {
        out.target.insert(0, "/");
    }
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        const std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            return covet::errc::invalid_argument;
        }
        out.host = std::string(authority.substr(1, close - 1));
        const std::string_view after = authority.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') {
                return covet::errc::invalid_argument;
            }
            port_text = after.substr(1);
        }
    } else {
        const std::size_t colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
        }
    }
    if (out.host.empty()) {
        return covet::errc::invalid_argument;
    }
    if (!port_text.empty()) {
        unsigned value = 0;
        const auto parsed = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (parsed.ec != std::errc{} || parsed.ptr != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            return covet::errc::invalid_argument;
        }
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

task<result<connection>> connect(std::string url, client_options options)
{
    auto parsed = parse_url(url);
    if (!parsed) {
        co_return parsed.error();
    }
    const parsed_url& where = *parsed;
    auto opened = co_await open_stream(where, options);
    if (!opened) {
        co_return opened.error();
    }
    net::any_stream stream = std::move(*opened);
    stream.set_timeouts({options.handshake_timeout, options.handshake_timeout});

    std::array<unsigned char, 16> nonce{};
    RAND_bytes(nonce.data(), static_cast<int>(nonce.size()));
    const std::string key =
        detail::base64_encode(std::string_view(reinterpret_cast<const char*>(nonce.data()), 16));

    std::string request = "GET " + where.target + " HTTP/1.1\r\nHost: ";
    const bool ipv6 = where.host.find(':') != std::string::npos;
    request += ipv6 ? "[" + where.host + "]" : where.host;
    if (where.port != (where.secure ? 443 : 80)) {
        request += ":" + std::to_string(where.port);
    }
    request +=
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ";
    request += key;
    request += "\r\n";
    if (!options.origin.empty()) {
        request += "Origin: " + options.origin + "\r\n";
    }
    if (!options.subprotocols.empty()) {
        request += "Sec-WebSocket-Protocol: ";
        for (std::size_t i = 0; i < options.subprotocols.size(); ++i) {
            request += (i == 0 ? "" : ", ") + options.subprotocols[i];
        }
        request += "\r\n";
    }
    if (options.deflate.enabled) {
        request += "Sec-WebSocket-Extensions: " + deflate_offer(options.deflate) + "\r\n";
    }
    for (const auto& [name, value] : options.headers) {
        request += name + ": " + value + "\r\n";
    }
    request += "\r\n";
    auto written = co_await stream.write(asio::buffer(request));
    if (!written) {
        co_return written.error();
    }

    // Read up to the end of the response head; what follows is already WebSocket data.
    std::string received;
    std::size_t head_end = std::string::npos;
    std::array<char, 2048> chunk;
    while (head_end == std::string::npos) {
        if (received.size() > options.max_response_head) {
            co_return error::handshake_failed;
        }
        auto n = co_await stream.read_some(asio::buffer(chunk));
        if (!n) {
            co_return n.error();
        }
        const std::size_t search_from = received.size() >= 3 ? received.size() - 3 : 0;
        received.append(chunk.data(), *n);
        head_end = received.find("\r\n\r\n", search_from);
    }
    response_head head;
    if (!parse_response_head(std::string_view(received).substr(0, head_end + 2), head) ||
        head.status != 101 || !detail::header_has_token(head.joined("Upgrade"), "websocket") ||
        !detail::header_has_token(head.joined("Connection"), "upgrade") ||
        http::trim_ows(head.joined("Sec-WebSocket-Accept")) != accept_key(key)) {
        co_return error::handshake_failed;
    }
    std::string protocol = head.joined("Sec-WebSocket-Protocol");
    if (!protocol.empty()) {
        bool offered = false;
        for (const auto& p : options.subprotocols) {
            offered = offered || p == protocol;
        }
        if (!offered) {
            co_return error::handshake_failed;
        }
    }
    std::shared_ptr<detail::deflate_codec> codec;
    if (head.has("Sec-WebSocket-Extensions")) {
        if (!options.deflate.enabled) {
            co_return error::handshake_failed;
        }
        auto params = parse_deflate_response(head.joined("Sec-WebSocket-Extensions"), options.deflate);
        if (!params) {
            co_return error::handshake_failed;
        }
        codec = std::make_shared<detail::deflate_codec>(*params, false, options.deflate);
    }
    connection conn(std::move(stream), received.substr(head_end + 4), role::client, options.connection,
                    std::move(protocol), std::move(codec));
    co_return conn;
}

}  // namespace covet::ws
