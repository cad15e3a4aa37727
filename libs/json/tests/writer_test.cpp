#include "test_types.hpp"

#include <doctest/doctest.h>

#include <cmath>
#include <limits>

using namespace test_json;

TEST_CASE("writer: hello world message")
{
    struct msg {
        std::string message;
    };
    json::writer w;
    w.begin_object();
    w.plain_key("message", true);
    w.string("Hello, World!");
    w.end_object(false);
    CHECK(w.view() == R"({"message":"Hello, World!"})");
    w.clear();
    CHECK(w.view().empty());
}

TEST_CASE("writer: escapes every character that needs it, at every position")
{
    CHECK(json::to_string(std::string("a\"b\\c")) == R"("a\"b\\c")");
    CHECK(json::to_string(std::string("\b\f\n\r\t")) == R"("\b\f\n\r\t")");
    CHECK(json::to_string(std::string("\x01\x1f", 2)) == R"("\u0001\u001f")");
    CHECK(json::to_string(std::string("\0", 1)) == R"("\u0000")");
    CHECK(json::to_string(std::string("/ \x7f é €")) == "\"/ \x7f é €\"");
    // Short strings (4..16 bytes) take overlapping word checks, long ones
    // the 16-byte block path: put each kind of escape in every slot.
    const std::pair<char, std::string_view> escapes[] = {
        {'"', "\\\""}, {'\\', "\\\\"}, {'\x1f', "\\u001f"}, {'\0', "\\u0000"}};
    for (std::size_t len = 1; len < 70; ++len) {
        REQUIRE(json::to_string(std::string(len, 'x')) == "\"" + std::string(len, 'x') + "\"");
        for (const auto& [c, escaped] : escapes) {
            for (std::size_t pos = 0; pos < len; ++pos) {
                std::string s(len, 'x');
                s[pos] = c;
                std::string expected =
                    "\"" + s.substr(0, pos) + std::string(escaped) + s.substr(pos + 1) + "\"";
                REQUIRE(json::to_string(s) == expected);
            }
        }
    }
}

TEST_CASE("writer: numbers")
{
    CHECK(json::to_string(0) == "0");
    CHECK(json::to_string(std::numeric_limits<std::int64_t>::min()) == "-9223372036854775808");
    CHECK(json::to_string(std::numeric_limits<std::uint64_t>::max()) == "18446744073709551615");
    CHECK(json::to_string(std::int8_t{-128}) == "-128");
    CHECK(json::to_string(0.1) == "0.1");
    CHECK(json::to_string(1e300) == "1e+300");
    CHECK(json::to_string(-2.5f) == "-2.5");
    CHECK(json::to_string(200.0) == "200.0");
    CHECK(json::to_string(-0.0) == "-0.0");
    CHECK(json::to_string(std::nan("")) == "null");
    CHECK(json::to_string(std::numeric_limits<double>::infinity()) == "null");
    // Shortest round trip.
    double tricky = 0.30000000000000004;
    CHECK(json::to_string(tricky) == "0.30000000000000004");
}

TEST_CASE("writer: pretty mode")
{
    point p{1, 2};
    CHECK(json::to_string(p, {.pretty = true}) == "{\n  \"x\": 1,\n  \"y\": 2\n}");
    drawing empty;
    CHECK(json::to_string(empty, {.pretty = true}) == "{\n  \"shapes\": []\n}");
    std::vector<point> ps{{1, 2}};
    CHECK(json::to_string(ps, {.pretty = true, .indent = 4}) ==
          "[\n    {\n        \"x\": 1,\n        \"y\": 2\n    }\n]");
}

TEST_CASE("write: reflected struct, renames, omit_null")
{
    renamed r{"ann", 3, std::nullopt, std::nullopt};
    CHECK(json::to_string(r) == R"({"userName":"ann","retries":3,"age":null})");
    r.note = 7;
    r.age = 30;
    CHECK(json::to_string(r) == R"({"userName":"ann","retries":3,"age":30,"note":7})");
}

TEST_CASE("write: every supported type")
{
    everything e;
    e.name = "n";
    e.scores = {1, 2};
    e.vec = {0.5, 1, -2};
    e.counts = {{"a", 1}, {"b", 2}};
    e.labels = {{"k", "v"}};
    e.origin = {3, 4};
    e.path = {{1, 1}};
    e.shade = color::dark_blue;
    e.at = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000) +
                                                 std::chrono::milliseconds(5));
    e.extra = json::value(json::value::array_type{json::value(1), json::value("x"), json::value(nullptr)});
    e.flags = {true, false};
    CHECK(json::to_string(e) ==
          R"({"name":"n","nickname":null,"scores":[1,2],"vec":[0.5,1.0,-2.0],"counts":{"a":1,"b":2},)"
          R"("labels":{"k":"v"},"origin":{"x":3,"y":4},"path":[{"x":1,"y":1}],"shade":"dark-blue",)"
          R"("at":"2023-11-14T22:13:20.005Z","extra":[1,"x",null],"flags":[true,false],"maybe":null})");
}

TEST_CASE("write: tagged variant")
{
    drawing d{{circle{1.5}, rect{2, 3}}};
    CHECK(json::to_string(d) ==
          R"({"shapes":[{"kind":"circle","radius":1.5},{"kind":"rect","w":2.0,"h":3.0}]})");
}

TEST_CASE("time: RFC 3339")
{
    char buf[48];
    auto t = json::sys_nanoseconds(std::chrono::nanoseconds(0));
    CHECK(std::string_view(buf, json::format_rfc3339(t, buf)) == "1970-01-01T00:00:00Z");
    t = json::sys_nanoseconds(std::chrono::nanoseconds(-1));
    CHECK(std::string_view(buf, json::format_rfc3339(t, buf)) == "1969-12-31T23:59:59.999999999Z");
    auto p = json::parse_rfc3339("2024-02-29T12:30:00.123456+01:00");
    REQUIRE(p);
    CHECK(std::string_view(buf, json::format_rfc3339(*p, buf)) == "2024-02-29T11:30:00.123456Z");
    CHECK_FALSE(json::parse_rfc3339("2023-02-29T00:00:00Z"));
    CHECK_FALSE(json::parse_rfc3339("2023-01-01T00:00:00"));
    CHECK_FALSE(json::parse_rfc3339("2023-01-01T24:00:00Z"));
    CHECK_FALSE(json::parse_rfc3339("2023-1-01T00:00:00Z"));
    CHECK_FALSE(json::parse_rfc3339("2023-01-01T00:00:00Zx"));
}
