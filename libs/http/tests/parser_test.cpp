#include <covet/http/parser.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>

using namespace covet::http;
using namespace std::string_literals;

namespace {

struct outcome {
    parse_status status;
    parse_error error;
    request_head head;  // views point into `text` and `parser`, kept alive here
    std::shared_ptr<request_parser> parser;
    std::shared_ptr<std::string> text;
};

// Parses `text` in one call.
outcome parse_once(const std::string& input, parser_limits limits = {})
{
    auto text = std::make_shared<std::string>(input);
    auto p = std::make_shared<request_parser>(limits);
    auto st = p->parse(*text);
    return {st, p->error(), p->head(), p, text};
}

// Parses `text` fed one byte at a time; must agree with parse_once.
outcome parse_bytewise(const std::string& input, parser_limits limits = {})
{
    auto text = std::make_shared<std::string>(input);
    auto p = std::make_shared<request_parser>(limits);
    parse_status st = parse_status::need_more;
    for (std::size_t n = 1; n <= text->size() && st == parse_status::need_more; ++n) {
        st = p->parse(std::string_view(text->data(), n));
    }
    return {st, p->error(), p->head(), p, text};
}

parse_error error_of(const std::string& text, parser_limits limits = {})
{
    auto once = parse_once(text, limits);
    auto bytewise = parse_bytewise(text, limits);
    CHECK(once.status == bytewise.status);
    CHECK(once.error == bytewise.error);
    return once.status == parse_status::error ? once.error : parse_error::none;
}

}  // namespace

TEST_CASE("a TechEmpower-style request parses completely, also byte by byte")
{
    const std::string text =
        "GET /plaintext HTTP/1.1\r\nHost: server\r\nUser-Agent: wrk\r\n"
        "Accept: text/plain,text/html;q=0.9\r\nConnection: keep-alive\r\n\r\n";
    for (auto r : {parse_once(text), parse_bytewise(text)}) {
        REQUIRE(r.status == parse_status::complete);
        CHECK(r.head.method == method::get);
        CHECK(r.head.method_name == "GET");
        CHECK(r.head.target == "/plaintext");
        CHECK(r.head.version_minor == 1);
        REQUIRE(r.head.headers.size() == 4);
        CHECK(r.head.headers[0].name == "Host");
        CHECK(r.head.headers[0].value == "server");
        CHECK(r.head.headers[2].value == "text/plain,text/html;q=0.9");
        CHECK(r.head.find(known_header::host) == "server");
        CHECK(r.head.keep_alive);
        CHECK(r.head.framing == body_framing::none);
        CHECK(r.head.head_size == text.size());
    }
}

TEST_CASE("views point into the caller's buffer (zero copy)")
{
    const std::string text = "POST /x?y=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
    request_parser p;
    REQUIRE(p.parse(text) == parse_status::complete);
    const char* begin = text.data();
    const char* end = begin + text.size();
    CHECK(p.head().target.data() >= begin);
    CHECK(p.head().target.data() < end);
    CHECK(p.head().headers[1].value.data() >= begin);
    CHECK(p.head().framing == body_framing::content_length);
    CHECK(p.head().content_length == 5);
    CHECK(p.head().head_size == text.size() - 5);
}

TEST_CASE("need_more until the empty line arrives")
{
    request_parser p;
    CHECK(p.parse("GET / HTTP/1.1\r\nHost: a\r\n") == parse_status::need_more);
    CHECK(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r") == parse_status::need_more);
    CHECK(p.parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == parse_status::complete);
}

TEST_CASE("optional whitespace around field values is trimmed, obs-text is allowed")
{
    auto r = parse_once("GET / HTTP/1.1\r\nHost:\t a \t\r\nX-Name: caf\xc3\xa9\r\nX-Empty:\r\n\r\n");
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.head.headers[0].value == "a");
    CHECK(r.head.headers[1].value == "caf\xc3\xa9");
    CHECK(r.head.headers[2].value.empty());
}

TEST_CASE("methods, versions and target forms")
{
    CHECK(parse_once("DELETE /a HTTP/1.1\r\nHost: h\r\n\r\n").head.method == method::delete_);
    auto custom = parse_once("PURGE /a HTTP/1.1\r\nHost: h\r\n\r\n");
    CHECK(custom.head.method == method::other);
    CHECK(custom.head.method_name == "PURGE");
    CHECK(error_of("get / HTTP/1.1\r\nHost: h\r\n\r\n") ==
          parse_error::none);  // methods are case-sensitive tokens
    CHECK(parse_once("get / HTTP/1.1\r\nHost: h\r\n\r\n").head.method == method::other);
    // Three-letter and GET-prefixed methods are not GET.
    for (const std::string name : {"GXT", "GETS", "GE", "PUT"}) {
        auto other = parse_once(name + " / HTTP/1.1\r\nHost: h\r\n\r\n");
        REQUIRE(other.status == parse_status::complete);
        CHECK(other.head.method_name == name);
        CHECK(other.head.method == (name == "PUT" ? method::put : method::other));
    }
    CHECK(parse_once("GET / HTTP/1.1\r\nHost: h\r\n\r\n").head.method_name == "GET");

    auto http10 = parse_once("GET / HTTP/1.0\r\n\r\n");  // Host optional in 1.0
    REQUIRE(http10.status == parse_status::complete);
    CHECK(http10.head.version_minor == 0);
    CHECK_FALSE(http10.head.keep_alive);
    CHECK(parse_once("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").head.keep_alive);
    CHECK_FALSE(parse_once("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").head.keep_alive);
    // A higher minor version is processed as HTTP/1.1 (RFC 9110 section 6.2).
    auto http12 = parse_once("GET / HTTP/1.2\r\nHost: h\r\n\r\n");
    REQUIRE(http12.status == parse_status::complete);
    CHECK(http12.head.version_minor == 1);

    CHECK(error_of("GET http://example.com/a?b HTTP/1.1\r\nHost: example.com\r\n\r\n") == parse_error::none);
    CHECK(error_of("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::none);
    CHECK(error_of("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n") == parse_error::none);
    CHECK(error_of("GET * HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_target);
    CHECK(error_of("CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_target);
    CHECK(error_of("GET foo HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_target);
    CHECK(error_of("GET ftp://x/ HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_target);
}

TEST_CASE("malformed request lines")
{
    CHECK(error_of("GET /\r\nHost: h\r\n\r\n") == parse_error::bad_request_line);
    CHECK(error_of("GET  / HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_request_line);
    CHECK(error_of(" GET / HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_request_line);
    CHECK(error_of("GET / HTTP/1.1 \r\nHost: h\r\n\r\n") == parse_error::bad_version);
    CHECK(error_of("G(T / HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_method);
    CHECK(error_of("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_target);
    CHECK(error_of("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_target);
    CHECK(error_of("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_target);
    CHECK(error_of("GET / http/1.1\r\nHost: h\r\n\r\n") == parse_error::bad_version);
    CHECK(error_of("GET / HTTP/1.x\r\nHost: h\r\n\r\n") == parse_error::bad_version);
    CHECK(error_of("GET / HTTP/11\r\nHost: h\r\n\r\n") == parse_error::bad_version);
    CHECK(error_of("GET / HTTP/2.0\r\nHost: h\r\n\r\n") == parse_error::unsupported_version);
    CHECK(error_of("GET / HTTP/0.9\r\nHost: h\r\n\r\n") == parse_error::unsupported_version);
    CHECK(status_for(parse_error::unsupported_version) == status::http_version_not_supported);
}

TEST_CASE("line endings must be CRLF: bare LF and bare CR are rejected")
{
    CHECK(error_of("GET / HTTP/1.1\nHost: h\r\n\r\n") == parse_error::bare_line_feed);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\n\r\n") == parse_error::bare_line_feed);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\n\n") == parse_error::bare_line_feed);
    CHECK(error_of("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::bare_line_feed);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n") == parse_error::invalid_character);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX\r: y\r\n\r\n") == parse_error::bad_header_name);
}

TEST_CASE("leading empty lines are tolerated, but only a few")
{
    auto r = parse_once("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.head.target == "/");
    CHECK(error_of(std::string(20, '\r') + "\n\r\n") == parse_error::bad_request_line);
    std::string many;
    for (int i = 0; i < 10; ++i) {
        many += "\r\n";
    }
    CHECK(error_of(many + "GET / HTTP/1.1\r\nHost: h\r\n\r\n") == parse_error::too_many_empty_lines);
}

TEST_CASE("field syntax: obs-fold, whitespace before colon, bad names, control bytes")
{
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n") == parse_error::obs_fold);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tcontinued\r\n\r\n") == parse_error::obs_fold);
    CHECK(error_of("GET / HTTP/1.1\r\nHost : h\r\n\r\n") == parse_error::whitespace_before_colon);
    CHECK(error_of("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n") == parse_error::whitespace_before_colon);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nNo colon here\r\n\r\n") == parse_error::bad_header_name);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\n: empty name\r\n\r\n") == parse_error::bad_header_name);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX(y): 1\r\n\r\n") == parse_error::bad_header_name);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n"s) == parse_error::invalid_character);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01z\r\n\r\n") == parse_error::invalid_character);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7fz\r\n\r\n") == parse_error::invalid_character);
    // Long values take the SIMD path; the bad byte is found past the first block.
    std::string long_value(300, 'v');
    long_value[257] = '\x02';
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-Long: " + long_value + "\r\n\r\n") ==
          parse_error::invalid_character);
}

TEST_CASE("a bad byte anywhere in any field value is found, at every block position")
{
    // The head is validated in 64-byte blocks; move each bad byte over every
    // offset (block starts and ends, across blocks, next to CR and LF).
    const std::string prefix = "GET / HTTP/1.1\r\nHost: h\r\nX-A: ";
    for (const char bad : {'\0', '\x01', '\x1f', '\x7f', '\r', '\x0b'}) {
        for (std::size_t at = 0; at < 140; ++at) {
            std::string value(140, 'v');
            value[at] = bad;
            CAPTURE(static_cast<int>(bad));
            CAPTURE(at);
            CHECK(error_of(prefix + value + "\r\nX-B: after\r\n\r\n") == parse_error::invalid_character);
        }
    }
    // HTAB is allowed in values (it takes the exact path); also at block edges.
    for (std::size_t at = 0; at < 140; ++at) {
        std::string value(140, 'v');
        value[at] = '\t';
        auto tab = parse_once(prefix + value + "\r\n\r\n");
        REQUIRE(tab.status == parse_status::complete);
        CHECK(tab.head.headers[1].value.size() == (at == 0 || at == 139 ? 139 : 140));
    }
    // The same bytes after the head (a body, the next request) do not matter.
    auto r = parse_once(prefix + "ok\r\n\r\n" + "\x01\r\x7f\0body"s);
    CHECK(r.status == parse_status::complete);
    CHECK(r.head.headers[1].value == "ok");
}

TEST_CASE("field names of every length and token character, anywhere in the head")
{
    // Short names of letters, digits and '-' take a 16-byte fast path; the
    // rest (long, exotic, near the end of the head) the byte-by-byte one.
    const std::string tokens = "Ab-9!#$%&'*+.^_`|~xYz0123456789";
    for (std::size_t length = 1; length <= 24; ++length) {
        const std::string name = tokens.substr(0, length);
        for (const bool last : {false, true}) {
            const std::string head =
                "GET / HTTP/1.1\r\nHost: h\r\n" + name + ":v\r\n" + (last ? "" : "X-Tail: t\r\n") + "\r\n";
            auto r = parse_once(head);
            CAPTURE(name);
            REQUIRE(r.status == parse_status::complete);
            CHECK(r.head.headers[1].name == name);
            CHECK(r.head.headers[1].value == "v");
            for (const char bad : {' ', '(', '@', '"', '\x80'}) {
                std::string broken = name + "zz";
                broken[broken.size() - 1] = bad;  // a bad byte just before the colon
                CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\n" + broken + ":v\r\nX-Tail: t\r\n\r\n") !=
                      parse_error::none);
            }
        }
    }
}

TEST_CASE("Host rules")
{
    CHECK(error_of("GET / HTTP/1.1\r\n\r\n") == parse_error::missing_host);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == parse_error::duplicate_host);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") == parse_error::duplicate_host);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a b\r\n\r\n") == parse_error::bad_host);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n") == parse_error::bad_host);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n") == parse_error::bad_host);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n") == parse_error::none);
    CHECK(error_of("GET / HTTP/1.1\r\nHost:\r\n\r\n") == parse_error::none);  // empty is allowed
}

TEST_CASE("Content-Length rules")
{
    auto ok = parse_once("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0042\r\n\r\n");
    REQUIRE(ok.status == parse_status::complete);
    CHECK(ok.head.content_length == 42);
    CHECK(parse_once("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").head.framing ==
          body_framing::none);
    // Identical repeated values are one value.
    CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n") == parse_error::none);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n") ==
          parse_error::none);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n") ==
          parse_error::conflicting_content_length);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n") ==
          parse_error::conflicting_content_length);
    for (const char* bad : {"-1", "+5", "5 5", "0x10", "1.0", "", "99999999999999999999", "5;x"}) {
        CAPTURE(bad);
        CHECK(error_of(std::string("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ") + bad + "\r\n\r\n") ==
              parse_error::bad_content_length);
    }
    parser_limits small;
    small.max_body = 10;
    CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", small) ==
          parse_error::body_too_large);
    CHECK(status_for(parse_error::body_too_large) == status::content_too_large);
}

TEST_CASE("request smuggling vectors around Transfer-Encoding are rejected")
{
    const std::string start = "POST / HTTP/1.1\r\nHost: h\r\n";
    auto chunked = parse_once(start + "Transfer-Encoding: chunked\r\n\r\n");
    REQUIRE(chunked.status == parse_status::complete);
    CHECK(chunked.head.framing == body_framing::chunked);
    CHECK(error_of(start + "Transfer-Encoding: CHUNKED\r\n\r\n") == parse_error::none);

    CHECK(error_of(start + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          parse_error::content_length_with_chunked);
    CHECK(error_of(start + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n") ==
          parse_error::content_length_with_chunked);
    CHECK(error_of(start + "Transfer-Encoding: chunked, identity\r\n\r\n") == parse_error::chunked_not_final);
    CHECK(error_of(start + "Transfer-Encoding: gzip\r\n\r\n") == parse_error::chunked_not_final);
    CHECK(error_of(start + "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n") ==
          parse_error::chunked_not_final);
    CHECK(error_of(start + "Transfer-Encoding: chunked, chunked\r\n\r\n") == parse_error::chunked_not_final);
    CHECK(error_of(start + "Transfer-Encoding: xchunked\r\n\r\n") == parse_error::chunked_not_final);
    CHECK(error_of(start + "Transfer-Encoding: chunked;q=1\r\n\r\n") == parse_error::chunked_not_final);
    CHECK(error_of(start + "Transfer-Encoding: gzip, chunked\r\n\r\n") ==
          parse_error::unsupported_transfer_coding);
    CHECK(status_for(parse_error::unsupported_transfer_coding) == status::not_implemented);
    CHECK(error_of(start + "Transfer-Encoding : chunked\r\n\r\n") == parse_error::whitespace_before_colon);
    CHECK(error_of(start + "Transfer-Encoding: chunked\r\n chunked\r\n\r\n") == parse_error::obs_fold);
    CHECK(error_of("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n") ==
          parse_error::transfer_encoding_http10);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\0\r\n\r\n"s) ==
          parse_error::invalid_character);
}

TEST_CASE("Expect")
{
    auto r = parse_once("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-Continue\r\n\r\n");
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.head.expect_continue);
    CHECK_FALSE(parse_once("GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n").head.expect_continue);
    CHECK(error_of("POST / HTTP/1.1\r\nHost: h\r\nExpect: teapot\r\n\r\n") ==
          parse_error::unsupported_expectation);
    CHECK(status_for(parse_error::unsupported_expectation) == status::expectation_failed);
}

TEST_CASE("limits: request line 414, header line, count and block 431")
{
    parser_limits limits;
    limits.max_request_line = 64;
    limits.max_header_line = 64;
    limits.max_headers = 3;
    limits.max_head_bytes = 200;
    const std::string long_target = "/" + std::string(100, 'a');
    CHECK(error_of("GET " + long_target + " HTTP/1.1\r\nHost: h\r\n\r\n", limits) ==
          parse_error::request_line_too_long);
    // Also while the line is still arriving (no CRLF yet).
    CHECK(parse_once("GET " + long_target, limits).error == parse_error::request_line_too_long);
    CHECK(status_for(parse_error::request_line_too_long) == status::uri_too_long);

    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(80, 'v') + "\r\n\r\n", limits) ==
          parse_error::header_line_too_long);
    CHECK(parse_once("GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(80, 'v'), limits).error ==
          parse_error::header_line_too_long);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n", limits) == parse_error::none);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits) ==
          parse_error::too_many_headers);
    limits.max_headers = 100;
    std::string big = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 10; ++i) {
        big += "X-Header-" + std::to_string(i) + ": " + std::string(30, 'x') + "\r\n";
    }
    CHECK(error_of(big + "\r\n", limits) == parse_error::head_too_large);
    CHECK(status_for(parse_error::head_too_large) == status::request_header_fields_too_large);

    // A header line limit far below the request line's, crossed in the same
    // 64-byte block as the request line ends, and exactly at the limit.
    parser_limits tight;
    tight.max_header_line = 10;
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-Long: 12345\r\n\r\n", tight) ==
          parse_error::header_line_too_long);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-L: 12345\r\n\r\n", tight) == parse_error::none);
    CHECK(error_of("GET / HTTP/1.1\r\nHost: h\r\nX-Lo: 12345\r\n\r\n", tight) ==
          parse_error::header_line_too_long);
}

TEST_CASE("many headers within the default limits")
{
    std::string text = "GET / HTTP/1.1\r\nHost: h\r\n";
    for (int i = 0; i < 99; ++i) {
        text += "X-" + std::to_string(i) + ": value-" + std::to_string(i) + "\r\n";
    }
    auto r = parse_once(text + "\r\n");
    REQUIRE(r.status == parse_status::complete);
    CHECK(r.head.headers.size() == 100);
    CHECK(r.head.headers[99].value == "value-98");
    CHECK(error_of(text + "X-100: one too many\r\n\r\n") == parse_error::too_many_headers);
}

TEST_CASE("reset parses the next request with the same parser")
{
    request_parser p;
    REQUIRE(p.parse("GET /a HTTP/1.1\r\nHost: h\r\n\r\n") == parse_status::complete);
    CHECK(p.head().target == "/a");
    p.reset();
    REQUIRE(p.parse("GET /b HTTP/1.1\r\nHost: h\r\n\r\n") == parse_status::complete);
    CHECK(p.head().target == "/b");
    p.reset();
    CHECK(p.parse("GET /c HTTP/1.1\nHost: h\r\n\r\n") == parse_status::error);
    p.reset();
    CHECK(p.parse("GET /d HTTP/1.1\r\nHost: h\r\n\r\n") == parse_status::complete);
}

TEST_CASE("error codes have messages")
{
    std::error_code ec = parse_error::content_length_with_chunked;
    CHECK(std::string(ec.category().name()) == "covet.http.parse");
    CHECK(ec.message() == "Content-Length together with Transfer-Encoding");
}

TEST_CASE("the SIMD scanners agree with a plain loop")
{
    INFO("scanner: " << std::string(detail::scanner_name()));
    // The build runs the scanners it should: SIMD on x86-64, plain loops otherwise.
#if defined(__x86_64__) && !defined(COVET_HTTP_PORTABLE_SCAN)
    CHECK(detail::head_scanner_name() != "portable");
    CHECK(detail::scanner_name() != "swar");
#else
    CHECK(detail::head_scanner_name() == "portable");
    CHECK(detail::scanner_name() == "swar");
#endif
    std::string s(100, 'a');
    for (std::size_t bad_at = 0; bad_at < s.size(); ++bad_at) {
        for (char bad : {'\0', '\x01', '\r', '\n', '\x1f', '\x7f'}) {
            std::string t = s;
            t[bad_at] = bad;
            CHECK(detail::find_invalid_field_byte(t.data(), t.data() + t.size()) == t.data() + bad_at);
            CHECK(detail::find_non_vchar(t.data(), t.data() + t.size()) == t.data() + bad_at);
        }
        std::string tab = s;
        tab[bad_at] = '\t';
        CHECK(detail::find_invalid_field_byte(tab.data(), tab.data() + tab.size()) ==
              tab.data() + tab.size());
        std::string high = s;
        high[bad_at] = '\xe9';
        CHECK(detail::find_invalid_field_byte(high.data(), high.data() + high.size()) ==
              high.data() + high.size());
        CHECK(detail::find_non_vchar(high.data(), high.data() + high.size()) == high.data() + bad_at);
        std::string space = s;
        space[bad_at] = ' ';
        CHECK(detail::find_non_vchar(space.data(), space.data() + space.size()) == space.data() + bad_at);
    }
}
