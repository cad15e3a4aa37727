#include <covet/http/client.hpp>
#include <covet/http/header.hpp>
#include <covet/http/parser.hpp>
#include <covet/net/stream.hpp>

#include <array>
#include <charconv>

namespace covet::http {

namespace {

class client_error_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "covet.http.client"; }
    std::string message(int value) const override
    {
        switch (static_cast<client_error>(value)) {
        case client_error::bad_url: return "invalid URL";
        case client_error::bad_header: return "invalid request header";
        case client_error::malformed_response: return "malformed response";
        case client_error::response_too_large: return "response too large";
        case client_error::truncated_response: return "connection closed before the response ended";
        }
        return "unknown client error";
    }
};

struct parsed_url {
    bool tls = false;
    std::string host;  // without brackets
    std::uint16_t port = 80;
    std::string target;
    std::string host_header;
    std::string origin;
};

result<parsed_url> parse_url(std::string_view url)
{
    parsed_url u;
    if (url.substr(0, 7) == "http://") {
        url.remove_prefix(7);
    } else if (url.substr(0, 8) == "https://") {
        url.remove_prefix(8);
        u.tls = true;
        u.port = 443;
    } else {
        return client_error::bad_url;
    }
    const auto path_start = url.find_first_of("/?");
    std::string_view authority = url.substr(0, path_start);
    u.target = path_start == std::string_view::npos ? "/" : std::string(url.substr(path_start));
    if (u.target.front() == '?') {
        u.target.insert(0, "/");
    }
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
        return client_error::bad_url;
    }
    u.host_header = std::string(authority);
    std::string_view port_text;
    if (authority.front() == '[') {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return client_error::bad_url;
        }
        u.host = std::string(authority.substr(1, close - 1));
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                return client_error::bad_url;
            }
            port_text = authority.substr(close + 2);
        }
    } else {
        const auto colon = authority.find(':');
        u.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            port_text = authority.substr(colon + 1);
        }
    }
    if (!port_text.empty()) {
        auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), u.port);
        if (ec != std::errc{} || end != port_text.data() + port_text.size() || u.port == 0) {
            return client_error::bad_url;
        }
    }
    for (char c : u.target) {
        if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
            return client_error::bad_url;
        }
    }
    u.origin = (u.tls ? "https://" : "http://") + u.host_header;
    return u;
}

bool valid_header(std::string_view name, std::string_view value)
{
    header ignored;
    const std::string line = std::string(name) + ": " + std::string(value);
    return !name.empty() && detail::parse_field_line(line, ignored) == parse_error::none &&
           ignored.name == name;
}

bool idempotent(method m) noexcept
{
    return m == method::get || m == method::head || m == method::put || m == method::delete_ ||
           m == method::options || m == method::trace;
}

}  // namespace

const std::error_category& client_error_category() noexcept
{
    static const client_error_category_impl category;
    return category;
}

std::string_view client_response::header(std::string_view name) const noexcept
{
    for (const auto& [n, v] : headers) {
        if (iequals(n, name)) {
            return v;
        }
    }
    return {};
}

// ---------------------------------------------------------------------------

namespace {

struct connection {
    std::optional<net::tcp_stream> tcp;
    std::optional<net::tls_stream> tls;
    std::string buffer;  // bytes received and not yet consumed

    // One co_await per branch, its value returned after: GCC 12 miscompiles
    // several `co_return co_await` statements in one coroutine.
    task<result<std::size_t>> read_some(asio::mutable_buffer b)
    {
        result<std::size_t> n = std::size_t{0};
        if (tls) {
            n = co_await tls->read_some(b);
        } else {
            n = co_await tcp->read_some(b);
        }
        co_return n;
    }
    task<result<std::size_t>> write(asio::const_buffer b)
    {
        result<std::size_t> n = std::size_t{0};
        if (tls) {
            n = co_await tls->write(b);
        } else {
            n = co_await tcp->write(b);
        }
        co_return n;
    }
    void set_timeouts(net::stream_timeouts t)
    {
        if (tls) {
            tls->set_timeouts(t);
        } else {
            tcp->set_timeouts(t);
        }
    }
};

struct read_outcome {
    result<client_response> response = client_error::truncated_response;
    bool reusable = false;
    bool received_nothing = false;
};

}  // namespace

struct client::impl {
    client_options options;
    std::map<std::string, std::vector<std::unique_ptr<connection>>> idle;
    std::uint64_t opened = 0;

    task<result<std::unique_ptr<connection>>> open(const parsed_url& u)
    {
        auto c = std::make_unique<connection>();
        auto tcp = co_await net::connect(u.host, u.port, {.timeout = options.connect_timeout});
        if (!tcp) {
            co_return tcp.error();
        }
        ++opened;
        if (!u.tls) {
            c->tcp.emplace(std::move(*tcp));
            co_return c;
        }
        if (!options.tls) {
            auto ctx = net::tls_context::client({});
            if (!ctx) {
                co_return ctx.error();
            }
            options.tls = *ctx;
        }
        tcp->set_timeouts({options.connect_timeout, options.connect_timeout});
        c->tls.emplace(std::move(*tcp), *options.tls);
        auto handshake = co_await c->tls->handshake_client(u.host);
        if (!handshake) {
            co_return handshake.error();
        }
        co_return c;
    }

    // Reads one response (skipping 1xx interim responses) from `c`.
    task<read_outcome> read_response(connection& c, bool head_request)
    {
        read_outcome out;
        std::array<char, 16 * 1024> chunk;
        bool got_any = !c.buffer.empty();
        auto fill = [&]() -> task<result<std::size_t>> {
            auto n = co_await c.read_some(asio::buffer(chunk));
            if (n) {
                c.buffer.append(chunk.data(), *n);
                got_any = true;
            }
            co_return n;
        };
        for (;;) {
            std::size_t head_end = c.buffer.find("\r\n\r\n");
            while (head_end == std::string::npos) {
                if (c.buffer.size() > options.max_response_head) {
                    out.response = client_error::response_too_large;
                    co_return out;
                }
                auto n = co_await fill();
                if (!n) {
                    out.received_nothing = !got_any;
                    out.response = n.error() == errc::end_of_stream
                                       ? make_error_code(client_error::truncated_response)
                                       : n.error();
                    co_return out;
                }
                head_end = c.buffer.find("\r\n\r\n");
            }
            const std::string_view head(c.buffer.data(), head_end + 2);
            client_response r;
            // Status line: HTTP/1.x SP 3DIGIT SP reason
            if (head.size() < 14 || head.substr(0, 7) != "HTTP/1." || head[8] != ' ' ||
                (head[12] != ' ' && head[12] != '\r')) {
                out.response = client_error::malformed_response;
                co_return out;
            }
            const bool http10 = head[7] == '0';
            auto [code_end, code_ec] = std::from_chars(head.data() + 9, head.data() + 12, r.status_code);
            if (code_ec != std::errc{} || code_end != head.data() + 12 || r.status_code < 100) {
                out.response = client_error::malformed_response;
                co_return out;
            }
            std::size_t line_end = head.find("\r\n");
            r.reason = std::string(head.substr(13, line_end > 13 ? line_end - 13 : 0));
            bool chunked = false;
            bool close = http10;
            std::optional<std::uint64_t> content_length;
            std::size_t pos = line_end + 2;
            while (pos < head.size()) {
                const std::size_t eol = head.find("\r\n", pos);
                header h;
                const std::string_view line = head.substr(pos, eol - pos);
                if (line.find('\n') != std::string_view::npos ||
                    detail::parse_field_line(line, h) != parse_error::none) {
                    out.response = client_error::malformed_response;
                    co_return out;
                }
                if (iequals(h.name, "transfer-encoding")) {
                    chunked = h.value.size() >= 7 && iequals(h.value.substr(h.value.size() - 7), "chunked");
                } else if (iequals(h.name, "content-length")) {
                    std::uint64_t v = 0;
                    auto [e, ec] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), v);
                    if (ec != std::errc{} || e != h.value.data() + h.value.size() ||
                        (content_length && *content_length != v)) {
                        out.response = client_error::malformed_response;
                        co_return out;
                    }
                    content_length = v;
                } else if (iequals(h.name, "connection")) {
                    if (h.value.find("close") != std::string_view::npos || iequals(h.value, "close")) {
                        close = true;
                    } else if (http10 && iequals(h.value, "keep-alive")) {
                        close = false;
                    }
                }
                r.headers.emplace_back(std::string(h.name), std::string(h.value));
                pos = eol + 2;
            }
            const std::size_t body_start = head_end + 4;
            if (r.status_code < 200 && r.status_code != 101) {
                c.buffer.erase(0, body_start);  // 100 Continue and friends: the real response follows
                continue;
            }
            if (head_request || r.status_code == 204 || r.status_code == 304 || r.status_code == 101) {
                c.buffer.erase(0, body_start);
                out.reusable = !close && r.status_code != 101;
                out.response = std::move(r);
                co_return out;
            }
            if (chunked) {
                chunked_decoder decoder(options.max_response_body);
                for (;;) {
                    const auto st =
                        decoder.decode(c.buffer.data() + body_start, c.buffer.size() - body_start);
                    if (st == parse_status::complete) {
                        break;
                    }
                    if (st == parse_status::error) {
                        out.response = decoder.error() == parse_error::body_too_large
                                           ? make_error_code(client_error::response_too_large)
                                           : make_error_code(client_error::malformed_response);
                        co_return out;
                    }
                    auto n = co_await fill();
                    if (!n) {
                        out.response = client_error::truncated_response;
                        co_return out;
                    }
                }
                r.body.assign(c.buffer.data() + body_start, decoder.decoded_size());
                c.buffer.erase(0, body_start + decoder.raw_pos());
                out.reusable = !close;
            } else if (content_length) {
                if (*content_length > options.max_response_body) {
                    out.response = client_error::response_too_large;
                    co_return out;
                }
                const std::size_t need = body_start + static_cast<std::size_t>(*content_length);
                while (c.buffer.size() < need) {
                    auto n = co_await fill();
                    if (!n) {
                        out.response = client_error::truncated_response;
                        co_return out;
                    }
                }
                r.body.assign(c.buffer, body_start, static_cast<std::size_t>(*content_length));
                c.buffer.erase(0, need);
                out.reusable = !close;
            } else {
                // Close-delimited: everything until the server closes.
                for (;;) {
                    if (c.buffer.size() - body_start > options.max_response_body) {
                        out.response = client_error::response_too_large;
                        co_return out;
                    }
                    auto n = co_await fill();
                    if (!n) {
                        if (n.error() != errc::end_of_stream) {
                            out.response = n.error();
                            co_return out;
                        }
                        break;
                    }
                }
                r.body.assign(c.buffer, body_start);
                c.buffer.clear();
                out.reusable = false;
            }
            out.reusable = out.reusable && c.buffer.empty();
            out.response = std::move(r);
            co_return out;
        }
    }
};

client::client(client_options options) : impl_(std::make_unique<impl>())
{
    impl_->options = std::move(options);
}
client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

void client::close_idle() noexcept
{
    impl_->idle.clear();
}

std::size_t client::idle_connections() const noexcept
{
    std::size_t n = 0;
    for (const auto& [origin, list] : impl_->idle) {
        n += list.size();
    }
    return n;
}

std::uint64_t client::connections_opened() const noexcept
{
    return impl_->opened;
}

task<result<client_response>> client::send(client_request request)
{
    auto url = parse_url(request.url);
    if (!url) {
        co_return url.error();
    }
    const std::string_view method_token =
        request.method == method::other ? std::string_view(request.method_name) : to_string(request.method);
    if (method_token.empty()) {
        co_return client_error::bad_header;
    }
    std::string wire;
    wire.reserve(256 + request.body.size());
    wire.append(method_token).append(" ").append(url->target).append(" HTTP/1.1\r\n");
    bool has_host = false, has_agent = false;
    for (const auto& [name, value] : request.headers) {
        if (!valid_header(name, value) || iequals(name, "content-length") ||
            iequals(name, "transfer-encoding")) {
            co_return client_error::bad_header;
        }
        has_host = has_host || iequals(name, "host");
        has_agent = has_agent || iequals(name, "user-agent");
    }
    if (!has_host) {
        wire.append("Host: ").append(url->host_header).append("\r\n");
    }
    if (!has_agent && !impl_->options.user_agent.empty()) {
        wire.append("User-Agent: ").append(impl_->options.user_agent).append("\r\n");
    }
    for (const auto& [name, value] : request.headers) {
        wire.append(name).append(": ").append(value).append("\r\n");
    }
    if (!request.body.empty() || request.method == method::post || request.method == method::put ||
        request.method == method::patch) {
        wire.append("Content-Length: ").append(std::to_string(request.body.size())).append("\r\n");
    }
    wire.append("\r\n").append(request.body);

    const bool head_request = request.method == method::head;
    for (int attempt = 0; attempt < 2; ++attempt) {
        std::unique_ptr<connection> c;
        bool reused = false;
        auto& pool = impl_->idle[url->origin];
        if (!pool.empty()) {
            c = std::move(pool.back());
            pool.pop_back();
            reused = true;
        } else {
            auto opened = co_await impl_->open(*url);
            if (!opened) {
                co_return opened.error();
            }
            c = std::move(*opened);
        }
        c->set_timeouts({impl_->options.io_timeout, impl_->options.io_timeout});
        auto written = co_await c->write(asio::buffer(wire));
        if (!written) {
            if (reused && idempotent(request.method)) {
                continue;  // the server closed the idle connection
            }
            co_return written.error();
        }
        auto outcome = co_await impl_->read_response(*c, head_request);
        if (!outcome.response && outcome.received_nothing && reused && idempotent(request.method)) {
            continue;
        }
        if (outcome.response && outcome.reusable) {
            auto& back = impl_->idle[url->origin];
            if (back.size() < impl_->options.max_idle_per_origin) {
                back.push_back(std::move(c));
            }
        }
        co_return std::move(outcome.response);
    }
    co_return client_error::truncated_response;
}

task<result<client_response>> client::get(std::string url)
{
    // A named request: GCC 12 destroys braced temporaries in a co_await twice.
    client_request r{.method = method::get, .url = std::move(url)};
    co_return co_await send(std::move(r));
}

task<result<client_response>> client::post(std::string url, std::string body, std::string content_type)
{
    client_request r{.method = method::post, .url = std::move(url)};
    r.headers.emplace_back("Content-Type", std::move(content_type));
    r.body = std::move(body);
    co_return co_await send(std::move(r));
}

}  // namespace covet::http
