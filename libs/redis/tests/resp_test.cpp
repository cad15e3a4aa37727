// The RESP parser: every RESP2/RESP3 type, incremental input, and strictness.
#include <covet/redis/resp.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <string_view>

namespace redis = covet::redis;
using redis::parse_status;

namespace {

redis::value parse_ok(std::string_view in)
{
    redis::value v;
    std::size_t used = 0;
    REQUIRE(redis::parse(in, v, used) == parse_status::complete);
    CHECK(used == in.size());
    return v;
}

parse_status status_of(std::string_view in)
{
    redis::value v;
    std::size_t used = 0;
    return redis::parse(in, v, used);
}

}  // namespace

TEST_CASE("RESP2 types")
{
    CHECK(parse_ok("+OK\r\n").text == "OK");
    CHECK(parse_ok("+OK\r\n").type == redis::type::simple_string);
    auto e = parse_ok("-ERR unknown command 'x'\r\n");
    CHECK(e.is_error());
    CHECK(e.text == "ERR unknown command 'x'");
    CHECK(parse_ok(":-42\r\n").integer == -42);
    CHECK(parse_ok(":9223372036854775807\r\n").integer == 9223372036854775807);
    CHECK(parse_ok("$5\r\nhe\r\no\r\n").text == "he\r\no");  // binary-safe
    CHECK(parse_ok("$0\r\n\r\n").text.empty());
    CHECK(parse_ok("$-1\r\n").is_null());
    CHECK(parse_ok("*-1\r\n").is_null());
    auto a = parse_ok("*3\r\n:1\r\n*2\r\n+a\r\n$1\r\nb\r\n$-1\r\n");
    REQUIRE(a.elements.size() == 3);
    CHECK(a.elements[1].elements[1].text == "b");
    CHECK(a.elements[2].is_null());
    CHECK(parse_ok("*0\r\n").elements.empty());
}

TEST_CASE("RESP3 types")
{
    CHECK(parse_ok("_\r\n").is_null());
    CHECK(parse_ok("#t\r\n").integer == 1);
    CHECK(parse_ok("#f\r\n").integer == 0);
    CHECK(parse_ok(",3.25\r\n").number == 3.25);
    CHECK(std::isinf(parse_ok(",-inf\r\n").number));
    CHECK(std::isnan(parse_ok(",nan\r\n").number));
    CHECK(parse_ok("(3492890328409238509324850943850943825024385\r\n").text ==
          "3492890328409238509324850943850943825024385");
    auto blob_error = parse_ok("!21\r\nSYNTAX invalid syntax\r\n");
    CHECK(blob_error.is_error());
    CHECK(blob_error.text == "SYNTAX invalid syntax");
    auto verbatim = parse_ok("=15\r\ntxt:Some string\r\n");
    CHECK(verbatim.type == redis::type::verbatim);
    CHECK(verbatim.text == "Some string");
    auto m = parse_ok("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n");
    CHECK(m.type == redis::type::map);
    REQUIRE(m.elements.size() == 4);
    CHECK(m.elements[2].text == "second");
    CHECK(parse_ok("~2\r\n+a\r\n+b\r\n").type == redis::type::set);
    CHECK(parse_ok(">2\r\n+message\r\n+hi\r\n").type == redis::type::push);
    // Attributes are read and dropped: the reply is what follows.
    auto attributed = parse_ok("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n");
    CHECK(attributed.type == redis::type::array);
    CHECK(attributed.elements[0].integer == 2);
}

TEST_CASE("incremental input: every proper prefix is incomplete, the rest stays for the next reply")
{
    const std::string one = "*2\r\n$5\r\nhello\r\n%1\r\n+k\r\n,1.5\r\n";
    for (std::size_t n = 0; n < one.size(); ++n) {
        CHECK_MESSAGE(status_of(std::string_view(one).substr(0, n)) == parse_status::incomplete, n);
    }
    const std::string two = one + "+OK\r\n";
    redis::value v;
    std::size_t used = 0;
    REQUIRE(redis::parse(two, v, used) == parse_status::complete);
    CHECK(used == one.size());
    CHECK(parse_ok(std::string_view(two).substr(used)).text == "OK");
}

TEST_CASE("strictness: malformed input is invalid, never a guess")
{
    for (const char* bad : {"?\r\n", "+OK\n", "+O\rK\r\n", ":12a\r\n", ":\r\n", ":+-1\r\n", "$-2\r\n",
                            "$3\r\nabcd\r\n", "$01x\r\n", "*-2\r\n", "~-1\r\n", "#x\r\n", ",1.5.2\r\n",
                            ",\r\n", "(12a\r\n", "=3\r\ntxt\r\n", "_x\r\n", "$99999999999999999999\r\n"}) {
        CHECK_MESSAGE(status_of(bad) == parse_status::invalid, bad);
    }
    // Limits: depth, bulk size, element count.
    std::string deep;
    for (int i = 0; i < 40; ++i) {
        deep += "*1\r\n";
    }
    deep += ":1\r\n";
    CHECK(status_of(deep) == parse_status::invalid);
    redis::value v;
    std::size_t used = 0;
    CHECK(redis::parse("$2000\r\n", v, used, {.max_bulk = 1000}) == parse_status::invalid);
    CHECK(redis::parse("*2000\r\n", v, used, {.max_elements = 1000}) == parse_status::invalid);
    // A huge declared count with little data is incomplete, and reserves little.
    CHECK(status_of("*1000000\r\n:1\r\n") == parse_status::incomplete);
}

TEST_CASE("command encoding")
{
    std::string out;
    redis::append_command(out, {"SET", "k", "a b\r\n"});
    CHECK(out == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\na b\r\n\r\n");
}
