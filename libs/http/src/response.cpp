#include <covet/http/detail/serialize.hpp>
#include <covet/http/header.hpp>
#include <covet/http/response.hpp>

#include <unistd.h>

#include <array>
#include <charconv>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace covet::http {

namespace {

constexpr std::string_view text_plain = "text/plain; charset=utf-8";
constexpr std::string_view text_html = "text/html; charset=utf-8";
constexpr std::string_view application_json = "application/json";

bool is_token_char(char c) noexcept
{
    const auto u = static_cast<unsigned char>(c);
    return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 9110 6.5.1: fields a recipient needs before the content (framing,
// routing, request modifiers, authentication, response control data, how to
// process the content) and connection-specific fields never go in trailers.
constexpr std::array<std::string_view, 38> forbidden_trailers{"content-length",
                                                              "transfer-encoding",
                                                              "trailer",
                                                              "te",
                                                              "host",
                                                              "connection",
                                                              "keep-alive",
                                                              "proxy-connection",
                                                              "upgrade",
                                                              "cache-control",
                                                              "expect",
                                                              "max-forwards",
                                                              "pragma",
                                                              "range",
                                                              "if-match",
                                                              "if-none-match",
                                                              "if-modified-since",
                                                              "if-unmodified-since",
                                                              "if-range",
                                                              "authorization",
                                                              "proxy-authorization",
                                                              "www-authenticate",
                                                              "proxy-authenticate",
                                                              "authentication-info",
                                                              "cookie",
                                                              "set-cookie",
                                                              "age",
                                                              "expires",
                                                              "date",
                                                              "location",
                                                              "retry-after",
                                                              "vary",
                                                              "warning",
                                                              "content-encoding",
                                                              "content-type",
                                                              "content-range",
                                                              "content-location",
                                                              "last-modified"};

void validate_name_and_value(std::string_view name, std::string_view value)
{
    if (name.empty()) {
        throw std::invalid_argument("covet::http::response: empty header name");
    }
    for (char c : name) {
        if (!is_token_char(c)) {
            throw std::invalid_argument("covet::http::response: header name is not a token: " +
                                        std::string(name));
        }
    }
    for (char c : value) {
        if (c == '\r' || c == '\n' || c == '\0') {
            throw std::invalid_argument("covet::http::response: CR, LF or NUL in the value of " +
                                        std::string(name));
        }
    }
}

void validate_field(std::string_view name, std::string_view value)
{
    validate_name_and_value(name, value);
    if (iequals(name, "content-length") || iequals(name, "transfer-encoding") || iequals(name, "date") ||
        iequals(name, "connection")) {
        throw std::invalid_argument("covet::http::response: the server sets " + std::string(name));
    }
}

response with_body(std::string body, std::string_view type, http::status s)
{
    response r(s);
    r.set_body(std::move(body));
    r.set_content_type(type);
    return r;
}

response with_static_body(std::string_view body, std::string_view type, http::status s)
{
    response r(s);
    r.set_static_body(body);
    r.set_content_type(type);
    return r;
}

}  // namespace

void detail::append_trailer_line(std::string& lines, std::string_view name, std::string_view value)
{
    validate_name_and_value(name, value);
    for (std::string_view forbidden : forbidden_trailers) {
        if (iequals(name, forbidden)) {
            throw std::invalid_argument("covet::http::response: not allowed as a trailer field: " +
                                        std::string(name));
        }
    }
    lines.append(name).append(": ").append(value).append("\r\n");
}

detail::file_body::~file_body()
{
    if (fd >= 0) {
        ::close(fd);
    }
}

response& response::set_file_body(int fd, std::uint64_t offset, std::uint64_t length)
{
    detail::response_extras& extras = extras_.get_or_create();
    extras.file = std::make_shared<detail::file_body>(fd, offset, length);
    owned_ = false;
    borrowed_body_ = {};
    owned_body_.clear();
    return *this;
}

response response::text(std::string body, http::status s)
{
    return with_body(std::move(body), text_plain, s);
}
response response::static_text(std::string_view body, http::status s)
{
    return with_static_body(body, text_plain, s);
}
response response::html(std::string body, http::status s)
{
    return with_body(std::move(body), text_html, s);
}
response response::static_html(std::string_view body, http::status s)
{
    return with_static_body(body, text_html, s);
}
response response::json_bytes(std::string body, http::status s)
{
    return with_body(std::move(body), application_json, s);
}
response response::static_json(std::string_view body, http::status s)
{
    return with_static_body(body, application_json, s);
}

response response::stream(stream_producer producer, std::string_view static_content_type)
{
    response r(status::ok);
    r.extras_.get_or_create().producer = std::move(producer);
    r.set_content_type(static_content_type);
    return r;
}

response response::switching_protocols(std::string_view protocol, upgrade_handler handler)
{
    response r(status::switching_protocols);
    r.add_header("Upgrade", protocol);
    r.extras_.get_or_create().upgrade = std::move(handler);
    return r;
}

response response::event_stream(stream_producer producer)
{
    response r = stream(std::move(producer), "text/event-stream");
    r.add_header("Cache-Control", "no-cache");
    return r;
}

void append_event(std::string& out, std::string_view data, std::string_view event, std::string_view id)
{
    auto single_line = [&](std::string_view field, std::string_view value) {
        out.append(field);
        for (char c : value) {
            if (c != '\r' && c != '\n') {
                out.push_back(c);
            }
        }
        out.push_back('\n');
    };
    if (!event.empty()) {
        single_line("event: ", event);
    }
    if (!id.empty()) {
        single_line("id: ", id);
    }
    // Each line of the data is its own data: field (CRLF, LF and CR all end a line).
    std::size_t start = 0;
    for (std::size_t i = 0; i <= data.size(); ++i) {
        if (i == data.size() || data[i] == '\n' || data[i] == '\r') {
            out.append("data: ").append(data.substr(start, i - start)).push_back('\n');
            if (i + 1 < data.size() && data[i] == '\r' && data[i + 1] == '\n') {
                ++i;
            }
            start = i + 1;
        }
    }
    out.push_back('\n');
}

response response::redirect(std::string_view location, http::status s)
{
    const auto code = to_underlying(s);
    if (code < 300 || code > 399) {
        throw std::invalid_argument("covet::http::response::redirect: not a 3xx status");
    }
    response r(s);
    r.add_header("Location", location);
    return r;
}

response& response::add_header(std::string_view name, std::string_view value)
{
    validate_field(name, value);
    if (iequals(name, "content-type")) {
        content_type_ = {};
    }
    headers_.append(name);
    headers_.append(": ");
    headers_.append(value);
    headers_.append("\r\n");
    return *this;
}

response& response::set_header(std::string_view name, std::string_view value)
{
    validate_field(name, value);
    // Remove every existing `name` line, then append one.
    std::size_t pos = 0;
    while (pos < headers_.size()) {
        const std::string_view rest = headers_.view().substr(pos);
        const auto end = rest.find("\r\n");
        const auto colon = rest.find(':');
        if (iequals(rest.substr(0, colon), name)) {
            headers_.erase(pos, end + 2);
        } else {
            pos += end + 2;
        }
    }
    return add_header(name, value);
}

std::string_view response::header(std::string_view name) const noexcept
{
    if (iequals(name, "content-type") && !content_type_.empty()) {
        return content_type_;
    }
    std::string_view rest = headers_.view();
    while (!rest.empty()) {
        const auto end = rest.find("\r\n");
        const std::string_view line = rest.substr(0, end);
        const auto colon = line.find(':');
        if (iequals(line.substr(0, colon), name)) {
            return line.substr(colon + 2);
        }
        rest.remove_prefix(end + 2);
    }
    return {};
}

// ---------------------------------------------------------------------------

namespace detail {

void format_http_date(long long unix_seconds, char (&out)[29]) noexcept
{
    static constexpr char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    auto two = [](char* p, int v) {
        p[0] = static_cast<char>('0' + v / 10);
        p[1] = static_cast<char>('0' + v % 10);
    };
    std::copy(days[tm.tm_wday], days[tm.tm_wday] + 3, out);
    out[3] = ',';
    out[4] = ' ';
    two(out + 5, tm.tm_mday);
    out[7] = ' ';
    std::copy(months[tm.tm_mon], months[tm.tm_mon] + 3, out + 8);
    out[11] = ' ';
    const int year = tm.tm_year + 1900;
    two(out + 12, year / 100);
    two(out + 14, year % 100);
    out[16] = ' ';
    two(out + 17, tm.tm_hour);
    out[19] = ':';
    two(out + 20, tm.tm_min);
    out[22] = ':';
    two(out + 23, tm.tm_sec);
    std::memcpy(out + 25, " GMT", 4);
}

std::string_view http_date() noexcept
{
    // Per thread, so the hot path takes no lock; time() is a vDSO call.
    thread_local long long cached_second = -1;
    thread_local char cached[29];
    const long long now = static_cast<long long>(std::time(nullptr));
    if (now != cached_second) {
        format_http_date(now, cached);
        cached_second = now;
    }
    return {cached, sizeof(cached)};
}

void serialize_head(const response& r, std::string& out, const head_options& options)
{
    const auto code = to_underlying(r.status());
    char number[24];
    out.append(options.version_minor == 0 ? "HTTP/1.0 " : "HTTP/1.1 ");
    out.push_back(static_cast<char>('0' + code / 100));
    out.push_back(static_cast<char>('0' + code / 10 % 10));
    out.push_back(static_cast<char>('0' + code % 10));
    out.push_back(' ');
    out.append(reason_phrase(r.status()));
    out.append("\r\n");
    if (!options.server_name.empty()) {
        out.append("Server: ");
        out.append(options.server_name);
        out.append("\r\n");
    }
    out.append("Date: ");
    out.append(http_date());
    out.append("\r\n");
    if (!r.content_type().empty()) {
        out.append("Content-Type: ");
        out.append(r.content_type());
        out.append("\r\n");
    }
    out.append(r.header_lines());
    bool keep_alive = options.keep_alive;
    if ((r.streamed() != nullptr || chunked_for_trailers(r, options.version_minor)) &&
        status_allows_body(r.status())) {
        if (options.version_minor == 1) {
            out.append("Transfer-Encoding: chunked\r\n");
        } else {
            keep_alive = false;  // HTTP/1.0: the end of the body is the end of the connection
        }
    } else if (status_allows_body(r.status())) {
        const auto [end, ec] = std::to_chars(number, number + sizeof(number), r.content_length());
        (void)ec;
        out.append("Content-Length: ");
        out.append(number, static_cast<std::size_t>(end - number));
        out.append("\r\n");
    }
    if (r.upgrade() != nullptr && r.status() == status::switching_protocols) {
        out.append("Connection: Upgrade\r\n");
    } else if (!keep_alive) {
        out.append("Connection: close\r\n");
    } else if (options.version_minor == 0) {
        out.append("Connection: keep-alive\r\n");
    }
    out.append("\r\n");
}

}  // namespace detail
}  // namespace covet::http
