#include <covet/http/parser.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace covet::http;

namespace {

struct decoded {
    parse_status status;
    parse_error error;
    std::string content;
    std::size_t raw;
    std::vector<std::pair<std::string, std::string>> trailers;
};

decoded decode_all(std::string raw, std::size_t max_body = 1 << 20)
{
    chunked_decoder d(max_body);
    auto st = d.decode(raw.data(), raw.size());
    decoded out{st, d.error(), std::string(raw.data(), d.decoded_size()), d.raw_pos(), {}};
    for (const auto& t : d.trailers()) {
        out.trailers.emplace_back(std::string(t.name), std::string(t.value));
    }
    return out;
}

// Feeds the bytes one at a time into a growing buffer, as a socket might.
decoded decode_bytewise(const std::string& raw, std::size_t max_body = 1 << 20)
{
    chunked_decoder d(max_body);
    std::string buffer;
    parse_status st = parse_status::need_more;
    for (std::size_t i = 0; i < raw.size() && st == parse_status::need_more; ++i) {
        buffer.push_back(raw[i]);
        st = d.decode(buffer.data(), buffer.size());
    }
    return {st, d.error(), std::string(buffer.data(), d.decoded_size()), d.raw_pos(), {}};
}

}  // namespace

TEST_CASE("chunked bodies decode in place, whole or byte by byte")
{
    const std::string raw = "5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\nNEXT";
    for (auto r : {decode_all(raw), decode_bytewise(raw)}) {
        REQUIRE(r.status == parse_status::complete);
        CHECK(r.content == "hello, world");
    }
    auto whole = decode_all(raw);
    CHECK(whole.raw == raw.size() - 4);  // stops before the next pipelined bytes
}

TEST_CASE("hex sizes, extensions and trailers")
{
    auto r = decode_all(
        "A;name=value;flag\r\n0123456789\r\n1a ; q=\"x y\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
        "0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n");
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.content == "0123456789abcdefghijklmnopqrstuvwxyz");
    REQUIRE(r.trailers.size() == 2);
    CHECK(r.trailers[0].first == "X-Checksum");
    CHECK(r.trailers[0].second == "abc");
}

TEST_CASE("an empty chunked body")
{
    auto r = decode_all("0\r\n\r\n");
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.content.empty());
    CHECK(r.raw == 5);
}

TEST_CASE("incomplete input asks for more")
{
    CHECK(decode_all("5\r\nhel").status == parse_status::need_more);
    CHECK(decode_all("5\r\nhello\r\n0\r\n").status == parse_status::need_more);
    CHECK(decode_all("5\r\nhello\r\n0\r\nX: y\r\n").status == parse_status::need_more);
}

TEST_CASE("malformed chunked framing is rejected")
{
    CHECK(decode_all("\r\nhello\r\n0\r\n\r\n").error == parse_error::bad_chunk_size);
    CHECK(decode_all("g\r\nhello\r\n0\r\n\r\n").error == parse_error::bad_chunk_size);
    CHECK(decode_all("-5\r\nhello\r\n0\r\n\r\n").error == parse_error::bad_chunk_size);
    CHECK(decode_all("0x5\r\nhello\r\n0\r\n\r\n").error == parse_error::bad_chunk_size);
    CHECK(decode_all("5\nhello\r\n0\r\n\r\n").error == parse_error::bad_chunk_size);  // bare LF
    CHECK(decode_all("5\r\nhelloX\r\n0\r\n\r\n").error == parse_error::bad_chunk_terminator);
    CHECK(decode_all("5\r\nhello\n0\r\n\r\n").error == parse_error::bad_chunk_terminator);
    CHECK(decode_all("1000000000000000\r\n").error == parse_error::bad_chunk_size);  // 16 digits
    CHECK(decode_all("5;ext\x01\r\nhello\r\n0\r\n\r\n").error == parse_error::bad_chunk_extension);
    CHECK(decode_all("5;" + std::string(2000, 'e') + "\r\nhello\r\n0\r\n\r\n").error ==
          parse_error::bad_chunk_extension);
    CHECK(decode_all("0\r\nBad Trailer\r\n\r\n").error == parse_error::bad_trailer);
    CHECK(decode_all("0\r\nX: y\n\r\n").error == parse_error::bare_line_feed);
    CHECK(decode_all("0\r\nX: " + std::string(9000, 'v') + "\r\n\r\n").error == parse_error::bad_trailer);
}

TEST_CASE("the decoded size limit is enforced before the data arrives")
{
    auto r = decode_all("5\r\nhello\r\n6\r\n", 10);
    CHECK(r.status == parse_status::error);
    CHECK(r.error == parse_error::body_too_large);
    CHECK(decode_all("5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n", 10).status == parse_status::complete);
    CHECK(decode_all("fffffffffffffff\r\n", 1 << 20).error == parse_error::body_too_large);
}
