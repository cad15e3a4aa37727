// HTTP/2 over real sockets: curl and nghttp (Debian nghttp2-client) against
// the server, the same handler as HTTP/1.1.

#include "h2_test_support.hpp"
#include "temp_dir.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <set>
#include <thread>

using namespace covet::http;
using namespace covet::http::testing;

TEST_CASE("h2c prior knowledge: curl gets the same response as over HTTP/1.1")
{
    h2_server s;
    auto r =
        run_command("curl -s --http2-prior-knowledge --max-time 10 -w ' %{http_version} %{response_code}' " +
                    s.url("/hello"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == "Hello, World! 2 200");

    auto headers =
        run_command("curl -s -D - -o /dev/null --http2-prior-knowledge --max-time 10 " + s.url("/hello"));
    REQUIRE(headers.status == 0);
    CHECK(headers.output.rfind("HTTP/2 200", 0) == 0);
    CHECK(headers.output.find("content-type: text/plain; charset=utf-8") != std::string::npos);
    CHECK(headers.output.find("content-length: 13") != std::string::npos);
    CHECK(headers.output.find("server: covet") != std::string::npos);
    CHECK(headers.output.find("date: ") != std::string::npos);
    CHECK(headers.output.find("x-custom: Value") != std::string::npos);

    // Host comes from :authority; the handler saw method and query as usual.
    auto host = run_command("curl -s --http2-prior-knowledge --max-time 10 " + s.url("/host?q=a%20b"));
    CHECK(host.output == "127.0.0.1:" + std::to_string(s.port()) + " GET a b");

    // HTTP/1.1 still works on the same port.
    auto plain = run_command("curl -s --http1.1 --max-time 10 -w ' %{http_version}' " + s.url("/hello"));
    CHECK(plain.output == "Hello, World! 1.1");
}

TEST_CASE("h2c: request bodies, buffered and streamed, 10 MiB each way")
{
    h2_server s;
    auto echo = run_command("curl -s --http2-prior-knowledge --max-time 10 --data-binary 'posted by curl' " +
                            s.url("/echo"));
    REQUIRE(echo.status == 0);
    CHECK(echo.output == "POST posted by curl");

    temp_file upload(10 * 1024 * 1024);
    for (const char* path : {"/size", "/streamed/size"}) {
        auto r = run_command("curl -s --http2-prior-knowledge --max-time 30 --data-binary @" + upload.path +
                             " " + s.url(path));
        REQUIRE_MESSAGE(r.status == 0, path);
        CHECK_MESSAGE(r.output == std::to_string(upload.size) + " " + std::to_string(upload.checksum), path);
    }

    auto big = run_command(
        "curl -s --http2-prior-knowledge --max-time 30 -o /dev/null "
        "-w '%{size_download} %{http_version}' " +
        s.url("/big?n=10485760"));
    REQUIRE(big.status == 0);
    CHECK(big.output == "10485760 2");
}

TEST_CASE("h2c: file, streamed and HEAD responses")
{
    h2_server s;
    auto file = run_command("curl -s --http2-prior-knowledge --max-time 10 " + s.url("/file") + " | cksum");
    REQUIRE(file.status == 0);
    auto expected = run_command("cksum < " + s.file.path);
    CHECK(file.output == expected.output);

    auto streamed = run_command("curl -s --http2-prior-knowledge --max-time 10 " + s.url("/stream"));
    CHECK(streamed.output == "one two three");

    auto head = run_command("curl -s -I --http2-prior-knowledge --max-time 10 " + s.url("/hello"));
    CHECK(head.output.rfind("HTTP/2 200", 0) == 0);
    CHECK(head.output.find("content-length: 13") != std::string::npos);

    auto missing = run_command("curl -s --http2-prior-knowledge --max-time 10 -w ' %{response_code}' " +
                               s.url("/nowhere"));
    CHECK(missing.output == "Not Found\n 404");
    auto thrown = run_command("curl -s --http2-prior-knowledge --max-time 10 -w ' %{response_code}' " +
                              s.url("/throw"));
    CHECK(thrown.output == "Internal Server Error\n 500");
}

TEST_CASE("h2c: large request headers within the limit")
{
    h2_server s;
    const std::string value(32 * 1024, 'h');
    auto r = run_command("curl -s --http2-prior-knowledge --max-time 10 -H 'X-Big: " + value + "' " +
                         s.url("/header-size"));
    REQUIRE(r.status == 0);
    CHECK(r.output == std::to_string(value.size()));
}

TEST_CASE("h2c: nghttp multiplexes 100 streams on one connection, handled concurrently")
{
    h2_server s;
    const auto before = s.srv->requests_handled();
    auto r = run_command("nghttp -m 100 -t 20 " + s.url("/concurrent"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == std::string(100, 'c'));
    CHECK(s.srv->requests_handled() - before == 100);
    CHECK(s.srv->connections_accepted() == 1);
    // Each handler sleeps 100 ms: all of them were in flight together.
    CHECK(max_in_flight.load() >= 50);
}

TEST_CASE("h2c: nghttp sends a POST body and reads a streamed response")
{
    h2_server s;
    temp_file upload(1024 * 1024);
    auto r = run_command("nghttp -t 20 -d " + upload.path + " " + s.url("/size"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == std::to_string(upload.size) + " " + std::to_string(upload.checksum));
    auto streamed = run_command("nghttp -t 20 " + s.url("/stream"));
    CHECK(streamed.output == "one two three");
}

TEST_CASE("TLS: ALPN h2 and http/1.1 on the same port")
{
    h2_server s({}, true);
    auto h2 = run_command("curl -sk --http2 --max-time 10 -w ' %{http_version}' " + s.url("/hello"));
    REQUIRE_MESSAGE(h2.status == 0, h2.output);
    CHECK(h2.output == "Hello, World! 2");

    auto h1 = run_command("curl -sk --http1.1 --max-time 10 -w ' %{http_version}' " + s.url("/hello"));
    REQUIRE(h1.status == 0);
    CHECK(h1.output == "Hello, World! 1.1");

    // File bodies: pread + write over TLS for HTTP/1.1, DATA frames for h2.
    auto expected = run_command("cksum < " + s.file.path);
    for (const char* version : {"--http1.1", "--http2"}) {
        auto file =
            run_command(std::string("curl -sk --max-time 10 ") + version + " " + s.url("/file") + " | cksum");
        CHECK_MESSAGE(file.output == expected.output, version);
    }
    auto posted = run_command("curl -sk --http2 --max-time 10 --data-binary 'over tls' " + s.url("/echo"));
    CHECK(posted.output == "POST over tls");

    // nghttp negotiates h2 with ALPN (it does not verify the certificate).
    auto multiplexed = run_command("nghttp -m 20 -t 20 " + s.url("/concurrent"));
    REQUIRE_MESSAGE(multiplexed.status == 0, multiplexed.output);
    CHECK(multiplexed.output == std::string(20, 'c'));

    // A plaintext client on the TLS port gets nowhere, and the server lives on.
    auto plain = run_command("curl -s --max-time 5 -o /dev/null -w '%{http_code}' http://127.0.0.1:" +
                             std::to_string(s.port()) + "/hello");
    CHECK(plain.output != "200");
    auto again = run_command("curl -sk --http2 --max-time 10 " + s.url("/hello"));
    CHECK(again.output == "Hello, World!");
}

TEST_CASE("h2c upgrade from HTTP/1.1: the upgrading request is answered as stream 1")
{
    h2_server s;
    auto r = run_command("curl -s --http2 --max-time 10 -w ' %{http_version}' " + s.url("/host?q=up"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    CHECK(r.output == "127.0.0.1:" + std::to_string(s.port()) + " GET up 2");

    auto verbose = run_command("curl -sv --http2 --max-time 10 " + s.url("/hello") + " 2>&1");
    CHECK(verbose.output.find("HTTP/1.1 101 Switching Protocols") != std::string::npos);
    CHECK(verbose.output.find("HTTP/2 200") != std::string::npos);

    // nghttp -u upgrades, then multiplexes more streams on the same connection.
    auto multi = run_command("nghttp -u -m 10 -t 20 " + s.url("/concurrent"));
    REQUIRE_MESSAGE(multi.status == 0, multi.output);
    CHECK(multi.output == std::string(10, 'c'));

    // The request body of the upgrading request reaches the handler.
    auto posted = run_command("nghttp -u -t 20 -d " + s.file.path + " " + s.url("/size"));
    REQUIRE_MESSAGE(posted.status == 0, posted.output);
    CHECK(posted.output.rfind(std::to_string(s.file.size) + " ", 0) == 0);
}

namespace {

constexpr std::uint8_t data_frame = 0, headers_frame = 1, rst_stream_frame = 3, goaway_frame = 7;
constexpr long enhance_your_calm = 0xb;

// A trailer section with one field, x-checksum: 42 (HPACK literal without indexing).
std::string trailer_block()
{
    return std::string("\x00\x0ax-checksum\x02", 13) + "42";
}

bool response_complete(const raw_h2::frame& f, std::uint32_t stream)
{
    return f.stream == stream && (f.type == data_frame || f.type == headers_frame) && (f.flags & 0x1) != 0;
}

}  // namespace

TEST_CASE("RST_STREAM cancels the handler's task, the connection lives on")
{
    h2_server s;
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    const int started = handlers_started.load();
    const int cancelled = handlers_cancelled.load();
    REQUIRE(c.request(1, "/wait"));
    for (int i = 0; i < 100 && handlers_started.load() == started; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(handlers_started.load() == started + 1);
    REQUIRE(c.reset(1));
    for (int i = 0; i < 200 && handlers_cancelled.load() == cancelled; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(handlers_cancelled.load() == cancelled + 1);

    // The next handler on this connection (run by the same runner) awaits
    // normally: the cancellation ended with the reset stream's handler.
    REQUIRE(c.request(3, "/concurrent"));
    CHECK(c.read_until([](const raw_h2::frame& f) { return response_complete(f, 3); }));
    std::string body;
    for (const auto& f : c.frames) {
        CHECK(f.stream != 1);  // nothing more for the reset stream
        if (f.type == data_frame && f.stream == 3) {
            body += f.payload;
        }
    }
    CHECK(body == "c");
}

TEST_CASE("RST_STREAM mid-body: a 10 MiB response and a streamed upload, reset halfway")
{
    h2_server s;
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    REQUIRE(c.request(1, "/big?n=10485760"));
    REQUIRE(c.read_until([](const raw_h2::frame& f) { return f.type == data_frame && f.stream == 1; }));
    REQUIRE(c.reset(1));

    REQUIRE(c.request(3, "/streamed/size", false, "POST"));
    REQUIRE(c.data(3, std::string(8000, 'u'), false));
    REQUIRE(c.reset(3));

    REQUIRE(c.request(5, "/hello"));
    CHECK(c.read_until([](const raw_h2::frame& f) { return response_complete(f, 5); }));
    CHECK(c.goaway_code(0ms) == -1);
}

TEST_CASE("GOAWAY on graceful stop: open streams finish, new ones are refused")
{
    auto s = std::make_unique<h2_server>();
    raw_h2 c(s->port());
    REQUIRE(c.preface());
    REQUIRE(c.request(1, "/concurrent"));  // answers after 100 ms
    std::this_thread::sleep_for(30ms);
    s->rt.request_stop();
    CHECK(c.read_until([](const raw_h2::frame& f) { return f.type == goaway_frame; }, 2s));
    CHECK(c.goaway_code(0ms) == 0);  // NO_ERROR
    CHECK(c.read_until([](const raw_h2::frame& f) { return response_complete(f, 1); }, 2s));
    CHECK(c.wait_closed(3s));
    s.reset();
}

TEST_CASE("idle HTTP/2 connections end with GOAWAY after the keep-alive timeout")
{
    server_options options;
    options.keep_alive_timeout = 200ms;
    h2_server s(options);
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    REQUIRE(c.request(1, "/hello"));
    REQUIRE(c.read_until([](const raw_h2::frame& f) { return response_complete(f, 1); }));
    CHECK(c.goaway_code(2s) == 0);
    CHECK(c.wait_closed(2s));
}

TEST_CASE("attack: rapid reset (CVE-2023-44487) ends the connection with ENHANCE_YOUR_CALM")
{
    server_options options;
    options.http2.reset_burst = 100;
    options.http2.resets_per_second = 10;
    h2_server s(options);
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    const int started = handlers_started.load();
    std::string burst;
    for (std::uint32_t id = 1; id < 2 * 1000; id += 2) {
        burst += raw_h2::make_frame(1, 0x5, id, c.header_block("GET", "/wait"));
        burst += raw_h2::make_frame(3, 0, id, raw_h2::u32(NGHTTP2_CANCEL));
    }
    (void)c.send(burst);  // the server may close before it read everything
    const long code = c.goaway_code(5s);
    CHECK((code == enhance_your_calm || code == NGHTTP2_INTERNAL_ERROR));
    CHECK(c.wait_closed(5s));
    // Streams reset in the same read never reach a handler.
    CHECK(handlers_started.load() - started < 200);
    // The server still serves others.
    auto r = run_command("curl -s --http2-prior-knowledge --max-time 10 " + s.url("/hello"));
    CHECK(r.output == "Hello, World!");
}

TEST_CASE("attack: CONTINUATION flood ends the connection")
{
    h2_server s;
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    const std::string block = c.header_block("GET", "/hello");
    std::string flood = raw_h2::make_frame(1, 0x1, 1, block);  // HEADERS without END_HEADERS
    // Each CONTINUATION carries one more literal field ("x: y").
    const std::string fragment = raw_h2::make_frame(9, 0, 1, std::string_view("\x40\x01x\x01y", 5));
    for (int i = 0; i < 10000; ++i) {
        flood += fragment;
    }
    (void)c.send(flood);
    CHECK(c.goaway_code(5s) > 0);
    CHECK(c.wait_closed(5s));
}

TEST_CASE("attack: HPACK bomb: the stream is reset at the header list limit, memory stays small")
{
    h2_server s;
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    // One 4000-byte field stored in the dynamic table, then 12000 one-byte
    // references to it: 48 MB of decoded fields from a 12 KB frame.
    std::string block = "\x82\x86\x84";  // :method GET, :scheme http, :path /
    block += '\x40';                     // literal with incremental indexing, new name
    block += '\x06';
    block += "x-bomb";
    block += "\x7f\xa1\x1e";  // value length 4000 (7-bit prefix integer)
    block += std::string(4000, 'b');
    block += std::string(12000, '\xbe');  // indexed field 62: the entry above
    REQUIRE(c.send(raw_h2::make_frame(1, 0x5, 1, block)));
    CHECK(c.read_until([](const raw_h2::frame& f) { return f.type == rst_stream_frame && f.stream == 1; }));
    // A well-behaved request on the same connection is still answered.
    REQUIRE(c.request(3, "/hello"));
    CHECK(c.read_until([](const raw_h2::frame& f) { return response_complete(f, 3); }));
}

TEST_CASE("attack: PING and SETTINGS floods end the connection with ENHANCE_YOUR_CALM")
{
    for (const std::uint8_t type : {std::uint8_t{6}, std::uint8_t{4}}) {
        h2_server s;
        raw_h2 c(s.port());
        REQUIRE(c.preface());
        std::string flood;
        for (int i = 0; i < 5000; ++i) {
            flood += raw_h2::make_frame(type, 0, 0, type == 6 ? std::string(8, 'p') : std::string());
        }
        (void)c.send(flood);
        CHECK_MESSAGE(c.goaway_code(5s) == enhance_your_calm, "frame type " << int(type));
        CHECK(c.wait_closed(5s));
    }
}

TEST_CASE("h2c: request trailers reach the handler, gzip applies as over HTTP/1.1")
{
    server_options options;
    options.compression.enabled = true;
    h2_server s(options);
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    REQUIRE(c.request(1, "/trailers", false, "POST"));
    REQUIRE(c.data(1, "body", false));
    REQUIRE(c.send(raw_h2::make_frame(1, 0x5, 1, trailer_block())));
    REQUIRE(c.read_until([](const raw_h2::frame& f) { return response_complete(f, 1); }));
    std::string body;
    for (const auto& f : c.frames) {
        if (f.type == data_frame && f.stream == 1) {
            body += f.payload;
        }
    }
    CHECK(body == "body x-checksum=42");

    auto gzip = run_command("curl -s --http2-prior-knowledge --compressed --max-time 10 -D - -o /dev/null " +
                            s.url("/compressible"));
    CHECK(gzip.output.find("content-encoding: gzip") != std::string::npos);
    auto plain =
        run_command("curl -s --http2-prior-knowledge --compressed --max-time 10 " + s.url("/compressible"));
    CHECK(plain.output == std::string(4096, 'z'));
}

TEST_CASE("h2c: a small per-connection body budget slows uploads down but never deadlocks them")
{
    server_options options;
    options.http2.max_buffered_body_per_connection = 64 * 1024;
    h2_server s(options);
    temp_file upload(2 * 1024 * 1024);
    // Four 2 MiB uploads at once on one connection, 64 KiB of budget.
    auto r = run_command("nghttp -t 30 -m 4 -d " + upload.path + " " + s.url("/size"));
    REQUIRE_MESSAGE(r.status == 0, r.output);
    const std::string one = std::to_string(upload.size) + " " + std::to_string(upload.checksum);
    CHECK(r.output == one + one + one + one);
}

TEST_CASE("h2c: a header list over max_header_list_size resets the stream, the connection lives on")
{
    h2_server s;
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    // 80 KiB of fields (default limit 64 KiB), split into HEADERS + CONTINUATION frames.
    const std::string block = c.header_block("GET", "/hello", {{"x-big", std::string(80 * 1024, 'h')}});
    std::string frames;
    const std::size_t piece = 16 * 1024;
    for (std::size_t at = 0; at < block.size(); at += piece) {
        const bool first = at == 0;
        const bool last = at + piece >= block.size();
        const std::uint8_t flags = static_cast<std::uint8_t>((first ? 0x1 : 0x0) | (last ? 0x4 : 0x0));
        frames += raw_h2::make_frame(first ? 1 : 9, flags, 1, std::string_view(block).substr(at, piece));
    }
    REQUIRE(c.send(frames));
    CHECK(c.read_until([](const raw_h2::frame& f) { return f.type == rst_stream_frame && f.stream == 1; }));
    REQUIRE(c.request(3, "/hello"));
    CHECK(c.read_until([](const raw_h2::frame& f) { return response_complete(f, 3); }));
}

TEST_CASE("h2: a 10 MiB file and byte ranges, h2c (sendfile) and h2 over TLS (pread)")
{
    covet::testing::temp_dir dir("covet-h2-files");
    temp_file big(10 * 1024 * 1024);
    std::filesystem::copy_file(big.path, dir.path / "big.bin");
    auto files = static_files::open({.root = dir.path});
    REQUIRE(files.has_value());
    test_static_files.emplace(std::move(*files));
    const std::string file = (dir.path / "big.bin").string();
    const auto expected = run_command("cksum < " + file).output;
    const auto slice = [&](std::size_t from, std::size_t count) {
        return run_command("tail -c +" + std::to_string(from + 1) + " " + file + " | head -c " +
                           std::to_string(count) + " | cksum")
            .output;
    };
    for (const bool tls : {false, true}) {
        CAPTURE(tls);
        h2_server s({}, tls);
        const std::string curl =
            tls ? "curl -sk --http2 --max-time 30 " : "curl -s --http2-prior-knowledge --max-time 30 ";
        const std::string url = s.url("/static/big.bin");

        auto whole = run_command(curl + url + " | cksum");
        REQUIRE(whole.status == 0);
        CHECK(whole.output == expected);
        auto version = run_command(curl + "-o /dev/null -w '%{http_version} %{size_download}' " + url);
        CHECK(version.output == "2 " + std::to_string(big.size));

        // A range across many DATA frames, a suffix range, and one within a frame.
        auto middle = run_command(curl + "-r 1000-2000999 " + url + " | cksum");
        CHECK(middle.output == slice(1000, 2000000));
        auto suffix = run_command(curl + "-r -70000 " + url + " | cksum");
        CHECK(suffix.output == slice(big.size - 70000, 70000));
        auto small = run_command(curl + "-w ' %{response_code}' -r 5-9 " + url);
        CHECK(small.output ==
              std::string(std::string_view(run_command("head -c 10 " + file).output).substr(5)) + " 206");
        auto multi = run_command(curl + "-D - -o /dev/null -r 0-99,5000000-5000099 " + url);
        CHECK(multi.output.find("HTTP/2 206") == 0);
        CHECK(multi.output.find("multipart/byteranges") != std::string::npos);

        if (!tls) {
            // Four 10 MiB bodies interleaved on one connection (nghttp prints
            // DATA as it comes): file pieces of several streams share batches.
            auto four = run_command("nghttp -t 60 -m 4 " + url + " | wc -c");
            CHECK(std::stoul(four.output) == 4 * big.size);
        }
    }
    test_static_files.reset();
}

TEST_CASE("h2c: a client that half-closes while a runner's write waits on a full socket: the connection ends")
{
    // One connection per worker: a second one is served only once the first
    // connection has really ended (its reader, writer and runners gone).
    server_options options;
    options.max_connections_per_worker = 1;
    h2_server s(options);
    raw_h2 first(s.port());
    REQUIRE(first.preface());
    // SETTINGS_INITIAL_WINDOW_SIZE 2^30: the runner that handles the request
    // writes the 32 MiB body itself and waits on a full socket.
    REQUIRE(first.send(raw_h2::make_frame(4, 0, 0, std::string("\0\x04", 2) + raw_h2::u32(1u << 30))));
    REQUIRE(first.request(1, "/big?n=33554432"));
    CHECK(first.read_until([](const raw_h2::frame& f) { return f.type == data_frame && f.stream == 1; }));
    std::this_thread::sleep_for(100ms);
    // End of input while the write still waits: the reader starts the
    // teardown, which must not wait for the writer forever.
    ::shutdown(first.fd, SHUT_WR);
    bool served = false;
    for (int attempt = 0; attempt < 30 && !served; ++attempt) {
        raw_h2 c(s.port());
        served = c.preface() && c.request(1, "/hello") &&
                 c.read_until([](const raw_h2::frame& f) { return response_complete(f, 1); }, 200ms);
        if (!served) {
            std::this_thread::sleep_for(100ms);
        }
    }
    CHECK(served);
}

TEST_CASE("h2c: the server announces no RFC 7540 priorities, and PRIORITY frames and signals are still accepted")
{
    h2_server s;
    raw_h2 c(s.port());
    REQUIRE(c.preface());
    // SETTINGS_NO_RFC7540_PRIORITIES (0x9) = 1 in the server's first SETTINGS (RFC 9218 2.1).
    REQUIRE(c.read_until([](const raw_h2::frame& f) { return f.type == 4 && (f.flags & 1) == 0; }));
    bool no_rfc7540_priorities = false;
    for (const auto& f : c.frames) {
        if (f.type != 4 || (f.flags & 1) != 0) {
            continue;
        }
        for (std::size_t i = 0; i + 6 <= f.payload.size(); i += 6) {
            const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(f.payload[i + k]); };
            const unsigned id = byte(0) << 8 | byte(1);
            const std::uint32_t value = std::uint32_t{byte(2)} << 24 | std::uint32_t{byte(3)} << 16 |
                                        std::uint32_t{byte(4)} << 8 | std::uint32_t{byte(5)};
            no_rfc7540_priorities = no_rfc7540_priorities || (id == 0x9 && value == 1);
        }
    }
    CHECK(no_rfc7540_priorities);

    // RFC 9113 5.3.2: PRIORITY frames are still parsed, for idle, open and
    // closed streams, and a HEADERS frame may carry the PRIORITY flag.
    const std::string priority = raw_h2::u32(0) + std::string(1, '\x0f');  // depends on 0, weight 16
    REQUIRE(c.send(raw_h2::make_frame(2, 0, 1, priority)));
    REQUIRE(c.send(raw_h2::make_frame(2, 0, 9, raw_h2::u32(0x80000001u) + std::string(1, '\xff'))));
    REQUIRE(c.send(raw_h2::make_frame(1, 0x25, 1, priority + c.header_block("GET", "/hello"))));
    // RFC 9218 4: a priority field is a hint, never an error.
    REQUIRE(c.send(raw_h2::make_frame(1, 0x5, 3, c.header_block("GET", "/hello", {{"priority", "u=1, i"}}))));
    REQUIRE(c.send(raw_h2::make_frame(2, 0, 1, priority)));  // stream 1 may be closed by now
    REQUIRE(c.request(5, "/hello"));
    std::set<std::uint32_t> complete;
    CHECK(c.read_until([&](const raw_h2::frame& f) {
        if (response_complete(f, f.stream)) {
            complete.insert(f.stream);
        }
        return complete.size() == 3;
    }));
    CHECK(complete == std::set<std::uint32_t>{1, 3, 5});
    for (const auto& f : c.frames) {
        CHECK(f.type != rst_stream_frame);
        CHECK(f.type != goaway_frame);
    }
}
