#include "test_types.hpp"

#include <doctest/doctest.h>

using namespace test_json;

namespace {

std::vector<std::string> messages(const json::error_list& errors)
{
    std::vector<std::string> out;
    for (const auto& e : errors) {
        out.push_back(e.to_string());
    }
    return out;
}

}  // namespace

TEST_CASE("validate: a valid object passes")
{
    user u{1, "ann", "ann@example.com", 30, {"a"}, "admin"};
    CHECK(json::validate(u).empty());
    auto parsed = json::parse<user>(json::to_string(u));
    CHECK(parsed);
}

TEST_CASE("validate: every violation reported at once, with paths")
{
    auto r = json::parse<team>(
        R"({"title":"t","users":[{"id":1,"name":"ok","email":"a@b.co","age":1,"tags":[]},)"
        R"({"id":0,"name":"","email":"not-an-email","age":151,"tags":["a","b","c"],"role":"root"}]})");
    REQUIRE_FALSE(r);
    auto m = messages(r.errors());
    REQUIRE(m.size() == 6);
    CHECK(m[0] == "$.users[1].id: must be >= 1");
    CHECK(m[1] == "$.users[1].name: length must be at least 1 (is 0)");
    CHECK(m[2] == "$.users[1].email: must be a valid e-mail address");
    CHECK(m[3] == "$.users[1].age: must be <= 150");
    CHECK(m[4] == "$.users[1].tags: length must be at most 2 (is 3)");
    CHECK(m[5] == "$.users[1].role: must be one of 'user', 'admin'");
    CHECK(r.errors()[0].kind == json::error_kind::too_small);
    CHECK(r.errors()[5].kind == json::error_kind::one_of);
}

TEST_CASE("validate: type errors and violations together")
{
    auto r = json::parse<user>(R"({"id":"1","name":"much too long","email":"a@b.co","age":-1,"tags":[]})");
    REQUIRE_FALSE(r);
    auto m = messages(r.errors());
    REQUIRE(m.size() == 3);
    CHECK(m[0] == "$.id: expected integer, got string");
    CHECK(m[1] == "$.name: length must be at most 8 (is 13)");
    CHECK(m[2] == "$.age: must be >= 0");
}

TEST_CASE("validate: lengths count code points")
{
    user u{1, "ééééééé", "a@b.co", 1, {}, "user"};  // 7 code points, 14 bytes
    CHECK(json::validate(u).empty());
    u.name = "éééééééé\xc3\xa9";  // 9 code points
    auto m = messages(json::validate(u));
    REQUIRE(m.size() == 1);
    CHECK(m[0] == "$.name: length must be at most 8 (is 9)");
}

TEST_CASE("validate: pattern and custom predicates")
{
    CHECK(json::parse<coded>(R"({"code":"ABC-12","even":4})"));
    auto r = json::parse<coded>(R"({"code":"abc-12","even":3})");
    REQUIRE_FALSE(r);
    auto m = messages(r.errors());
    REQUIRE(m.size() == 2);
    CHECK(m[0] == "$.code: must match pattern '[A-Z]{3}-[0-9]+'");
    CHECK(m[1] == "$.even: must be even");
    // The whole string must match.
    CHECK_FALSE(json::parse<coded>(R"({"code":"ABC-12x","even":0})"));
}

TEST_CASE("validate: validate() walks nested objects built in C++")
{
    team t{"t", {user{1, "a", "a@b.co", 1, {}, "user"}, user{1, "b", "nope", 1, {}, "user"}}};
    auto m = messages(json::validate(t));
    REQUIRE(m.size() == 1);
    CHECK(m[0] == "$.users[1].email: must be a valid e-mail address");
}

TEST_CASE("validate: validation can be switched off")
{
    json::reader r({.validate = false});
    CHECK(r.parse<coded>(R"({"code":"x","even":3})"));
}

TEST_CASE("validate: e-mail heuristics")
{
    for (auto good : {"a@b.co", "first.last+tag@sub.example.org", "x_y@d-x.io"}) {
        CHECK_MESSAGE(json::detail::plausible_email(good), std::string(good));
    }
    for (auto bad : {"", "a", "@b.co", "a@", "a@b", "a@@b.co", "a b@c.de", "a@b..co", "a@.b.co", ".a@b.co",
                     "a@b.co.", "a@-b.co"}) {
        CHECK_MESSAGE(!json::detail::plausible_email(bad), std::string(bad));
    }
}

TEST_CASE("errors: FastAPI-shaped 422 body")
{
    auto r = json::parse<team>(R"({"title":"t","users":[{"id":1,"name":"ok","email":5,"age":1,"tags":[]}]})");
    REQUIRE_FALSE(r);
    CHECK(
        json::error_body(r.errors()) ==
        R"({"detail":[{"loc":["body","users",0,"email"],"msg":"expected string, got number","type":"type_error"}]})");
    auto missing = json::parse<point>(R"({"x":1})");
    CHECK(json::error_body(missing.errors(), "") ==
          R"({"detail":[{"loc":["y"],"msg":"field required","type":"missing"}]})");
    // The body is valid JSON for our own parser too.
    auto back = json::parse_value(json::error_body(r.errors()));
    REQUIRE(back);
    CHECK(back->find("detail")->at(0)->find("loc")->at(2)->if_int64() != nullptr);
}

TEST_CASE("errors: paths render keys that are not identifiers in brackets")
{
    json::error e{{std::string("a"), std::size_t{2}, std::string("b c"), std::string("\"")},
                  json::error_kind::type,
                  "m"};
    CHECK(e.to_string() == R"($.a[2]["b c"]["\""]: m)");
    CHECK(json::error{{}, json::error_kind::syntax, "m"}.to_string() == "$: m");
}
