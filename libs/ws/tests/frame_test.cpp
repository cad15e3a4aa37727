// RFC 6455 section 5, rule by rule, on frame_reader and the header writer.
#include <covet/ws/frame.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace covet::ws;
using bytes = std::vector<std::uint8_t>;

namespace {

struct frame_spec {
    opcode op = opcode::text;
    std::string payload{};
    bool fin = true;
    bool masked = true;
    bool rsv1 = false;
    bool rsv2 = false;
    bool rsv3 = false;
};

bytes make_frame(const frame_spec& f)
{
    frame_header h;
    h.fin = f.fin;
    h.op = f.op;
    h.rsv1 = f.rsv1;
    h.rsv2 = f.rsv2;
    h.rsv3 = f.rsv3;
    h.masked = f.masked;
    h.mask = {0x37, 0xfa, 0x21, 0x3d};
    h.payload_length = f.payload.size();
    bytes out(max_header_size);
    out.resize(write_header(out.data(), h));
    const std::size_t at = out.size();
    out.insert(out.end(), f.payload.begin(), f.payload.end());
    if (f.masked) {
        apply_mask(out.data() + at, f.payload.size(), h.mask);
    }
    return out;
}

bytes concat(std::initializer_list<bytes> parts)
{
    bytes out;
    for (const auto& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

struct event {
    frame_reader::kind kind;
    std::string data;
    std::uint16_t code = 0;
};

// Feeds `input` in pieces of `step` bytes and records every event.
std::vector<event> run(frame_reader& reader, const bytes& input, std::size_t step = 0)
{
    std::vector<event> events;
    if (step == 0) {
        step = input.size() == 0 ? 1 : input.size();
    }
    for (std::size_t at = 0; at < input.size();) {
        const std::size_t end = std::min(input.size(), at + step);
        std::span<const std::uint8_t> piece(input.data() + at, end - at);
        while (!piece.empty()) {
            std::size_t used = 0;
            const auto k = reader.next(piece, used);
            piece = piece.subspan(used);
            if (k == frame_reader::kind::need_more) {
                CHECK(piece.empty());
                break;
            }
            event e{k, {}, 0};
            if (k == frame_reader::kind::message) {
                e.data = reader.take_message();
            } else if (k == frame_reader::kind::ping || k == frame_reader::kind::pong) {
                e.data = std::string(reader.payload());
            } else if (k == frame_reader::kind::close) {
                e.code = reader.close_code();
                e.data = std::string(reader.close_reason());
            } else if (k == frame_reader::kind::error) {
                e.code = reader.error_code();
                events.push_back(e);
                return events;
            }
            events.push_back(e);
        }
        at = end;
    }
    return events;
}

std::uint16_t error_of(const bytes& input, reader_options options = {})
{
    frame_reader reader(options);
    auto events = run(reader, input);
    if (!events.empty() && events.back().kind == frame_reader::kind::error) {
        return events.back().code;
    }
    return 0;
}

reader_options client_side()
{
    reader_options o;
    o.role = role::client;
    return o;
}

}  // namespace

TEST_CASE("5.7 examples: unmasked and masked Hello, fragments, ping, 256 B and 64 KiB lengths")
{
    {
        frame_reader reader(client_side());
        auto e = run(reader, {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
        REQUIRE(e.size() == 1);
        CHECK(e[0].kind == frame_reader::kind::message);
        CHECK(e[0].data == "Hello");
        CHECK(reader.message_type() == opcode::text);
    }
    {
        frame_reader reader;  // server: masked
        auto e = run(reader, {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
        REQUIRE(e.size() == 1);
        CHECK(e[0].data == "Hello");
    }
    {
        frame_reader reader(client_side());
        auto e = run(reader, {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
        REQUIRE(e.size() == 1);
        CHECK(e[0].data == "Hello");
    }
    {
        frame_reader reader(client_side());
        auto e = run(reader, {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
        REQUIRE(e.size() == 1);
        CHECK(e[0].kind == frame_reader::kind::ping);
        CHECK(e[0].data == "Hello");
    }
    {
        frame_reader reader(client_side());
        bytes f = {0x82, 0x7E, 0x01, 0x00};
        f.resize(4 + 256, 0xAB);
        auto e = run(reader, f);
        REQUIRE(e.size() == 1);
        CHECK(e[0].data == std::string(256, '\xAB'));
        CHECK(reader.message_type() == opcode::binary);
    }
    {
        frame_reader reader(client_side());
        bytes f = {0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0};
        f.resize(10 + 65536, 0x01);
        auto e = run(reader, f, 1000);
        REQUIRE(e.size() == 1);
        CHECK(e[0].data.size() == 65536);
    }
}

TEST_CASE("5.2 header writer: every length encoding round-trips through the parser")
{
    for (std::uint64_t length : {0ULL, 1ULL, 125ULL, 126ULL, 65535ULL, 65536ULL, (1ULL << 40)}) {
        for (bool masked : {false, true}) {
            frame_header h;
            h.op = opcode::binary;
            h.fin = false;
            h.rsv1 = true;
            h.masked = masked;
            h.mask = {1, 2, 3, 4};
            h.payload_length = length;
            std::array<std::uint8_t, max_header_size> buffer{};
            const std::size_t size = write_header(buffer.data(), h);
            CHECK(size == 2 + (length < 126 ? 0 : length <= 0xFFFF ? 2 : 8) + (masked ? 4 : 0));
            frame_header parsed;
            std::size_t parsed_size = 0;
            REQUIRE(parse_header(std::span<const std::uint8_t>(buffer.data(), size), parsed, parsed_size) ==
                    header_status::complete);
            CHECK(parsed_size == size);
            CHECK(parsed.payload_length == length);
            CHECK(parsed.masked == masked);
            CHECK(parsed.fin == false);
            CHECK(parsed.rsv1 == true);
            CHECK(parsed.op == opcode::binary);
            if (masked) {
                CHECK(parsed.mask == h.mask);
            }
            // Any shorter prefix asks for more.
            CHECK(parse_header(std::span<const std::uint8_t>(buffer.data(), size - 1), parsed, parsed_size) ==
                  header_status::need_more);
        }
    }
}

TEST_CASE("5.2 lengths: non-minimal 16/64-bit encodings and a 64-bit length with the top bit are errors")
{
    CHECK(error_of({0x82, 0x7E, 0x00, 0x7D}, client_side()) == close_code::protocol_error);
    CHECK(error_of({0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF}, client_side()) == close_code::protocol_error);
    CHECK(error_of({0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0}, client_side()) == close_code::protocol_error);
}

TEST_CASE("5.2 RSV bits without a negotiated extension are a protocol error, RSV1 allowed with deflate")
{
    CHECK(error_of(make_frame({.rsv1 = true})) == close_code::protocol_error);
    CHECK(error_of(make_frame({.rsv2 = true})) == close_code::protocol_error);
    CHECK(error_of(make_frame({.rsv3 = true})) == close_code::protocol_error);
    reader_options deflate;
    deflate.allow_rsv1 = true;
    // RSV1 on a control frame or a continuation stays an error even with deflate.
    CHECK(error_of(make_frame({.op = opcode::ping, .rsv1 = true}), deflate) == close_code::protocol_error);
    CHECK(error_of(concat({make_frame({.payload = "a", .fin = false}),
                           make_frame({.op = opcode::continuation, .payload = "b", .rsv1 = true})}),
                   deflate) == close_code::protocol_error);
    // RSV2/RSV3 are never allowed.
    CHECK(error_of(make_frame({.rsv2 = true}), deflate) == close_code::protocol_error);
}

TEST_CASE("5.2 reserved opcodes 3-7 and B-F are a protocol error")
{
    for (std::uint8_t op : {3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF}) {
        CAPTURE(int(op));
        CHECK(error_of(make_frame({.op = static_cast<opcode>(op)})) == close_code::protocol_error);
    }
}

TEST_CASE("5.1/5.3 masking: a server fails unmasked frames, a client fails masked ones, unmasking is exact")
{
    CHECK(error_of(make_frame({.payload = "x", .masked = false})) == close_code::protocol_error);
    CHECK(error_of(make_frame({.payload = "x", .masked = true}), client_side()) ==
          close_code::protocol_error);

    std::string payload;
    for (int i = 0; i < 1000; ++i) {
        payload.push_back(static_cast<char>(i * 7));
    }
    const bytes f = make_frame({.op = opcode::binary, .payload = payload});
    for (std::size_t step : {1, 3, 5, 7, 8, 13, 1000}) {
        frame_reader reader;
        auto e = run(reader, f, step);
        REQUIRE(e.size() == 1);
        CHECK(e[0].data == payload);
    }
    // apply_mask at an offset equals masking the whole buffer at once.
    std::string a = payload;
    std::string b = payload;
    const std::array<std::uint8_t, 4> mask{9, 8, 7, 6};
    apply_mask(reinterpret_cast<std::uint8_t*>(a.data()), a.size(), mask);
    apply_mask(reinterpret_cast<std::uint8_t*>(b.data()), 333, mask);
    apply_mask(reinterpret_cast<std::uint8_t*>(b.data()) + 333, b.size() - 333, mask, 333);
    CHECK(a == b);
}

TEST_CASE("5.3 masking: every size and offset equals the byte-by-byte rule of the RFC")
{
    // The unmasking loop works in 32-, 8- and 1-byte steps: cover each tail.
    const std::array<std::uint8_t, 4> mask{0xA1, 0x5C, 0x0F, 0xE7};
    for (std::size_t size = 0; size <= 100; ++size) {
        for (std::size_t offset = 0; offset < 4; ++offset) {
            std::vector<std::uint8_t> data(size);
            for (std::size_t i = 0; i < size; ++i) {
                data[i] = static_cast<std::uint8_t>(i * 7 + size);
            }
            std::vector<std::uint8_t> expected = data;
            for (std::size_t i = 0; i < size; ++i) {
                expected[i] ^= mask[(offset + i) % 4];  // RFC 6455 5.3: j = i MOD 4
            }
            apply_mask(data.data(), data.size(), mask, offset);
            CHECK(data == expected);
        }
    }
}

TEST_CASE("5.4 fragmentation: reassembly, empty fragments, control frames in between")
{
    frame_reader reader;
    auto e = run(reader,
                 concat({make_frame({.payload = "Hel", .fin = false}),
                         make_frame({.op = opcode::ping, .payload = "p"}),
                         make_frame({.op = opcode::continuation, .payload = "", .fin = false}),
                         make_frame({.op = opcode::pong, .payload = "q"}),
                         make_frame({.op = opcode::continuation, .payload = "lo"})}),
                 2);
    REQUIRE(e.size() == 3);
    CHECK(e[0].kind == frame_reader::kind::ping);
    CHECK(e[0].data == "p");
    CHECK(e[1].kind == frame_reader::kind::pong);
    CHECK(e[2].kind == frame_reader::kind::message);
    CHECK(e[2].data == "Hello");

    // A second message after the first starts clean.
    auto next = run(reader, make_frame({.op = opcode::binary, .payload = "z"}));
    REQUIRE(next.size() == 1);
    CHECK(next[0].data == "z");
    CHECK(reader.message_type() == opcode::binary);
}

TEST_CASE("a whole frame in one piece (the one-step path) and byte by byte give the same events")
{
    bytes non_minimal = {0x82, 0xFE, 0x00, 0x05, 0x37, 0xfa, 0x21, 0x3d, 1, 2, 3, 4, 5};
    const std::vector<std::pair<bytes, reader_options>> cases = {
        {make_frame({.payload = "hello"}), {}},
        {make_frame({.op = opcode::binary, .payload = std::string(1000, '\xff')}), {}},
        {make_frame({.payload = std::string(300, 'a') + "\xe2\x82\xac"}), {}},
        {make_frame({.payload = "bad \xc0\xaf"}), {}},
        {make_frame({.payload = "cut \xe2\x82"}), {}},
        {make_frame({.payload = ""}), {}},
        {make_frame({.payload = "unmasked", .masked = false}), {}},
        {make_frame({.payload = "masked"}), {.role = role::client}},
        {make_frame({.payload = "rsv1", .rsv1 = true}), {}},
        {make_frame({.payload = "too big"}), {.max_message_size = 6}},
        {make_frame({.payload = "fits"}), {.max_message_size = 4}},
        {non_minimal, {}},
        {concat({make_frame({.payload = "a"}), make_frame({.op = opcode::binary, .payload = "b"})}), {}},
    };
    for (const auto& one : cases) {
        const bytes& input = one.first;  // (no structured binding: CAPTURE's lambda)
        const reader_options& options = one.second;
        CAPTURE(input.size());
        frame_reader whole(options);
        frame_reader by_byte(options);
        const auto a = run(whole, input);
        const auto b = run(by_byte, input, 1);
        REQUIRE(a.size() == b.size());
        for (std::size_t i = 0; i < a.size(); ++i) {
            CHECK(a[i].kind == b[i].kind);
            CHECK(a[i].data == b[i].data);
            CHECK(a[i].code == b[i].code);
        }
        if (a.empty() || a.back().kind != frame_reader::kind::error) {
            CHECK(whole.between_frames() == by_byte.between_frames());  // (after an error, feeding stops)
        }
    }
}

TEST_CASE("take_message into a string: swaps buffers, the reader reuses the caller's, drops a huge one")
{
    frame_reader reader;
    const auto feed = [&reader](const bytes& frame) {
        std::size_t used = 0;
        const auto k = reader.next(std::span<const std::uint8_t>(frame.data(), frame.size()), used);
        CHECK(used == frame.size());
        return k;
    };
    std::string into;
    into.reserve(1000);
    into = "stale bytes of an older message";
    const char* callers_buffer = into.data();
    REQUIRE(feed(make_frame({.payload = std::string(40, 'a')})) == frame_reader::kind::message);
    reader.take_message(into);
    CHECK(into == std::string(40, 'a'));
    CHECK(reader.pending_message_size() == 0);
    // The next message is assembled in the caller's old buffer and comes back whole.
    REQUIRE(feed(make_frame({.op = opcode::binary, .payload = "short"})) == frame_reader::kind::message);
    reader.take_message(into);
    CHECK(into == "short");
    CHECK(into.data() == callers_buffer);
    CHECK(reader.message_type() == opcode::binary);
    // Fragments across the swap, and an empty message.
    REQUIRE(feed(make_frame({.payload = "Hel", .fin = false})) == frame_reader::kind::need_more);
    REQUIRE(feed(make_frame({.op = opcode::continuation, .payload = "lo"})) == frame_reader::kind::message);
    reader.take_message(into);
    CHECK(into == "Hello");
    REQUIRE(feed(make_frame({.payload = ""})) == frame_reader::kind::message);
    reader.take_message(into);
    CHECK(into.empty());
    // A buffer over reused_buffer_limit is not kept by the reader.
    std::string huge;
    huge.reserve(frame_reader::reused_buffer_limit + 1);
    const char* huge_buffer = huge.data();
    REQUIRE(feed(make_frame({.payload = "x"})) == frame_reader::kind::message);
    reader.take_message(huge);
    CHECK(huge == "x");
    REQUIRE(feed(make_frame({.payload = "y"})) == frame_reader::kind::message);
    std::string after;
    reader.take_message(after);
    CHECK(after == "y");
    CHECK(after.data() != huge_buffer);
}

TEST_CASE("5.4 fragmentation errors: continuation without a start, a new message inside a fragmented one")
{
    CHECK(error_of(make_frame({.op = opcode::continuation, .payload = "x"})) == close_code::protocol_error);
    CHECK(error_of(concat({make_frame({.payload = "a", .fin = false}), make_frame({.payload = "b"})})) ==
          close_code::protocol_error);
    CHECK(error_of(concat({make_frame({.op = opcode::binary, .payload = "a", .fin = false}),
                           make_frame({.op = opcode::binary, .payload = "b"})})) ==
          close_code::protocol_error);
}

TEST_CASE("5.5 control frames: at most 125 bytes and never fragmented")
{
    CHECK(error_of(make_frame({.op = opcode::ping, .payload = std::string(125, 'a')})) == 0);
    CHECK(error_of(make_frame({.op = opcode::ping, .payload = std::string(126, 'a')})) ==
          close_code::protocol_error);
    CHECK(error_of(make_frame({.op = opcode::pong, .payload = "", .fin = false})) ==
          close_code::protocol_error);
    CHECK(error_of(make_frame({.op = opcode::close, .payload = close_payload(1000, ""), .fin = false})) ==
          close_code::protocol_error);
}

TEST_CASE("5.5.1 close: empty, code, code and reason, one byte, invalid codes, bad UTF-8 reason")
{
    {
        frame_reader reader;
        auto e = run(reader, make_frame({.op = opcode::close, .payload = ""}));
        REQUIRE(e.size() == 1);
        CHECK(e[0].kind == frame_reader::kind::close);
        CHECK(e[0].code == close_code::no_status);
    }
    {
        frame_reader reader;
        auto e = run(reader, make_frame({.op = opcode::close, .payload = close_payload(4000, "bye now")}), 3);
        REQUIRE(e.size() == 1);
        CHECK(e[0].code == 4000);
        CHECK(e[0].data == "bye now");
    }
    CHECK(error_of(make_frame({.op = opcode::close, .payload = "x"})) == close_code::protocol_error);
    for (std::uint16_t bad : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
        CAPTURE(bad);
        CHECK(error_of(make_frame({.op = opcode::close, .payload = close_payload(bad, "")})) ==
              close_code::protocol_error);
    }
    for (std::uint16_t good : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999}) {
        CAPTURE(good);
        CHECK(error_of(make_frame({.op = opcode::close, .payload = close_payload(good, "")})) == 0);
    }
    std::string bad_reason = close_payload(1000, "");
    bad_reason += "\xff\xfe";
    CHECK(error_of(make_frame({.op = opcode::close, .payload = bad_reason})) == close_code::invalid_payload);
}

TEST_CASE("5.6 text must be UTF-8: split code points across fragments pass, bad bytes fail fast")
{
    const std::string euro = "\xe2\x82\xac";
    frame_reader reader;
    auto e = run(reader,
                 concat({make_frame({.payload = "a\xe2", .fin = false}),
                         make_frame({.op = opcode::continuation, .payload = "\x82", .fin = false}),
                         make_frame({.op = opcode::continuation,
                                     .payload = "\xac"
                                                "b"})}),
                 1);
    REQUIRE(e.size() == 1);
    CHECK(e[0].data == "a" + euro + "b");

    // An invalid byte fails on its own fragment, before the message ends.
    frame_reader fast;
    auto failed = run(fast, make_frame({.payload = "ok\xc0\xaf", .fin = false}));
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].kind == frame_reader::kind::error);
    CHECK(failed[0].code == close_code::invalid_payload);

    // A message that ends inside a code point fails at the end.
    CHECK(error_of(make_frame({.payload = "a\xe2\x82"})) == close_code::invalid_payload);
    // Binary messages are not checked.
    CHECK(error_of(make_frame({.op = opcode::binary, .payload = "\xff"})) == 0);
}

TEST_CASE("UTF-8 validator: the boundaries of Unicode table 3-7")
{
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ascii text, long enough for the 8-byte fast path"));
    CHECK(is_valid_utf8("\x7f"));
    CHECK(is_valid_utf8("\xc2\x80"));
    CHECK(is_valid_utf8("\xdf\xbf"));
    CHECK(is_valid_utf8("\xe0\xa0\x80"));
    CHECK(is_valid_utf8("\xed\x9f\xbf"));                                  // U+D7FF
    CHECK(is_valid_utf8("\xee\x80\x80"));                                  // U+E000
    CHECK(is_valid_utf8("\xf0\x90\x80\x80"));                              // U+10000
    CHECK(is_valid_utf8("\xf4\x8f\xbf\xbf"));                              // U+10FFFF
    CHECK(is_valid_utf8("\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5"));  // κόσμε
    CHECK_FALSE(is_valid_utf8("\x80"));                                    // lone continuation
    CHECK_FALSE(is_valid_utf8("\xc0\x80"));                                // overlong
    CHECK_FALSE(is_valid_utf8("\xc1\xbf"));                                // overlong
    CHECK_FALSE(is_valid_utf8("\xe0\x9f\xbf"));                            // overlong
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));                            // surrogate U+D800
    CHECK_FALSE(is_valid_utf8("\xf0\x8f\xbf\xbf"));                        // overlong
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));                        // > U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(is_valid_utf8("\xff"));
    CHECK_FALSE(is_valid_utf8("\xe2\x82"));  // truncated
    CHECK_FALSE(is_valid_utf8("abcdefgh\xe2\x28\xa1"));

    utf8_validator v;
    CHECK(v.feed("\xf0\x9f"));
    CHECK_FALSE(v.complete());
    CHECK(v.feed("\x98\x80"));
    CHECK(v.complete());
}

TEST_CASE("message size limit: a frame or the sum of fragments over the limit fails with 1009")
{
    reader_options small;
    small.max_message_size = 10;
    CHECK(error_of(make_frame({.op = opcode::binary, .payload = std::string(10, 'a')}), small) == 0);
    CHECK(error_of(make_frame({.op = opcode::binary, .payload = std::string(11, 'a')}), small) ==
          close_code::message_too_big);
    CHECK(error_of(concat({make_frame({.op = opcode::binary, .payload = std::string(6, 'a'), .fin = false}),
                           make_frame({.op = opcode::continuation, .payload = std::string(6, 'a')})}),
                   small) == close_code::message_too_big);
    // The limit is checked on the header, before any payload arrives.
    CHECK(error_of({0x82, 0xFF, 0, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4}) ==
          close_code::message_too_big);
}

TEST_CASE("compressed messages go through the inflate hook, which may fail with its code")
{
    reader_options deflate;
    deflate.allow_rsv1 = true;
    frame_reader reader(deflate);
    reader.set_inflate([](std::string_view in, std::string& out, std::size_t) -> std::uint16_t {
        if (in == "bomb") {
            return close_code::message_too_big;
        }
        out = "inflated:" + std::string(in);
        return 0;
    });
    auto e = run(reader, concat({make_frame({.payload = "ab", .fin = false, .rsv1 = true}),
                                 make_frame({.op = opcode::continuation, .payload = "cd"})}));
    REQUIRE(e.size() == 1);
    CHECK(e[0].data == "inflated:abcd");
    auto bomb = run(reader, make_frame({.payload = "bomb", .rsv1 = true}));
    REQUIRE(bomb.size() == 1);
    CHECK(bomb[0].kind == frame_reader::kind::error);
    CHECK(bomb[0].code == close_code::message_too_big);
}

TEST_CASE("close_payload keeps the reason within 123 bytes without cutting a code point")
{
    std::string reason;
    for (int i = 0; i < 60; ++i) {
        reason += "\xc3\xa9";  // é, 2 bytes each → 120 bytes, then more
    }
    reason += "xyz\xe2\x82\xac";
    const std::string p = close_payload(1001, reason);
    CHECK(p.size() <= 125);
    CHECK(is_valid_utf8(p.substr(2)));
    CHECK(static_cast<unsigned char>(p[0]) == 0x03);
    CHECK(static_cast<unsigned char>(p[1]) == 0xE9);
}
