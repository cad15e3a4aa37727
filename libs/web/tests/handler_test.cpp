// Typed handlers: parameter injection, return types, validation errors.
#include <covet/http/error.hpp>
#include <covet/json/json.hpp>
#include <covet/web/web.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace http = covet::http;
namespace web = covet::web;
using covet::task;

namespace {

struct new_user {
    std::string name;
    std::optional<int> age;
};
COVET_REFLECT(new_user, (name, covet::json::min_length(1)), (age, covet::json::min(0)));

struct user {
    std::int64_t id = 0;
    std::string name;
};
COVET_REFLECT(user, id, name);

std::string plain_function(web::path<std::string> name)
{
    return "hi " + *name;
}

}  // namespace

TEST_CASE("path parameters: typed, in order, percent-decoded")
{
    web::app app;
    app.get("/users/{id:int}",
            [](web::path<int> id) -> task<std::string> { co_return "user " + std::to_string(*id); });
    app.get("/a/{x}/b/{y}",
            [](web::path<std::string> x, web::path<long> y) { return *x + ":" + std::to_string(*y); });
    app.get("/hello/{name}", &plain_function);
    app.get("/big/{n}", [](web::path<std::uint8_t> n) { return std::to_string(*n); });
    web::test_client client(app);

    auto r = client.get("/users/42");
    CHECK(r.status == 200);
    CHECK(r.body == "user 42");
    CHECK(r.header("content-type") == "text/plain; charset=utf-8");
    CHECK(client.get("/a/h%C3%A9llo%20w/b/-7").body == "h\xC3\xA9llo w:-7");
    CHECK(client.get("/hello/ada").body == "hi ada");

    auto bad = client.get("/big/300");
    CHECK(bad.status == 422);
    CHECK(bad.header("content-type") == "application/json");
    CHECK(bad.body.find(
              R"({"detail":[{"loc":["path","n"],"msg":"Input should be a valid integer, out of range)") == 0);
    auto nan = client.get("/big/abc");
    CHECK(
        nan.body ==
        R"({"detail":[{"loc":["path","n"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"}]})");
}

TEST_CASE("query and header parameters: required, optional, every error listed")
{
    web::app app;
    app.get("/items",
            [](web::query<std::optional<int>, "page"> page, web::query<std::string, "q"> q,
               web::query<bool, "all"> all, web::header<std::optional<std::string>, "X-Token"> token) {
                return *q + " page=" + std::to_string(page->value_or(1)) + " all=" + (*all ? "1" : "0") +
                       " token=" + token->value_or("-");
            });
    app.get("/num", [](web::query<double, "x"> x, web::header<int, "X-Count"> count) {
        return std::to_string(*x * *count);
    });
    web::test_client client(app);

    CHECK(client.get("/items?q=a+b&all=true").body == "a b page=1 all=1 token=-");
    CHECK(client.get("/items?q=x&page=3&all=0", {{"x-token", "secret"}}).body ==
          "x page=3 all=0 token=secret");
    CHECK(client.get("/num?x=1.5", {{"X-Count", "2"}}).body == "3.000000");

    auto r = client.get("/items?page=two&all=maybe");
    CHECK(r.status == 422);
    CHECK(
        r.body ==
        R"({"detail":[{"loc":["query","page"],"msg":"Input should be a valid integer, unable to parse string as an integer","type":"int_parsing"},)"
        R"({"loc":["query","q"],"msg":"Field required","type":"missing"},)"
        R"({"loc":["query","all"],"msg":"Input should be a valid boolean, unable to interpret input","type":"bool_parsing"}]})");
    auto h = client.get("/num?x=1e400");
    CHECK(h.status == 422);
    CHECK(h.body.find(R"("loc":["query","x"])") != std::string::npos);
    CHECK(h.body.find(R"("loc":["header","X-Count"],"msg":"Field required")") != std::string::npos);
}

TEST_CASE("JSON body: parsed, validated, 422 with covet::json paths, 415 for non-JSON")
{
    web::app app;
    app.post("/users", [](web::body<new_user> u) -> task<http::response> {
        co_return web::json(user{7, u->name}, http::status::created);
    });
    web::test_client client(app);

    auto ok = client.post("/users", R"({"name":"ada","age":36})");
    CHECK(ok.status == 201);
    CHECK(ok.body == R"({"id":7,"name":"ada"})");
    CHECK(ok.json<user>().name == "ada");

    auto invalid = client.post("/users", R"({"name":"","age":-1})");
    CHECK(invalid.status == 422);
    CHECK(invalid.body.find(R"({"loc":["body","name"])") != std::string::npos);
    CHECK(invalid.body.find(R"({"loc":["body","age"],"msg":)") != std::string::npos);

    auto missing = client.post("/users", R"({})");
    CHECK(missing.status == 422);
    CHECK(missing.body.find(R"("loc":["body","name"],"msg":"field required","type":"missing")") !=
          std::string::npos);

    auto empty = client.post("/users", "");
    CHECK(empty.status == 422);
    CHECK(empty.body == R"({"detail":[{"loc":["body"],"msg":"Field required","type":"missing"}]})");

    auto syntax = client.post("/users", R"({"name":)");
    CHECK(syntax.status == 422);
    CHECK(syntax.body.find("json_invalid") != std::string::npos);

    auto text = client.post("/users", R"({"name":"x"})", {{"Content-Type", "text/plain"}});
    CHECK(text.status == 415);
    CHECK(text.header("content-type") == "application/problem+json");
    auto vendor = client.post("/users", R"({"name":"x"})", {{"Content-Type", "application/vnd.api+json"}});
    CHECK(vendor.status == 201);
}

TEST_CASE("return types: struct → JSON, string → text, void → 204, response as is, vector")
{
    web::app app;
    app.get("/struct", []() -> task<user> { co_return user{1, "a"}; });
    app.get("/plain-struct", [] { return user{2, "b"}; });
    app.get("/vector", [] { return std::vector<user>{{1, "a"}, {2, "b"}}; });
    app.del("/void", []() -> task<void> { co_return; });
    app.put("/void-sync", [](web::body<new_user>) {});
    app.get("/response", [] { return http::response::static_text("raw", http::status::accepted); });
    app.get("/request",
            [](http::request& req) { return std::string(req.header("x-a")) + std::string(req.path()); });
    web::test_client client(app);

    auto s = client.get("/struct");
    CHECK(s.status == 200);
    CHECK(s.header("content-type") == "application/json");
    CHECK(s.body == R"({"id":1,"name":"a"})");
    CHECK(client.get("/plain-struct").body == R"({"id":2,"name":"b"})");
    CHECK(client.get("/vector").body == R"([{"id":1,"name":"a"},{"id":2,"name":"b"}])");
    auto v = client.del("/void");
    CHECK(v.status == 204);
    CHECK(v.body.empty());
    CHECK(client.put("/void-sync", R"({"name":"x"})").status == 204);
    auto r = client.get("/response");
    CHECK(r.status == 202);
    CHECK(r.body == "raw");
    CHECK(client.get("/request", {{"X-A", "1"}}).body == "1/request");
}

TEST_CASE("errors: http::error → problem JSON, unknown exception → 500 that leaks nothing")
{
    web::app app;
    app.get("/conflict", []() -> task<std::string> {
        throw http::error(http::status::conflict, "already exists");
        co_return "";
    });
    app.get("/boom", []() -> std::string { throw std::runtime_error("secret detail"); });
    app.get("/validation", []() -> std::string {
        throw web::validation_error({{{std::string("query"), std::string("x")}, "bad x", "value_error"}});
    });
    web::test_client client(app);

    auto c = client.get("/conflict");
    CHECK(c.status == 409);
    CHECK(c.header("content-type") == "application/problem+json");
    CHECK(c.body == R"({"type":"about:blank","title":"Conflict","status":409,"detail":"already exists"})");
    auto b = client.get("/boom");
    CHECK(b.status == 500);
    CHECK(b.body.find("secret") == std::string::npos);
    CHECK(
        b.body ==
        R"({"type":"about:blank","title":"Internal Server Error","status":500,"detail":"Internal Server Error"})");
    auto v = client.get("/validation");
    CHECK(v.status == 422);
    CHECK(v.body == R"({"detail":[{"loc":["query","x"],"msg":"bad x","type":"value_error"}]})");
}

TEST_CASE("registration errors are thrown at once")
{
    web::app app;
    CHECK_THROWS_AS(app.get("/x/{id}", [](web::path<int>, web::path<int>) { return std::string(); }),
                    std::invalid_argument);
    app.get("/ok", [] { return std::string("ok"); });
    CHECK_THROWS_AS(app.get("/ok", [] { return std::string("again"); }), std::invalid_argument);
    app.freeze();
    CHECK_THROWS_AS(app.get("/late", [] { return std::string(); }), std::logic_error);
    CHECK_THROWS_AS(app.use([](http::request& r, web::next n) { return n(r); }), std::logic_error);
}

TEST_CASE("plain handlers (dispatch_now) and the others (dispatch after it) alternate correctly")
{
    web::app app;
    app.get("/double/{n:int}", [](web::path<int> n) { return std::to_string(*n * 2); });
    app.get("/later/{n:int}",
            [](web::path<int> n) -> task<std::string> { co_return "later " + std::to_string(*n); });
    app.get("/throws", []() -> std::string { throw std::invalid_argument("no"); });
    app.get("/mapped", []() -> std::string { throw std::out_of_range("gone"); });
    app.map_error<std::out_of_range>(
        [](const std::out_of_range&) { return http::response(http::status::gone); });
    web::test_client client(app);

    // dispatch_now() declines the coroutine route and the 404; dispatch()
    // must answer them with its own route, never the one looked up before.
    for (int i = 0; i < 3; ++i) {
        CHECK(client.get("/double/" + std::to_string(i)).body == std::to_string(i * 2));
        CHECK(client.get("/later/" + std::to_string(i)).body == "later " + std::to_string(i));
        CHECK(client.get("/nowhere").status == 404);
        CHECK(client.get("/double/x").status == 404);
    }
    CHECK(client.get("/throws").status == 500);
    CHECK(client.get("/mapped").status == 410);
    CHECK(client.post("/double/2", "").status == 405);
}
