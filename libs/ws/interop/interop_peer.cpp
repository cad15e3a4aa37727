// The covet side of the interoperability tests (run.sh):
//   covet_ws_interop_peer serve          echo server: /echo (permessage-deflate offered), /echo-plain,
//                                        /stream (a streamed message first, then echo);
//                                        prints "port N", runs until SIGTERM/SIGINT
//   covet_ws_interop_peer client URL     covet's client against another echo server; prints "N passed, M
//   failed"
#include <covet/http/server.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/ws/client.hpp>
#include <covet/ws/handshake.hpp>

#include <cstdio>
#include <string>
#include <string_view>

using namespace covet;
using namespace std::chrono_literals;

namespace {

task<void> echo(ws::connection conn)
{
    for (;;) {
        auto msg = co_await conn.read();
        if (!msg) {
            break;
        }
        auto sent = co_await conn.send(msg->type, msg->data);
        if (!sent) {
            break;
        }
    }
}

// /stream: first a message streamed in four fragments (compressed when
// permessage-deflate was negotiated: RFC 7692 allows a fragmented compressed
// message, RSV1 on its first frame), then echo. The clients know the text.
task<void> stream_then_echo(ws::connection conn)
{
    for (int part = 0; part < 4; ++part) {
        std::string fragment;
        const std::string line = "part " + std::to_string(part) + " of a streamed message; ";
        for (int i = 0; i < 2000; ++i) {
            fragment += line;
        }
        auto sent = co_await conn.send_fragment(ws::message_type::text, fragment, part == 3);
        if (!sent) {
            co_return;
        }
    }
    co_await echo(conn);
}

int serve()
{
    net::runtime_options ro;
    ro.threads = 2;
    net::runtime rt(ro);
    http::server_options options;
    options.listen.address = "127.0.0.1";
    auto srv = http::server::start(rt, options, [](http::request& req) -> task<http::response> {
        ws::accept_options accept;
        accept.connection.max_message_size = 64 * 1024 * 1024;
        if (req.path() == "/stream") {
            accept.deflate.enabled = true;
            co_return ws::accept(req, accept, stream_then_echo);
        }
        if (req.path() == "/echo") {
            accept.deflate.enabled = true;
        } else if (req.path() != "/echo-plain") {
            co_return http::response::text("no", http::status::not_found);
        }
        co_return ws::accept(req, accept, echo);
    });
    if (!srv) {
        std::fprintf(stderr, "serve: %s\n", srv.error().message().c_str());
        return 1;
    }
    std::printf("port %u\n", srv->port());
    std::fflush(stdout);
    rt.run();
    return 0;
}

struct tally {
    int passed = 0;
    int failed = 0;
    void check(bool ok, std::string_view what)
    {
        if (ok) {
            ++passed;
        } else {
            ++failed;
            std::fprintf(stderr, "FAILED: %.*s\n", static_cast<int>(what.size()), what.data());
        }
    }
};

task<void> client_checks(std::string url, bool deflate, tally& t)
{
    ws::client_options options;
    options.deflate.enabled = deflate;
    options.connection.max_message_size = 64 * 1024 * 1024;
    auto conn = co_await ws::connect(url, options);
    t.check(conn.has_value(), "connect");
    if (!conn) {
        co_return;
    }
    t.check(conn->compressed() == deflate, "permessage-deflate negotiated as offered");
    for (std::size_t size : {0, 1, 125, 126, 65535, 65536, 1 << 20, 8 << 20}) {
        std::string text(size, 'a');
        for (std::size_t i = 0; i < size; ++i) {
            text[i] = static_cast<char>('a' + (i * 7) % 26);
        }
        auto sent = co_await conn->send_text(text);
        auto echoed = co_await conn->read();
        t.check(sent && echoed && echoed->is_text() && echoed->data == text,
                "text echo of " + std::to_string(size));
        std::string binary(size, '\0');
        for (std::size_t i = 0; i < size; ++i) {
            binary[i] = static_cast<char>(i * 13);
        }
        auto sent_binary = co_await conn->send_binary(binary);
        auto echoed_binary = co_await conn->read();
        t.check(sent_binary && echoed_binary && !echoed_binary->is_text() && echoed_binary->data == binary,
                "binary echo of " + std::to_string(size));
    }
    auto a = co_await conn->send_fragment(ws::message_type::text, "frag", false);
    auto p = co_await conn->ping("between fragments");
    auto b = co_await conn->send_fragment(ws::message_type::text, "mented \xe2\x82", false);
    auto c = co_await conn->send_fragment(ws::message_type::text, "\xac", true);
    auto whole = co_await conn->read();
    t.check(a && p && b && c && whole && whole->data == "fragmented \xe2\x82\xac",
            "fragmented message (split code point, ping in between) echoed whole");
    auto closed = co_await conn->close(4321, "covet bye");
    t.check(closed.has_value() && conn->close_code() == 4321, "close handshake echoes 4321");
}

int client(std::string url)
{
    tally t;
    net::block_on([](std::string u, tally& tl) -> task<void> {
        auto plain = co_await net::with_timeout(client_checks(u, false, tl), 60s);
        tl.check(plain.has_value(), "plain run within 60 s");
        auto compressed = co_await net::with_timeout(client_checks(u, true, tl), 60s);
        tl.check(compressed.has_value(), "deflate run within 60 s");
    }(std::move(url), t));
    std::printf("%d passed, %d failed\n", t.passed, t.failed);
    return t.failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv)
{
    const std::string_view mode = argc > 1 ? argv[1] : "";
    if (mode == "serve") {
        return serve();
    }
    if (mode == "client" && argc > 2) {
        return client(argv[2]);
    }
    std::fprintf(stderr, "usage: covet_ws_interop_peer serve | client URL\n");
    return 2;
}
