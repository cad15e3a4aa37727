#include <covet/http/header.hpp>
#include <covet/http/parser.hpp>
#include <covet/net/spawn.hpp>
#include <covet/web/test_client.hpp>

#include <unistd.h>

#include <asio/ip/address_v4.hpp>

namespace covet::web {

namespace {

class collecting_writer final : public http::body_writer {
public:
    explicit collecting_writer(std::string& out) : out_(out) {}
    task<bool> write(std::string_view data) override
    {
        out_.append(data);
        co_return true;
    }

private:
    std::string& out_;
};

bool has(const header_list& headers, std::string_view name)
{
    for (const auto& [n, v] : headers) {
        if (http::iequals(n, name)) {
            return true;
        }
    }
    return false;
}

task<test_response> run(const app* a, http::request* req, bool head)
{
    // As the server does: plain handlers without a coroutine frame, the rest through dispatch().
    std::optional<http::response> now;
    if (!a->dispatch_now(*req, now)) {
        now.emplace(co_await a->dispatch(*req));
    }
    http::response res = std::move(*now);
    test_response out;
    out.status = static_cast<int>(res.status());
    std::string_view lines = res.header_lines();
    while (!lines.empty()) {
        const auto eol = lines.find("\r\n");
        const std::string_view line = lines.substr(0, eol);
        const auto colon = line.find(':');
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
        out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
        lines.remove_prefix(eol == std::string_view::npos ? lines.size() : eol + 2);
    }
    if (!res.content_type().empty() && !has(out.headers, "content-type")) {
        out.headers.emplace_back("Content-Type", std::string(res.content_type()));
    }
    if (const auto* producer = res.streamed()) {
        collecting_writer w(out.body);
        co_await (*producer)(w);
    } else if (const auto* file = res.file()) {
        out.body.resize(file->length);
        const auto n = ::pread(file->fd, out.body.data(), file->length, static_cast<off_t>(file->offset));
        out.body.resize(n < 0 ? 0 : static_cast<std::size_t>(n));
    } else {
        out.body = std::string(res.body());
    }
    const int s = out.status;
    if (s != 204 && s != 304 && s >= 200) {
        out.headers.emplace_back("Content-Length", std::to_string(out.body.size()));
    }
    if (head) {
        out.body.clear();
    }
    co_return out;
}

}  // namespace

std::string_view test_response::header(std::string_view name) const noexcept
{
    for (const auto& [n, v] : headers) {
        if (http::iequals(n, name)) {
            return v;
        }
    }
    return {};
}

bool test_response::has_header(std::string_view name) const noexcept
{
    return has(headers, name);
}

test_client::test_client(web::app& a) : app_(&a)
{
    a.freeze();
}

test_response test_client::request(std::string_view method, std::string_view target, std::string_view body,
                                   const header_list& headers)
{
    std::string bytes;
    bytes.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
    if (!has(headers, "host")) {
        bytes.append("Host: testserver\r\n");
    }
    for (const auto& [n, v] : headers) {
        bytes.append(n).append(": ").append(v).append("\r\n");
    }
    if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
        bytes.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    bytes.append("\r\n");
    const std::size_t head_size = bytes.size();
    bytes.append(body);

    http::request_parser parser;
    if (parser.parse(std::string_view(bytes).substr(0, head_size)) != http::parse_status::complete) {
        throw std::invalid_argument("test_client: the request does not parse as HTTP/1.1: " +
                                    std::string(method) + " " + std::string(target));
    }
    http::request req(parser.head(), std::string_view(bytes).substr(head_size), {},
                      asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 50000));
    return net::block_on(run(app_, &req, method == "HEAD"));
}

test_response test_client::with_json(std::string_view method, std::string_view target, std::string_view body,
                                     const header_list& headers)
{
    if (has(headers, "content-type")) {
        return request(method, target, body, headers);
    }
    header_list with = headers;
    with.emplace_back("Content-Type", "application/json");
    return request(method, target, body, with);
}

test_response test_client::post(std::string_view target, std::string_view json_body,
                                const header_list& headers)
{
    return with_json("POST", target, json_body, headers);
}
test_response test_client::put(std::string_view target, std::string_view json_body,
                               const header_list& headers)
{
    return with_json("PUT", target, json_body, headers);
}
test_response test_client::patch(std::string_view target, std::string_view json_body,
                                 const header_list& headers)
{
    return with_json("PATCH", target, json_body, headers);
}

}  // namespace covet::web
