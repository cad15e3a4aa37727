// The example of libs/router/README.md, kept compiling and correct.
#include <covet/router/router.hpp>

#include <doctest/doctest.h>

#include <string>

using namespace covet::router;

TEST_CASE("README example: own handler type, groups, 404/405, url_for")
{
    using handler = std::string (*)(const params&);
    router<handler, std::string> r;

    r.get("/", [](const params&) { return std::string("home"); });
    r.get(
        "/users/{id:int}", [](const params& p) { return "user " + std::to_string(*p.as<int>("id")); },
        "user");
    r.get("/static/{path...}", [](const params& p) { return std::string(*p.get("path")); });
    auto api = r.group("/api/v1", "auth");
    api.post("/items", [](const params&) { return std::string("created"); });
    r.freeze();

    auto m = r.find(method::get, "/users/42");
    REQUIRE(m.status() == match_status::found);
    CHECK((*m.handler())(m.params()) == "user 42");
    auto created = r.find(method::post, "/api/v1/items");
    REQUIRE(created);
    CHECK((*created.handler())(created.params()) == "created");
    CHECK(created.group()->data == "auth");
    auto wrong = r.find(method::get, "/api/v1/items");
    CHECK(wrong.status() == match_status::method_not_allowed);
    CHECK(wrong.allow_header() == "POST, OPTIONS");
    CHECK(r.find(method::get, "/nowhere").status() == match_status::not_found);
    CHECK(r.url_for("user", {{"id", "42"}}).value() == "/users/42");
}
