// ws::accept + ws::connection + ws::connect over real sockets on 127.0.0.1.
#include "ws_test_support.hpp"

#include <covet/ws/deflate.hpp>

#include <thread>

using namespace covet;
using namespace covet::ws;
using namespace covet::ws::testing;

TEST_CASE("accept_key: the RFC 6455 section 1.3 example")
{
    CHECK(accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST_CASE("parse_url: schemes, ports, IPv6, paths")
{
    auto a = parse_url("ws://example.com/chat?x=1");
    REQUIRE(a.has_value());
    CHECK(a->host == "example.com");
    CHECK(a->port == 80);
    CHECK(a->target == "/chat?x=1");
    CHECK_FALSE(a->secure);
    auto b = parse_url("wss://[::1]:8443");
    REQUIRE(b.has_value());
    CHECK(b->host == "::1");
    CHECK(b->port == 8443);
    CHECK(b->target == "/");
    CHECK(b->secure);
    CHECK_FALSE(parse_url("http://x/").has_value());
    CHECK_FALSE(parse_url("ws://:80/").has_value());
    CHECK_FALSE(parse_url("ws://x:99999/").has_value());
}

TEST_CASE("handshake: 101 with the accept key, 400, 426 and 403 for bad requests")
{
    ws_server server;
    const auto port = server.port();
    run_client([port]() -> task<void> {
        const std::string ok = co_await raw_exchange(port, upgrade_request("/echo"), 200ms);
        CHECK(ok.rfind("HTTP/1.1 101 Switching Protocols\r\n", 0) == 0);
        CHECK(ok.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != std::string::npos);
        CHECK(ok.find("Upgrade: websocket\r\n") != std::string::npos);
        CHECK(ok.find("Connection: Upgrade\r\n") != std::string::npos);

        const std::string post = co_await raw_exchange(
            port,
            "POST /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: "
            "0\r\n\r\n");
        CHECK(post.rfind("HTTP/1.1 400", 0) == 0);

        const std::string no_connection = co_await raw_exchange(
            port,
            "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        CHECK(no_connection.rfind("HTTP/1.1 400", 0) == 0);

        const std::string bad_key = co_await raw_exchange(
            port,
            "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
            "Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n");
        CHECK(bad_key.rfind("HTTP/1.1 400", 0) == 0);

        const std::string old_version = co_await raw_exchange(
            port,
            "GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n");
        CHECK(old_version.rfind("HTTP/1.1 426 Upgrade Required\r\n", 0) == 0);
        CHECK(old_version.find("Sec-WebSocket-Version: 13\r\n") != std::string::npos);

        const std::string refused =
            co_await raw_exchange(port, upgrade_request("/origin", "Origin: https://evil.example\r\n"));
        CHECK(refused.rfind("HTTP/1.1 403", 0) == 0);
        const std::string allowed = co_await raw_exchange(
            port, upgrade_request("/origin", "Origin: https://good.example\r\n"), 200ms);
        CHECK(allowed.rfind("HTTP/1.1 101", 0) == 0);
    });
}

TEST_CASE("client echo: text and binary of many sizes, including 0 and 1 MiB, by read() and by read(message&)")
{
    ws_server server;
    const std::string url = server.url("/echo");
    run_client([url]() -> task<void> {
        auto conn = co_await connect(url);
        REQUIRE(conn.has_value());
        message reused;  // the binary echoes are read into it, the text ones by value
        for (std::size_t size : {0, 1, 125, 126, 127, 65535, 65536, 65537, 1 << 20, 3}) {
            CAPTURE(size);
            std::string payload(size, 'x');
            for (std::size_t i = 0; i < size; ++i) {
                payload[i] = static_cast<char>('a' + i % 26);
            }
            auto sent = co_await conn->send_text(payload);
            REQUIRE(sent.has_value());
            auto echoed = co_await conn->read();
            REQUIRE(echoed.has_value());
            CHECK(echoed->is_text());
            CHECK(echoed->data == payload);
            std::string binary(size, '\0');
            for (std::size_t i = 0; i < size; ++i) {
                binary[i] = static_cast<char>(i * 31);
            }
            auto sent_binary = co_await conn->send_binary(binary);
            REQUIRE(sent_binary.has_value());
            auto echoed_binary = co_await conn->read(reused);
            REQUIRE(echoed_binary.has_value());
            CHECK_FALSE(reused.is_text());
            CHECK(reused.data == binary);
        }
        auto closed = co_await conn->close(1000, "done");
        CHECK(closed.has_value());
        CHECK(conn->close_code() == 1000);
        CHECK_FALSE(conn->is_open());
        auto after_close = co_await conn->read(reused);
        REQUIRE_FALSE(after_close.has_value());
        CHECK(after_close.error() == make_error_code(error::closed));
    });
}

TEST_CASE("fragments: a streamed server message arrives whole, a fragmented client message is echoed whole")
{
    ws_server server;
    const std::string url = server.url("/stream");
    run_client([url]() -> task<void> {
        auto conn = co_await connect(url);
        REQUIRE(conn.has_value());
        auto streamed = co_await conn->read();
        REQUIRE(streamed.has_value());
        CHECK(streamed->data == "part one, part two, end");
        auto a = co_await conn->send_fragment(message_type::binary, "abc", false);
        auto p = co_await conn->ping("mid-message");
        auto b = co_await conn->send_fragment(message_type::binary, "", false);
        auto c = co_await conn->send_fragment(message_type::binary, "def", true);
        CHECK((a && p && b && c));
        auto echoed = co_await conn->read();
        REQUIRE(echoed.has_value());
        CHECK(echoed->data == "abcdef");
        CHECK_FALSE(echoed->is_text());
        auto closed = co_await conn->close();
        CHECK(closed.has_value());
    });
}

TEST_CASE("pipelined messages: the replies, batched by the server, come back whole and in order")
{
    ws_server server;
    const std::string url = server.url("/echo");
    run_client([url]() -> task<void> {
        auto conn = co_await connect(url);
        REQUIRE(conn.has_value());
        // Many messages before reading any echo: the server reads several per
        // receive and queues its replies while more input waits.
        constexpr int count = 300;
        for (int i = 0; i < count; ++i) {
            const std::string payload =
                "message " + std::to_string(i) + std::string(static_cast<std::size_t>(i * 7), 'p');
            auto sent = co_await conn->send_text(payload);
            REQUIRE(sent.has_value());
        }
        for (int i = 0; i < count; ++i) {
            auto echoed = co_await conn->read();
            REQUIRE(echoed.has_value());
            CHECK(echoed->data ==
                  "message " + std::to_string(i) + std::string(static_cast<std::size_t>(i * 7), 'p'));
        }
        auto closed = co_await conn->close();
        CHECK(closed.has_value());
    });
}

TEST_CASE("end of stream with the last message: the server's read ends, soon")
{
    // The server receives its reads without a receive that finds nothing
    // first (direct_io.hpp): a FIN that comes in with the last bytes raises no
    // readiness event of its own, and its read must still end (the sweeper
    // makes a silent connection receive once more).
    ws_server server;
    const auto port = server.port();
    run_client(
        [port]() -> task<void> {
            for (int round = 0; round < 5; ++round) {
                auto stream = co_await net::connect("127.0.0.1", port);
                REQUIRE(stream.has_value());
                stream->set_timeouts({3s, 2s});
                std::string request = upgrade_request("/eof");
                REQUIRE((co_await stream->write(asio::buffer(request))).has_value());
                std::string received;
                std::array<char, 4096> chunk;
                // The 101, then a few echoes one at a time, so that the server's
                // reads wait for readiness.
                std::size_t expected = 0;
                for (int i = 0; i <= 4; ++i) {
                    if (i > 0) {
                        const std::string frame =
                            client_frame(opcode::binary, "message " + std::to_string(i));
                        REQUIRE((co_await stream->write(asio::buffer(frame))).has_value());
                        expected += 2 + 9;
                    }
                    while (received.find("\r\n\r\n") == std::string::npos ||
                           received.size() - received.find("\r\n\r\n") - 4 < expected) {
                        auto n = co_await stream->read_some(asio::buffer(chunk));
                        REQUIRE(n.has_value());
                        received.append(chunk.data(), *n);
                    }
                }
                // The last message and the FIN together.
                const std::string last = client_frame(opcode::binary, "last");
                REQUIRE((co_await stream->write(asio::buffer(last))).has_value());
                std::error_code ignored;
                stream->socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
                const auto started = std::chrono::steady_clock::now();
                for (;;) {
                    auto n = co_await stream->read_some(asio::buffer(chunk));
                    if (!n) {
                        CHECK(n.error() == covet::errc::end_of_stream);
                        break;
                    }
                    received.append(chunk.data(), *n);
                }
                CHECK(std::chrono::steady_clock::now() - started < 2s);
                CHECK(received.ends_with(std::string("\x82\x04last", 6)));
            }
        },
        30s);
    // The server closes TCP just before its handler counts the end: under
    // load the client may see the close first (bounded wait).
    for (int i = 0; i < 200 && server.counters->ended != 5; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(server.counters->ended == 5);
}

TEST_CASE("send to a full socket: messages sent in part arrive whole and in order")
{
    ws_server server;
    const std::string url = server.url("/burst");
    run_client([url]() -> task<void> {
        auto conn = co_await connect(url);
        REQUIRE(conn.has_value());
        co_await net::sleep_for(300ms);  // the server's socket fills meanwhile
        for (int i = 0; i < burst_count; ++i) {
            auto msg = co_await conn->read();
            REQUIRE(msg.has_value());
            CHECK(msg->data == burst_message(i));
        }
        auto closed = co_await conn->close();
        CHECK(closed.has_value());
    });
}

TEST_CASE("subprotocol: the server's first preference the client offers")
{
    ws_server server;
    const std::string url = server.url("/proto");
    run_client([url]() -> task<void> {
        client_options options;
        options.subprotocols = {"chat.v1", "chat.v2"};
        auto conn = co_await connect(url, options);
        REQUIRE(conn.has_value());
        CHECK(conn->subprotocol() == "chat.v2");
        auto told = co_await conn->read();
        REQUIRE(told.has_value());
        CHECK(told->data == "chat.v2");
        auto none = co_await connect(url);
        REQUIRE(none.has_value());
        CHECK(none->subprotocol() == "");
        auto closed = co_await conn->close();
        auto closed2 = co_await none->close();
        CHECK((closed && closed2));
    });
}

TEST_CASE("close handshake started by the server: the client sees the code and reason")
{
    ws_server server;
    const std::string url = server.url("/server-closes");
    run_client([url]() -> task<void> {
        auto conn = co_await connect(url);
        REQUIRE(conn.has_value());
        auto msg = co_await conn->read();
        REQUIRE_FALSE(msg.has_value());
        CHECK(msg.error() == make_error_code(error::closed));
        CHECK(conn->close_code() == 4001);
        CHECK(conn->close_reason() == "server says bye");
        CHECK_FALSE(conn->is_open());
    });
    for (int i = 0; i < 100 && server.counters->ended == 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(server.counters->closed_with == 4001);
}

namespace {

// Handshakes on a raw socket, sends `frames`, returns what the server sent after the 101 head.
task<std::string> after_handshake(std::uint16_t port, std::string frames, std::string_view path = "/echo")
{
    std::string reply = co_await raw_exchange(port, upgrade_request(path) + frames, 1s);
    const std::size_t head_end = reply.find("\r\n\r\n");
    REQUIRE(head_end != std::string::npos);
    co_return reply.substr(head_end + 4);
}

std::uint16_t close_code_in(std::string_view frames)
{
    // The last frame must be a close frame from the server (unmasked).
    for (std::size_t at = 0; at + 2 <= frames.size();) {
        const auto op = static_cast<std::uint8_t>(frames[at]) & 0x0F;
        std::size_t length = static_cast<std::uint8_t>(frames[at + 1]) & 0x7F;
        std::size_t header = 2;
        if (length == 126) {
            length =
                (static_cast<std::uint8_t>(frames[at + 2]) << 8) | static_cast<std::uint8_t>(frames[at + 3]);
            header = 4;
        }
        if (op == 0x8 && length >= 2) {
            return static_cast<std::uint16_t>((static_cast<std::uint8_t>(frames[at + header]) << 8) |
                                              static_cast<std::uint8_t>(frames[at + header + 1]));
        }
        at += header + length;
    }
    return 0;
}

}  // namespace

TEST_CASE("violations are answered with the right close code, then TCP close")
{
    ws_server server;
    const auto port = server.port();
    run_client([port]() -> task<void> {
        // Unmasked client frame → 1002.
        std::string unmasked = "\x81\x02hi";
        CHECK(close_code_in(co_await after_handshake(port, unmasked)) == close_code::protocol_error);
        // Reserved opcode → 1002.
        CHECK(close_code_in(co_await after_handshake(port, client_frame(static_cast<opcode>(3), "x"))) ==
              close_code::protocol_error);
        // RSV1 without deflate → 1002.
        CHECK(close_code_in(co_await after_handshake(port, client_frame(opcode::text, "x", true, true))) ==
              close_code::protocol_error);
        // Invalid UTF-8 → 1007.
        CHECK(close_code_in(co_await after_handshake(port, client_frame(opcode::text, "\xc0\xaf"))) ==
              close_code::invalid_payload);
        // Continuation without a start → 1002.
        CHECK(close_code_in(co_await after_handshake(port, client_frame(opcode::continuation, "x"))) ==
              close_code::protocol_error);
        // Too big for /small (100 bytes) → 1009.
        CHECK(close_code_in(co_await after_handshake(
                  port, client_frame(opcode::binary, std::string(101, 'x')), "/small")) ==
              close_code::message_too_big);
        // Ping with 126 bytes → 1002.
        CHECK(close_code_in(co_await after_handshake(
                  port, client_frame(opcode::ping, std::string(126, 'p')))) == close_code::protocol_error);
        // A close with an invalid code → 1002; a valid close is echoed with its code.
        CHECK(close_code_in(co_await after_handshake(
                  port, client_frame(opcode::close, close_payload(1005, "")))) == close_code::protocol_error);
        CHECK(close_code_in(co_await after_handshake(
                  port, client_frame(opcode::close, close_payload(3333, "x")))) == 3333);
        // A ping is answered with a pong carrying the same payload.
        const std::string pong = co_await after_handshake(port, client_frame(opcode::ping, "are you there"));
        REQUIRE(pong.size() >= 15);
        CHECK(static_cast<std::uint8_t>(pong[0]) == 0x8A);
        CHECK(pong.substr(2, 13) == "are you there");
    });
}

TEST_CASE("keep-alive ping: a peer that never answers is dropped as dead")
{
    ws_server server;
    const auto port = server.port();
    run_client([port]() -> task<void> {
        // A raw client that completes the handshake and then never reads or answers pings.
        auto stream = co_await net::connect("127.0.0.1", port);
        REQUIRE(stream.has_value());
        const std::string request = upgrade_request("/ping");
        auto written = co_await stream->write(asio::buffer(request));
        REQUIRE(written.has_value());
        co_await net::sleep_for(600ms);
        stream->close();
    });
    for (int i = 0; i < 200 && server.counters->ended == 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(server.counters->dead_peers == 1);
}

TEST_CASE("keep-alive ping: a live client answers automatically and stays connected")
{
    ws_server server;
    const std::string url = server.url("/ping");
    run_client([url]() -> task<void> {
        auto conn = co_await connect(url);
        REQUIRE(conn.has_value());
        // The client's read() answers the server's pings while it waits.
        auto waited = co_await net::with_timeout(conn->read(), 500ms);
        CHECK(waited.error() == make_error_code(covet::errc::timed_out));
    });
    std::this_thread::sleep_for(50ms);
    CHECK(server.counters->dead_peers == 0);
}

namespace {

struct flood_outcome {
    int received = 0;
    std::uint16_t close_code = 0;
};

// Connects to a flooding endpoint (1 KiB 'f' messages), reads nothing for a
// while so that the server's queue fills, then reads everything the server
// managed to send up to its close.
task<flood_outcome> read_flood(std::string url)
{
    client_options options;
    options.connection.read_buffer_size = 512;
    auto conn = co_await connect(url, options);
    REQUIRE(conn.has_value());
    co_await net::sleep_for(800ms);
    flood_outcome outcome;
    for (;;) {
        auto msg = co_await conn->read();
        if (!msg) {
            CHECK(msg.error() == make_error_code(error::closed));
            break;
        }
        CHECK(msg->data == std::string(1024, 'f'));
        ++outcome.received;
    }
    outcome.close_code = conn->close_code();
    co_return outcome;
}

}  // namespace

TEST_CASE("backpressure: a bounded queue drops posts to a client that does not read")
{
    ws_server server;
    const std::string url = server.url("/flood");
    run_client(
        [url]() -> task<void> {
            const flood_outcome flood = co_await read_flood(url);
            CHECK(flood.received > 0);
            CHECK(flood.close_code == 1001);
        },
        20s);
    CHECK(server.counters->dropped == 1);
}

TEST_CASE("backpressure: under the close policy a full queue fails the connection with 1008")
{
    ws_server server;
    const std::string url = server.url("/flood-close");
    run_client(
        [url]() -> task<void> {
            // What was written before the queue overflowed, then the 1008 close.
            const flood_outcome flood = co_await read_flood(url);
            CHECK(flood.received < 20000);
            CHECK(flood.close_code == close_code::policy_violation);
        },
        20s);
    for (int i = 0; i < 200 && server.counters->ended == 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(server.counters->dropped == 1);
    CHECK(server.counters->ended == 1);
}

TEST_CASE("permessage-deflate: negotiated, compressed both ways, echo of many sizes")
{
    ws_server server;
    const std::string url = server.url("/deflate");
    run_client([url]() -> task<void> {
        client_options options;
        options.deflate.enabled = true;
        options.deflate.min_size = 0;
        auto conn = co_await connect(url, options);
        REQUIRE(conn.has_value());
        CHECK(conn->compressed());
        for (std::size_t size : {0, 1, 100, 10000, 300000}) {
            std::string payload;
            for (std::size_t i = 0; i < size; ++i) {
                payload.push_back(static_cast<char>('a' + (i * i) % 26));
            }
            auto sent = co_await conn->send_text(payload);
            REQUIRE(sent.has_value());
            auto echoed = co_await conn->read();
            REQUIRE(echoed.has_value());
            CHECK(echoed->data == payload);
        }
        auto closed = co_await conn->close();
        CHECK(closed.has_value());
    });
}

TEST_CASE("permessage-deflate: a streamed message is compressed, RSV1 on its first frame only")
{
    ws_server server;
    const std::uint16_t port = server.port();
    const std::string expected = streamed_part(0) + streamed_part(1) + streamed_part(2);
    run_client([port, expected]() -> task<void> {
        // The covet client reassembles and inflates it.
        client_options options;
        options.deflate.enabled = true;
        auto conn = co_await connect("ws://127.0.0.1:" + std::to_string(port) + "/stream-deflate", options);
        REQUIRE(conn.has_value());
        auto whole = co_await conn->read();
        REQUIRE(whole.has_value());
        CHECK(whole->data == expected);
        auto closed = co_await conn->close();
        CHECK(closed.has_value());

        // On the wire: three frames, RSV1 only on the first, far smaller than the text.
        const std::string raw = co_await raw_exchange(
            port, upgrade_request("/stream-deflate", "Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            300ms);
        const std::size_t body = raw.find("\r\n\r\n");
        REQUIRE(body != std::string::npos);
        std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(raw.data()) + body + 4,
                                            raw.size() - body - 4);
        std::string compressed;
        std::vector<frame_header> frames;
        while (!bytes.empty()) {
            frame_header h;
            std::size_t header_size = 0;
            REQUIRE(parse_header(bytes, h, header_size) == header_status::complete);
            REQUIRE(bytes.size() >= header_size + h.payload_length);
            compressed.append(reinterpret_cast<const char*>(bytes.data()) + header_size,
                              static_cast<std::size_t>(h.payload_length));
            bytes = bytes.subspan(header_size + static_cast<std::size_t>(h.payload_length));
            frames.push_back(h);
        }
        REQUIRE(frames.size() == 3);
        CHECK((frames[0].op == opcode::text && frames[0].rsv1 && !frames[0].fin));
        CHECK((frames[1].op == opcode::continuation && !frames[1].rsv1 && !frames[1].fin));
        CHECK((frames[2].op == opcode::continuation && !frames[2].rsv1 && frames[2].fin));
        CHECK(compressed.size() < expected.size() / 10);
        detail::deflate_codec codec(deflate_params{}, false, deflate_options{});
        std::string inflated;
        CHECK(codec.inflate(compressed, inflated, 1 << 20) == 0);
        CHECK(inflated == expected);
    });
}

TEST_CASE("permessage-deflate: negotiation rules of RFC 7692")
{
    deflate_options on;
    on.enabled = true;
    auto plain = negotiate_deflate("permessage-deflate", on);
    REQUIRE(plain.has_value());
    CHECK(deflate_response(*plain) == "permessage-deflate");
    auto bits =
        negotiate_deflate("permessage-deflate; client_max_window_bits; server_max_window_bits=10", on);
    REQUIRE(bits.has_value());
    CHECK(bits->server_max_window_bits == 10);
    CHECK(deflate_response(*bits) == "permessage-deflate; server_max_window_bits=10");
    auto takeover = negotiate_deflate("permessage-deflate; server_no_context_takeover", on);
    REQUIRE(takeover.has_value());
    CHECK(takeover->server_no_context_takeover);
    // Unknown or duplicate parameters decline that offer; the next one is taken.
    auto second = negotiate_deflate(
        "permessage-deflate; foo, permessage-deflate; client_max_window_bits=12; client_no_context_takeover",
        on);
    REQUIRE(second.has_value());
    CHECK(second->client_max_window_bits == 12);
    CHECK(second->client_no_context_takeover);
    CHECK_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=16", on).has_value());
    CHECK_FALSE(negotiate_deflate("permessage-deflate; server_max_window_bits=8", on).has_value());
    CHECK_FALSE(negotiate_deflate("x-webkit-deflate-frame", on).has_value());
    CHECK_FALSE(negotiate_deflate("permessage-deflate", deflate_options{}).has_value());
    // Client side: an answer must match the offer.
    CHECK(parse_deflate_response("permessage-deflate; server_max_window_bits=12", on).has_value());
    CHECK_FALSE(parse_deflate_response("permessage-deflate; bogus", on).has_value());
    CHECK_FALSE(parse_deflate_response("permessage-deflate, permessage-deflate", on).has_value());
}

TEST_CASE("permessage-deflate: a zip bomb is stopped at the size limit with 1009")
{
    deflate_options options;
    options.enabled = true;
    detail::deflate_codec sender(deflate_params{}, false, options);
    detail::deflate_codec receiver(deflate_params{}, true, options);
    const std::string huge(10 * 1024 * 1024, '\0');
    std::string compressed;
    REQUIRE(sender.compress(huge, compressed));
    CHECK(compressed.size() < 20 * 1024);
    std::string out;
    CHECK(receiver.inflate(compressed, out, 1024 * 1024) == close_code::message_too_big);
    CHECK(out.size() <= 1024 * 1024 + 1);
    // Exactly at the limit is fine.
    detail::deflate_codec sender2(deflate_params{}, false, options);
    detail::deflate_codec receiver2(deflate_params{}, true, options);
    const std::string exact(4096, 'q');
    REQUIRE(sender2.compress(exact, compressed));
    CHECK(receiver2.inflate(compressed, out, 4096) == 0);
    CHECK(out == exact);
    // Garbage is invalid data.
    CHECK(receiver2.inflate("\xff\xff\xff\xff garbage", out, 4096) == close_code::invalid_payload);
}

namespace {

// The server side of wss by hand (covet::http has no TLS listener yet): TLS
// accept, read the upgrade request, answer 101, then a server connection.
task<void> tls_echo_server(asio::ip::tcp::acceptor& acceptor, net::tls_context context)
{
    auto [ec, socket] = co_await acceptor.async_accept(net::nothrow);
    REQUIRE_FALSE(ec);
    net::tls_stream tls(std::move(socket), context);
    auto shaken = co_await tls.handshake_server();
    REQUIRE(shaken.has_value());
    std::string head;
    std::array<char, 1024> chunk;
    while (head.find("\r\n\r\n") == std::string::npos) {
        auto n = co_await tls.read_some(asio::buffer(chunk));
        REQUIRE(n.has_value());
        head.append(chunk.data(), *n);
    }
    const std::size_t key_at = head.find("Sec-WebSocket-Key: ");
    REQUIRE(key_at != std::string::npos);
    const std::string key = head.substr(key_at + 19, head.find("\r\n", key_at) - key_at - 19);
    const std::string reply =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        accept_key(key) + "\r\n\r\n";
    auto written = co_await tls.write(asio::buffer(reply));
    REQUIRE(written.has_value());
    connection conn(net::any_stream(std::move(tls)), head.substr(head.find("\r\n\r\n") + 4), role::server,
                    {});
    co_await echo_loop(conn);
}

}  // namespace

TEST_CASE("wss: the client over TLS, verified against the server's certificate")
{
    auto cert = net::make_self_signed_certificate();
    REQUIRE(cert.has_value());
    auto server_tls = net::tls_context::server(cert->certificate_pem, cert->private_key_pem);
    REQUIRE(server_tls.has_value());
    net::tls_client_options tls_options;
    tls_options.ca_certificates_pem = cert->certificate_pem;
    auto client_tls = net::tls_context::client(tls_options);
    REQUIRE(client_tls.has_value());
    run_client([server = *server_tls, client = *client_tls]() -> task<void> {
        auto executor = co_await asio::this_coro::executor;
        asio::ip::tcp::acceptor acceptor(executor, {asio::ip::make_address("127.0.0.1"), 0});
        const auto port = acceptor.local_endpoint().port();
        net::spawn(executor, tls_echo_server(acceptor, server));
        client_options o;
        o.tls = client;
        auto conn = co_await connect("wss://localhost:" + std::to_string(port) + "/echo", o);
        REQUIRE(conn.has_value());
        for (std::size_t size : {5, 70000}) {
            const std::string payload(size, 't');
            auto sent = co_await conn->send_text(payload);
            REQUIRE(sent.has_value());
            auto echoed = co_await conn->read();
            REQUIRE(echoed.has_value());
            CHECK(echoed->data == payload);
        }
        auto closed = co_await conn->close();
        CHECK(closed.has_value());
        co_await net::sleep_for(50ms);  // let the server's loop end before the acceptor goes
    });
}
