#include "test_types.hpp"

#include <doctest/doctest.h>

#include <limits>
#include <string>

using namespace test_json;

namespace {

template <class T>
std::string first_error(std::string_view input, json::parse_options options = {})
{
    json::reader r(options);
    auto res = r.parse<T>(input);
    REQUIRE_FALSE(res);
    REQUIRE_FALSE(res.errors().empty());
    return res.errors().front().to_string();
}

template <class T>
std::vector<std::string> all_errors(std::string_view input, json::parse_options options = {})
{
    json::reader r(options);
    auto res = r.parse<T>(input);
    std::vector<std::string> out;
    for (const auto& e : res.errors()) {
        out.push_back(e.to_string());
    }
    return out;
}

}  // namespace

TEST_CASE("parse: round trip of every supported type")
{
    everything e;
    e.name = "name with \"quotes\" and \\ and \n and é and 😀";
    e.nickname = "nick";
    e.scores = {1, -2, 3};
    e.vec = {0.1, -1e300, 5e-324};
    e.counts = {{"a", 1}, {"", 2}, {"with \"q\"", 3}};
    e.labels = {{"k", "v"}};  // one entry: unordered_map order is unspecified
    e.origin = {-3, 4};
    e.path = {{1, 1}, {2, 2}};
    e.shade = color::dark_blue;
    e.at = std::chrono::system_clock::time_point(std::chrono::seconds(1'700'000'000) +
                                                 std::chrono::microseconds(7));
    json::value::object_type extra;
    extra.emplace_back(
        "list", json::value(json::value::array_type{json::value(1), json::value(2.5), json::value(true)}));
    extra.emplace_back("big", json::value(std::numeric_limits<std::uint64_t>::max()));
    extra.emplace_back("none", json::value(nullptr));
    e.extra = json::value(std::move(extra));
    e.flags = {true, false, true};
    e.maybe = point{9, 8};
    auto text = json::to_string(e);
    auto back = json::parse<everything>(text);
    REQUIRE_MESSAGE(back, (back.errors().empty() ? "" : back.errors().front().to_string()));
    CHECK(*back == e);
    CHECK(json::to_string(*back) == text);
    // And in pretty mode.
    auto pretty = json::parse<everything>(json::to_string(e, {.pretty = true}));
    REQUIRE(pretty);
    CHECK(*pretty == e);
}

TEST_CASE("parse: integers of every width, range-checked")
{
    numbers n{-128,
              255,
              -32768,
              65535,
              std::numeric_limits<std::int32_t>::min(),
              4294967295u,
              std::numeric_limits<std::int64_t>::min(),
              std::numeric_limits<std::uint64_t>::max(),
              1.5f,
              0.1,
              true};
    auto back = json::parse<numbers>(json::to_string(n));
    REQUIRE(back);
    CHECK(*back == n);

    CHECK(first_error<numbers>(R"({"i8":128})") == "$.i8: 128 is out of range [-128, 127]");
    CHECK(first_error<numbers>(R"({"u8":-1})") == "$.u8: integer out of range [0, 255]");
    CHECK(first_error<numbers>(R"({"u8":256})") == "$.u8: 256 is out of range [0, 255]");
    CHECK(first_error<numbers>(R"({"i64":9223372036854775808})") ==
          "$.i64: integer out of range [-9223372036854775808, 9223372036854775807]");
    CHECK(first_error<numbers>(R"({"u64":18446744073709551616})") ==
          "$.u64: integer out of range [0, 18446744073709551615]");
    CHECK(first_error<numbers>(R"({"i32":1.5})") == "$.i32: expected integer, got float");
    CHECK(first_error<numbers>(R"({"i32":"1"})") == "$.i32: expected integer, got string");
    CHECK(first_error<numbers>(R"({"f":1e39})") == "$.f: number out of range for float");
    CHECK(first_error<numbers>(R"({"b":1})") == "$.b: expected boolean, got number");
}

TEST_CASE("parse: exact paths and reasons")
{
    std::string doc = R"({"title":"t","users":[)";
    for (int i = 0; i < 4; ++i) {
        doc += i ? "," : "";
        doc += R"({"id":1,"name":"n","email":)";
        doc += i == 3 ? "42" : R"("a@b.co")";
        doc += R"(,"age":1,"tags":[]})";
    }
    doc += "]}";
    CHECK(first_error<team>(doc) == "$.users[3].email: expected string, got number");
    CHECK(first_error<team>(R"({"title":"t","users":{}})") == "$.users: expected array, got object");
    CHECK(first_error<team>(R"([])") == "$: expected object, got array");
    CHECK(first_error<point>(R"({"x":1})") == "$.y: field required");
    CHECK(first_error<renamed>(R"({"user_name":"x"})") == "$.userName: field required");
    CHECK(first_error<everything>(R"({"name":"n","shade":"blue"})") ==
          "$.shade: expected one of 'red', 'green', 'dark-blue', got 'blue'");
    CHECK(first_error<everything>(R"({"vec":[1,2]})") == "$.vec: expected 3 elements, got 2");
    CHECK(first_error<everything>(R"({"at":"yesterday"})") == "$.at: expected an RFC 3339 date-time");
    CHECK(first_error<everything>(R"({"counts":{"a b":"x"}})") ==
          R"($.counts["a b"]: expected integer, got string)");
}

TEST_CASE("parse: all type errors and missing fields reported together")
{
    auto errors = all_errors<user>(R"({"id":"x","name":5,"age":1})");
    REQUIRE(errors.size() == 4);
    CHECK(errors[0] == "$.id: expected integer, got string");
    CHECK(errors[1] == "$.name: expected string, got number");
    CHECK(errors[2] == "$.email: field required");
    CHECK(errors[3] == "$.tags: field required");
}

TEST_CASE("parse: renames, defaults, optionals, null")
{
    auto r = json::parse<renamed>(R"({"userName":"ann","age":null})");
    REQUIRE(r);
    CHECK(r->user_name == "ann");
    CHECK(r->retries == 3);  // defaulted: keeps the member initializer
    CHECK_FALSE(r->age);
    CHECK_FALSE(r->note);
    r = json::parse<renamed>(R"({"userName":"ann","retries":5,"age":7})");
    REQUIRE(r);
    CHECK(r->retries == 5);
    CHECK(r->age == 7);
    CHECK(first_error<renamed>(R"({"userName":null})") == "$.userName: expected string, got null");
}

TEST_CASE("parse: unknown fields are ignored by default, rejected on request")
{
    auto p = json::parse<point>(R"({"x":1,"extra":{"deep":[1,2,{"a":null}]},"y":2})");
    REQUIRE(p);
    CHECK(*p == point{1, 2});
    json::parse_options strict{.unknown = json::unknown_fields::reject};
    auto errors = all_errors<point>(R"({"x":1,"extra":true,"y":2,"more":0})", strict);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0] == "$.extra: unknown field");
    CHECK(errors[1] == "$.more: unknown field");
    // Ignored values are still validated.
    CHECK(first_error<point>(R"({"x":1,"y":2,"extra":[tru]})") == "$.extra[0]: invalid literal");
}

TEST_CASE("parse: duplicate keys are rejected everywhere")
{
    CHECK(first_error<point>(R"({"x":1,"x":2,"y":3})") == "$.x: duplicate key 'x'");
    CHECK(first_error<point>(R"({"x":1,"y":3,"z":1,"z":2})") == "$.z: duplicate key 'z'");
    CHECK(first_error<everything>(R"({"counts":{"a":1,"a":2}})") == "$.counts.a: duplicate key 'a'");
    CHECK(first_error<everything>(R"({"extra":{"k":1,"k":2}})") == "$.extra.k: duplicate key 'k'");
    // Escaped keys compare by their unescaped value.
    CHECK(first_error<point>(R"({"x":1,"\u0078":2,"y":3})") == "$.x: duplicate key 'x'");
}

TEST_CASE("parse: limits, malformed input, invalid UTF-8")
{
    json::parse_options small{.max_size = 10};
    CHECK(first_error<point>(R"({"x":1,"y":2})", small) ==
          "$: document of 13 bytes exceeds the limit of 10 bytes");
    json::parse_options shallow{.max_depth = 3};
    CHECK(first_error<json::value>("[[[[1]]]]", shallow) == "$[0][0][0]: nesting deeper than 3");
    CHECK(json::parse<json::value>("[[[1]]]", shallow));
    CHECK(first_error<point>(R"({"x":1,"y":2)") == "$: unexpected end of document");
    CHECK(first_error<point>(R"({"x":1,"y":2} x)").find("$") == 0);
    CHECK(first_error<point>(R"({"x":1,"y":2}{})") == "$: unexpected content after the document");
    CHECK(first_error<point>(R"({"x":01,"y":2})") == "$.x: invalid number");
    CHECK(first_error<point>("{\"x\":1,\"y\":2,\"s\":\"\xff\"}").find("invalid UTF-8") != std::string::npos);
    CHECK(first_error<point>("").find("$") == 0);
    json::reader r;
    auto res = r.parse<point>("{\"x\":1,\"y\":2,\"s\":\"\xc3\x28\"}");
    REQUIRE_FALSE(res);
    CHECK(res.errors().front().kind == json::error_kind::utf8);
}

TEST_CASE("parse: std::string_view members point into the reader's buffers")
{
    json::reader r;
    auto v = r.parse<view_holder>(R"({"text":"plain","key":"esc\"aped\u00e9"})");
    REQUIRE(v);
    CHECK(v->text == "plain");
    CHECK(v->key == "esc\"aped\xc3\xa9");
}

TEST_CASE("parse: tagged variants")
{
    auto d = json::parse<drawing>(R"({"shapes":[{"radius":2,"kind":"circle"},{"kind":"rect","h":1,"w":4}]})");
    REQUIRE(d);
    CHECK(*d == drawing{{circle{2}, rect{4, 1}}});
    CHECK(first_error<drawing>(R"({"shapes":[{"kind":"hexagon"}]})") ==
          "$.shapes[0].kind: expected one of 'circle', 'rect', got 'hexagon'");
    CHECK(first_error<drawing>(R"({"shapes":[{"radius":1}]})") == "$.shapes[0].kind: field required");
    CHECK(first_error<drawing>(R"({"shapes":[{"kind":"rect","w":1}]})") == "$.shapes[0].h: field required");
    json::parse_options strict{.unknown = json::unknown_fields::reject};
    CHECK(json::parse<drawing>(R"({"shapes":[{"kind":"circle","radius":1}]})", strict));
}

TEST_CASE("parse: a reader is reusable and parse_into keeps absent members")
{
    json::reader r;
    for (int i = 0; i < 3; ++i) {
        auto p = r.parse<point>(R"({"x":)" + std::to_string(i) + R"(,"y":0})");
        REQUIRE(p);
        CHECK(p->x == i);
    }
    renamed target{"keep", 9, 1, 2};
    auto errors = r.parse_into(R"({"userName":"new"})", target);
    CHECK(errors.empty());
    CHECK(target.user_name == "new");
    CHECK(target.retries == 9);
}

TEST_CASE("parse: top-level scalars and containers")
{
    CHECK(*json::parse<int>("42") == 42);
    CHECK(*json::parse<std::string>(R"("hi")") == "hi");
    CHECK(*json::parse<std::vector<int>>("[1,2,3]") == std::vector<int>{1, 2, 3});
    CHECK(first_error<int>("42 43").find("$") == 0);
    auto m = json::parse<std::map<std::string, std::vector<point>>>(R"({"a":[{"x":1,"y":2}]})");
    REQUIRE(m);
    CHECK(m->at("a").at(0) == point{1, 2});
}
