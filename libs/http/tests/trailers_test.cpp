// Response trailers over HTTP/2 (a trailing HEADERS frame that ends the
// stream) and HTTP/1.1 (the trailer section of a chunked body), checked with
// curl, nghttp and raw frames / raw bytes.

#include "h2_test_support.hpp"
#include "http_test_support.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <utility>
#include <vector>

using namespace covet::http;
using namespace covet::http::testing;

namespace {

using field_list = std::vector<std::pair<std::string, std::string>>;

// Decodes header blocks in the order the server sent them (HPACK is stateful).
struct header_decoder {
    header_decoder() { REQUIRE(nghttp2_hd_inflate_new(&inflater) == 0); }
    ~header_decoder() { nghttp2_hd_inflate_del(inflater); }
    header_decoder(const header_decoder&) = delete;
    header_decoder& operator=(const header_decoder&) = delete;

    field_list decode(std::string_view block)
    {
        field_list fields;
        auto* in = reinterpret_cast<std::uint8_t*>(const_cast<char*>(block.data()));
        std::size_t left = block.size();
        for (;;) {
            nghttp2_nv nv;
            int flags = 0;
            const auto n = nghttp2_hd_inflate_hd2(inflater, &nv, &flags, in, left, 1);
            REQUIRE(n >= 0);
            in += n;
            left -= static_cast<std::size_t>(n);
            if ((flags & NGHTTP2_HD_INFLATE_EMIT) != 0) {
                fields.emplace_back(std::string(reinterpret_cast<char*>(nv.name), nv.namelen),
                                    std::string(reinterpret_cast<char*>(nv.value), nv.valuelen));
            }
            if ((flags & NGHTTP2_HD_INFLATE_FINAL) != 0) {
                nghttp2_hd_inflate_end_headers(inflater);
                break;
            }
            if (n == 0 && (flags & NGHTTP2_HD_INFLATE_EMIT) == 0) {
                FAIL("truncated header block");
            }
        }
        return fields;
    }
    nghttp2_hd_inflater* inflater = nullptr;
};

// What one GET on stream 1 brought: the frame types and END_STREAM flags in
// order, the response fields, the body and the trailer fields.
struct h2_exchange {
    std::string sequence;  // "H" HEADERS, "D" DATA; "!" after a frame with END_STREAM
    field_list head;
    std::string body;
    field_list trailers;
};

h2_exchange fetch_raw(std::uint16_t port, std::string_view path, std::string_view method = "GET")
{
    raw_h2 client(port);
    REQUIRE(client.preface());
    // A stream window for the whole file body (the preface only widens the connection's).
    REQUIRE(client.send(raw_h2::make_frame(4, 0, 0, std::string("\x00\x04", 2) + raw_h2::u32(1u << 30))));
    REQUIRE(client.request(1, path, true, method));
    REQUIRE(client.read_until([](const raw_h2::frame& f) { return f.stream == 1 && (f.flags & 0x1) != 0; }));
    h2_exchange out;
    header_decoder decoder;
    for (const raw_h2::frame& f : client.frames) {
        if (f.type == 1) {
            field_list fields = decoder.decode(f.payload);  // every block, to keep HPACK in step
            if (f.stream != 1) {
                continue;
            }
            (out.sequence.find('H') == std::string::npos ? out.head : out.trailers) = std::move(fields);
        } else if (f.type != 0 || f.stream != 1) {
            continue;
        } else {
            out.body += f.payload;
        }
        out.sequence += f.type == 1 ? "H" : "D";
        if ((f.flags & 0x1) != 0) {
            out.sequence += "!";
        }
    }
    // Consecutive DATA frames count as one for the checks.
    std::string compact;
    for (char ch : out.sequence) {
        if (!(ch == 'D' && !compact.empty() && compact.back() == 'D')) {
            compact.push_back(ch);
        }
    }
    out.sequence = compact;
    return out;
}

std::string field(const field_list& fields, std::string_view name)
{
    for (const auto& [n, v] : fields) {
        if (n == name) {
            return v;
        }
    }
    return "<absent>";
}

std::string http1_bytes(std::uint16_t port, std::string_view path, std::string_view version = "1.1",
                        std::string_view method = "GET")
{
    const std::string request = std::string(method) + " " + std::string(path) + " HTTP/" +
                                std::string(version) + "\r\nHost: t\r\nConnection: close\r\n\r\n";
    return exchange(port, request, 1, true).bytes;
}

std::string_view body_of(std::string_view bytes)
{
    const auto end = bytes.find("\r\n\r\n");
    return end == std::string_view::npos ? std::string_view{} : bytes.substr(end + 4);
}

}  // namespace

TEST_CASE("trailers: add_trailer rejects what RFC 9110 keeps out of trailers")
{
    response r = response::text("x");
    r.add_trailer("grpc-status", "0");
    r.add_trailer("X-Checksum", "abc");
    CHECK(r.trailer_lines() == "grpc-status: 0\r\nX-Checksum: abc\r\n");
    for (const char* name :
         {"Content-Length", "transfer-encoding", "Host", "Content-Type", "Trailer", "Content-Encoding",
          "Cache-Control", "Authorization", "Set-Cookie", "Connection"}) {
        CHECK_THROWS_AS(r.add_trailer(name, "1"), std::invalid_argument);
    }
    CHECK_THROWS_AS(r.add_trailer(":status", "200"), std::invalid_argument);
    CHECK_THROWS_AS(r.add_trailer("bad name", "1"), std::invalid_argument);
    CHECK_THROWS_AS(r.add_trailer("x-split", "a\r\nInjected: 1"), std::invalid_argument);
    CHECK(r.trailer_lines() == "grpc-status: 0\r\nX-Checksum: abc\r\n");
}

TEST_CASE("trailers over HTTP/2: a trailing HEADERS frame ends the stream (raw frames)")
{
    h2_server s;
    SUBCASE("in-memory body")
    {
        const h2_exchange got = fetch_raw(s.port(), "/trailers/memory");
        CHECK(got.sequence == "HDH!");
        CHECK(field(got.head, ":status") == "200");
        CHECK(field(got.head, "content-length") == "5");
        CHECK(got.body == "hello");
        // Names go out lower-case (RFC 9113 8.2.1) whatever case the handler used.
        CHECK(got.trailers == field_list{{"grpc-status", "0"}, {"grpc-message", "all good"}});
    }
    SUBCASE("empty body")
    {
        const h2_exchange got = fetch_raw(s.port(), "/trailers/empty");
        CHECK(got.sequence.front() == 'H');
        CHECK(got.sequence.back() == '!');
        CHECK(got.sequence.substr(got.sequence.size() - 2) == "H!");
        CHECK(got.body.empty());
        CHECK(got.trailers == field_list{{"x-checksum", "none"}});
    }
    SUBCASE("file body")
    {
        const h2_exchange got = fetch_raw(s.port(), "/trailers/file");
        CHECK(got.sequence == "HDH!");
        CHECK(got.body.size() == s.file.size);
        CHECK(temp_file::sum(got.body) == s.file.checksum);
        CHECK(got.trailers == field_list{{"x-file", "yes"}});
    }
    SUBCASE("streamed body: the response's trailers, then the producer's")
    {
        const h2_exchange got = fetch_raw(s.port(), "/trailers/stream");
        CHECK(got.sequence == "HDH!");
        CHECK(got.body == "one two");
        CHECK(got.trailers == field_list{{"x-first", "1"}, {"grpc-status", "0"}});
    }
    SUBCASE("HEAD: no body, no trailers")
    {
        const h2_exchange got = fetch_raw(s.port(), "/trailers/memory", "HEAD");
        CHECK(got.sequence == "H!");
        CHECK(got.trailers.empty());
    }
}

TEST_CASE("trailers over HTTP/2: curl and nghttp see them")
{
    h2_server s;
    auto curl = run_command("curl -s -D - -o /dev/null --http2-prior-knowledge --max-time 10 " +
                            s.url("/trailers/stream"));
    REQUIRE(curl.status == 0);
    CHECK(curl.output.find("x-first: 1\r\n") != std::string::npos);
    CHECK(curl.output.find("grpc-status: 0\r\n") != std::string::npos);

    auto nghttp = run_command("nghttp -v -t 20 " + s.url("/trailers/memory"));
    REQUIRE_MESSAGE(nghttp.status == 0, nghttp.output);
    CHECK(nghttp.output.find("grpc-status: 0") != std::string::npos);
    CHECK(nghttp.output.find("grpc-message: all good") != std::string::npos);
    // The trailers' HEADERS frame carries END_STREAM; the DATA frame does not.
    const auto trailer_frame = nghttp.output.rfind("recv HEADERS frame");
    REQUIRE(trailer_frame != std::string::npos);
    CHECK(nghttp.output.find("END_STREAM", trailer_frame) != std::string::npos);
    const auto data_frame = nghttp.output.find("recv DATA frame");
    REQUIRE(data_frame != std::string::npos);
    CHECK(nghttp.output.substr(data_frame, nghttp.output.find('\n', data_frame) - data_frame)
              .find("END_STREAM") == std::string::npos);
}

TEST_CASE("trailers over HTTP/1.1: the trailer section of a chunked body")
{
    h2_server s;
    SUBCASE("in-memory body goes out as one chunk")
    {
        const std::string bytes = http1_bytes(s.port(), "/trailers/memory");
        CHECK(bytes.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        CHECK(bytes.find("Content-Length") == std::string::npos);
        CHECK(body_of(bytes) == "5\r\nhello\r\n0\r\ngrpc-status: 0\r\nGrpc-Message: all good\r\n\r\n");
    }
    SUBCASE("empty body: only the last chunk and the trailers")
    {
        CHECK(body_of(http1_bytes(s.port(), "/trailers/empty")) == "0\r\nx-checksum: none\r\n\r\n");
    }
    SUBCASE("file body")
    {
        const std::string bytes = http1_bytes(s.port(), "/trailers/file");
        const std::string_view body = body_of(bytes);
        char size_line[32];
        std::snprintf(size_line, sizeof(size_line), "%zx\r\n", s.file.size);
        REQUIRE(body.starts_with(size_line));
        CHECK(body.ends_with("\r\n0\r\nx-file: yes\r\n\r\n"));
        CHECK(body.size() ==
              std::strlen(size_line) + s.file.size + std::strlen("\r\n0\r\nx-file: yes\r\n\r\n"));
    }
    SUBCASE("streamed body: the response's trailers, then the producer's")
    {
        CHECK(body_of(http1_bytes(s.port(), "/trailers/stream")) ==
              "4\r\none \r\n3\r\ntwo\r\n0\r\nx-first: 1\r\ngrpc-status: 0\r\n\r\n");
    }
    SUBCASE("HTTP/1.0: no chunking, so no trailers")
    {
        const std::string bytes = http1_bytes(s.port(), "/trailers/memory", "1.0");
        CHECK(bytes.find("Content-Length: 5\r\n") != std::string::npos);
        CHECK(body_of(bytes) == "hello");
    }
    SUBCASE("HEAD: the head a GET would get, no body")
    {
        const std::string bytes = http1_bytes(s.port(), "/trailers/memory", "1.1", "HEAD");
        CHECK(bytes.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
        CHECK(body_of(bytes).empty());
    }
    SUBCASE("curl decodes the chunks and reports the trailers")
    {
        auto body = run_command("curl -s --http1.1 --max-time 10 " + s.url("/trailers/stream"));
        CHECK(body.output == "one two");
        auto headers =
            run_command("curl -s --http1.1 -D - -o /dev/null --max-time 10 " + s.url("/trailers/stream"));
        CHECK(headers.output.find("grpc-status: 0\r\n") != std::string::npos);
        auto raw = run_command("curl -s --raw --http1.1 --max-time 10 " + s.url("/trailers/memory"));
        CHECK(raw.output.starts_with("5\r\nhello\r\n0\r\n"));
    }
}
