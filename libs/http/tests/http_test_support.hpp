#pragma once
// A test server with a fixed set of routes, and a raw client that sends bytes
// and parses the responses, so that tests see exactly what went on the wire.

#include <covet/http/detail/serialize.hpp>
#include <covet/http/error.hpp>
#include <covet/http/server.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/timer.hpp>

#include <doctest/doctest.h>

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace covet::http::testing {

using namespace std::chrono_literals;

inline task<response> test_handler(request& req)
{
    const std::string_view path = req.path();
    if (path == "/hello") {
        co_return response::static_text("Hello, World!");
    }
    if (path == "/echo") {
        auto r = response::text(std::string(req.body()));
        r.add_header("X-Method", req.method_name());
        r.add_header("X-Trailers", std::to_string(req.trailers().size()));
        co_return r;
    }
    if (path == "/query") {
        co_return response::text(req.query("q").value_or("<none>"));
    }
    if (path == "/header") {
        co_return response::text(std::string(req.header("x-test")));
    }
    if (path == "/slow") {
        co_await net::sleep_for(300ms);
        co_return response::static_text("slow done");
    }
    if (path == "/throw") {
        throw std::runtime_error("secret internal detail");
    }
    if (path == "/http-error") {
        throw http::error(status::conflict, "already exists");
    }
    if (path == "/big") {
        co_return response::text(std::string(200 * 1024, 'b'));
    }
    if (path == "/stream") {
        co_return response::stream(
            [](body_writer& w) -> task<void> {
                for (std::string_view piece : {"one ", "two ", "three"}) {
                    if (!co_await w.write(piece)) {
                        co_return;
                    }
                    co_await net::sleep_for(5ms);
                }
            },
            "text/plain");
    }
    if (path == "/events") {
        co_return response::event_stream([](body_writer& w) -> task<void> {
            std::string out;
            append_event(out, "hello", "greeting", "1");
            (void)co_await w.write(out);
            out.clear();
            append_event(out, "line one\nline two");
            (void)co_await w.write(out);
        });
    }
    if (path == "/stream-throw") {
        co_return response::stream([](body_writer& w) -> task<void> {
            (void)co_await w.write("partial");
            throw std::runtime_error("producer failed");
        });
    }
    if (path == "/upgrade") {
        // A toy protocol: echo the early bytes, then one more read, in brackets.
        co_return response::switching_protocols("x-echo", [](upgraded_connection c) -> task<void> {
            std::string reply = "[" + c.early_data + "]";
            (void)co_await c.stream.write(asio::buffer(reply));
            std::array<char, 256> buf;
            c.stream.set_timeouts({.read = 2s, .write = 2s});
            auto n = co_await c.stream.read_some(asio::buffer(buf));
            if (n) {
                reply = "[" + std::string(buf.data(), *n) + "]";
                (void)co_await c.stream.write(asio::buffer(reply));
            }
            c.stream.close();
        });
    }
    if (path == "/path") {
        co_return response::text(std::string(req.path()));
    }
    co_return response::static_text("Not Found\n", status::not_found);
}

struct test_server {
    explicit test_server(server_options options = {}, std::size_t threads = 2)
        : rt(make_runtime_options(threads))
    {
        options.listen.address = "127.0.0.1";
        auto s = server::start(rt, options, test_handler);
        REQUIRE(s.has_value());
        srv.emplace(std::move(*s));
        rt.start();
    }
    ~test_server()
    {
        rt.request_stop();
        rt.join();
    }
    static net::runtime_options make_runtime_options(std::size_t threads)
    {
        net::runtime_options o;
        o.threads = threads;
        o.offload_threads = 1;
        o.handle_signals = false;
        o.stop_timeout = 3s;
        return o;
    }
    std::uint16_t port() const { return srv->port(); }

    net::runtime rt;
    std::optional<server> srv;
};

struct wire_response {
    int status = 0;
    std::map<std::string, std::string> headers;  // lower-case names; last value wins
    std::string body;
    std::string raw_head;
};

inline std::string lower(std::string s)
{
    for (auto& c : s) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return s;
}

/// Parses as many complete responses as `data` holds (Content-Length framing;
/// no body for 1xx/204/304 or when `head_request`).
inline std::vector<wire_response> parse_responses(std::string_view data, bool head_request = false)
{
    std::vector<wire_response> out;
    while (true) {
        const auto end = data.find("\r\n\r\n");
        if (end == std::string_view::npos) {
            break;
        }
        if (data.substr(0, 7) != "HTTP/1." || end < 12) {
            break;  // not at a response boundary (e.g. after a HEAD response)
        }
        wire_response r;
        r.raw_head = std::string(data.substr(0, end + 4));
        r.status = std::stoi(std::string(data.substr(9, 3)));
        std::string_view lines = data.substr(0, end + 2);
        lines.remove_prefix(lines.find("\r\n") + 2);
        while (!lines.empty()) {
            const auto eol = lines.find("\r\n");
            const std::string_view line = lines.substr(0, eol);
            const auto colon = line.find(':');
            r.headers[lower(std::string(line.substr(0, colon)))] = std::string(line.substr(colon + 2));
            lines.remove_prefix(eol + 2);
        }
        std::size_t length = 0;
        if (r.status >= 200 && r.status != 204 && r.status != 304 && !head_request &&
            r.headers.count("content-length")) {
            length = std::stoul(r.headers["content-length"]);
        }
        if (data.size() < end + 4 + length) {
            break;
        }
        r.body = std::string(data.substr(end + 4, length));
        data.remove_prefix(end + 4 + length);
        out.push_back(std::move(r));
    }
    return out;
}

struct exchange_result {
    std::string bytes;              // everything received
    bool closed_by_server = false;  // the server closed (EOF or reset)
    std::vector<wire_response> responses;
};

/// Connects, sends `request` (optionally in pieces with pauses), then reads
/// until `expected` responses arrived (and, if `until_close`, until the server
/// closes) or `limit` passed.
inline exchange_result exchange(std::uint16_t port, std::vector<std::string> pieces, std::size_t expected,
                                bool until_close = false, std::chrono::milliseconds pause = 0ms,
                                std::chrono::milliseconds limit = 5s, bool head_request = false)
{
    return net::block_on([](std::uint16_t p, std::vector<std::string> parts, std::size_t want, bool to_close,
                            std::chrono::milliseconds gap, std::chrono::milliseconds max_wait,
                            bool head) -> task<exchange_result> {
        exchange_result result;
        auto stream = co_await net::connect("127.0.0.1", p, {.timeout = 2s});
        REQUIRE(stream.has_value());
        for (const auto& part : parts) {
            auto w = co_await stream->write(asio::buffer(part));
            if (!w) {
                break;
            }
            if (gap.count() > 0) {
                co_await net::sleep_for(gap);
            }
        }
        stream->set_timeouts({.read = max_wait});
        std::array<char, 16 * 1024> buffer;
        for (;;) {
            result.responses = parse_responses(result.bytes, head);
            if (result.responses.size() >= want && !to_close) {
                break;
            }
            auto n = co_await stream->read_some(asio::buffer(buffer));
            if (!n) {
                result.closed_by_server = n.error() != errc::timed_out;
                break;
            }
            result.bytes.append(buffer.data(), *n);
        }
        result.responses = parse_responses(result.bytes, head);
        co_return result;
    }(port, std::move(pieces), expected, until_close, pause, limit, head_request));
}

inline exchange_result exchange(std::uint16_t port, std::string request, std::size_t expected = 1,
                                bool until_close = false)
{
    return exchange(port, std::vector<std::string>{std::move(request)}, expected, until_close);
}

}  // namespace covet::http::testing
