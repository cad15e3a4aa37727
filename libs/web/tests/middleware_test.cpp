// Routing outcomes and the middleware onion: global, group and route scopes,
// and global middleware around 404, 405, automatic OPTIONS and HEAD.
#include <covet/web/web.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>

namespace http = covet::http;
namespace web = covet::web;
using covet::task;

namespace {

/// Appends `tag` to the X-Trace response header (outer middleware run last on the way out).
web::middleware tracer(std::string tag)
{
    return [tag](http::request& req, web::next n) -> task<http::response> {
        http::response r = co_await n(req);
        const std::string before(r.header("x-trace"));
        r.set_header("X-Trace", before.empty() ? tag : before + "," + tag);
        co_return r;
    };
}

}  // namespace

TEST_CASE("the onion: global, group, route middleware in order, and a short-circuit")
{
    web::app app;
    app.use(tracer("global"));
    app.get("/plain", [] { return std::string("plain"); });
    auto api = app.group("/api");
    api.use(tracer("api"));
    auto v1 = api.group("/v1");
    v1.use(tracer("v1"));
    v1.get("/items/{id:int}", [](web::path<int> id) { return std::to_string(*id); }).use(tracer("route"));
    v1.get("/guarded", [] {
          return std::string("secret");
      }).use([](http::request& req, web::next n) -> task<http::response> {
        if (req.header("authorization") != "Bearer ok") {
            co_return http::response::static_text("no", http::status::unauthorized);
        }
        co_return co_await n(req);
    });
    web::test_client client(app);

    auto r = client.get("/api/v1/items/5");
    CHECK(r.body == "5");
    CHECK(r.header("x-trace") == "route,v1,api,global");
    CHECK(client.get("/plain").header("x-trace") == "global");
    CHECK(client.get("/api/v1/guarded").status == 401);
    CHECK(client.get("/api/v1/guarded").header("x-trace") == "v1,api,global");
    CHECK(client.get("/api/v1/guarded", {{"Authorization", "Bearer ok"}}).body == "secret");
}

TEST_CASE("404, 405 with Allow, automatic OPTIONS and HEAD all pass through global middleware")
{
    web::app app;
    app.use(tracer("global"));
    app.get("/users/{id:int}", [](web::path<int> id) { return "user " + std::to_string(*id); });
    app.post("/users", []() {});
    web::test_client client(app);

    auto nf = client.get("/nope");
    CHECK(nf.status == 404);
    CHECK(nf.header("x-trace") == "global");
    CHECK(nf.header("content-type") == "application/problem+json");
    CHECK(nf.body == R"({"type":"about:blank","title":"Not Found","status":404,"detail":"Not Found"})");

    auto na = client.del("/users/1");
    CHECK(na.status == 405);
    CHECK(na.header("allow") == "GET, HEAD, OPTIONS");
    CHECK(na.header("x-trace") == "global");

    auto opt = client.options("/users");
    CHECK(opt.status == 204);
    CHECK(opt.header("allow") == "POST, OPTIONS");
    CHECK(opt.header("x-trace") == "global");

    auto head = client.head("/users/3");
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("content-length") == "6");
    CHECK(head.header("x-trace") == "global");
}

TEST_CASE("trailing-slash redirect keeps the query")
{
    web::config cfg;
    cfg.routing.slash = covet::router::trailing_slash::redirect;
    web::app app(cfg);
    app.get("/docs", [] { return std::string("docs"); });
    web::test_client client(app);
    auto r = client.get("/docs/?a=1");
    CHECK(r.status == 308);
    CHECK(r.header("location") == "/docs?a=1");
}

TEST_CASE("a handler error keeps middleware headers, and a middleware error is mapped too")
{
    web::app app;
    app.use(tracer("global"));
    app.get("/boom", []() -> std::string { throw std::runtime_error("x"); });
    app.get("/bad", [](web::query<int, "n">) { return std::string(); });
    auto mw = app.group("/mw");
    mw.use([](http::request&, web::next) -> task<http::response> {
        throw covet::http::error(http::status::forbidden, "nope");
        co_return http::response();
    });
    mw.get("/x", [] { return std::string("unreached"); });
    web::test_client client(app);
    auto b = client.get("/boom");
    CHECK(b.status == 500);
    CHECK(b.header("x-trace") == "global");
    auto v = client.get("/bad?n=x");
    CHECK(v.status == 422);
    CHECK(v.header("x-trace") == "global");
    auto m = client.get("/mw/x");
    CHECK(m.status == 403);
    CHECK(m.body == R"({"type":"about:blank","title":"Forbidden","status":403,"detail":"nope"})");
    CHECK(m.header("x-trace") == "global");
}

TEST_CASE("CORS: preflight answered for allowed origins, refused otherwise, never reflects arbitrary origins")
{
    web::app app;
    app.use(web::cors({.allow_origins = {"https://app.example"},
                       .allow_headers = {"Content-Type", "X-Api-Key"},
                       .expose_headers = {"X-Total"},
                       .allow_credentials = true}));
    app.get("/data", [] { return std::string("data"); });
    web::test_client client(app);

    auto pre = client.options("/data", {{"Origin", "https://app.example"},
                                        {"Access-Control-Request-Method", "POST"},
                                        {"Access-Control-Request-Headers", "content-type, x-api-key"}});
    CHECK(pre.status == 204);
    CHECK(pre.header("access-control-allow-origin") == "https://app.example");
    CHECK(pre.header("access-control-allow-credentials") == "true");
    CHECK(pre.header("access-control-allow-methods") == "GET, HEAD, POST, PUT, PATCH, DELETE");
    CHECK(pre.header("access-control-allow-headers") == "Content-Type, X-Api-Key");
    CHECK(pre.header("access-control-max-age") == "600");
    CHECK(pre.header("vary").find("Origin") != std::string_view::npos);

    // Preflight for a path with no route at all: still answered (middleware sees 404s).
    auto pre404 = client.options(
        "/nothing-here", {{"Origin", "https://app.example"}, {"Access-Control-Request-Method", "GET"}});
    CHECK(pre404.status == 204);

    auto evil = client.options(
        "/data", {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "GET"}});
    CHECK(evil.status == 403);
    CHECK_FALSE(evil.has_header("access-control-allow-origin"));
    auto bad_header = client.options("/data", {{"Origin", "https://app.example"},
                                               {"Access-Control-Request-Method", "GET"},
                                               {"Access-Control-Request-Headers", "X-Other"}});
    CHECK(bad_header.status == 403);

    auto simple = client.get("/data", {{"Origin", "https://app.example"}});
    CHECK(simple.body == "data");
    CHECK(simple.header("access-control-allow-origin") == "https://app.example");
    CHECK(simple.header("access-control-expose-headers") == "X-Total");
    CHECK(simple.header("vary") == "Origin");
    auto other = client.get("/data", {{"Origin", "https://evil.example"}});
    CHECK(other.status == 200);
    CHECK_FALSE(other.has_header("access-control-allow-origin"));
    CHECK_FALSE(client.get("/data").has_header("access-control-allow-origin"));
    // A 404 of an allowed origin carries the CORS headers, so the browser shows the real error.
    CHECK(client.get("/missing", {{"Origin", "https://app.example"}}).header("access-control-allow-origin") ==
          "https://app.example");

    web::cors_options unsafe;
    unsafe.allow_origins = {"*"};
    unsafe.allow_credentials = true;
    CHECK_THROWS_AS(web::cors(unsafe), std::invalid_argument);
}

TEST_CASE("CORS with a wildcard answers *, not the origin")
{
    web::app app;
    web::cors_options any;
    any.allow_origins = {"*"};
    any.allow_headers = {"*"};
    app.use(web::cors(any));
    app.get("/", [] { return std::string("x"); });
    web::test_client client(app);
    auto r = client.get("/", {{"Origin", "https://anyone.example"}});
    CHECK(r.header("access-control-allow-origin") == "*");
    CHECK_FALSE(r.has_header("vary"));
    auto pre = client.options("/", {{"Origin", "https://anyone.example"},
                                    {"Access-Control-Request-Method", "PUT"},
                                    {"Access-Control-Request-Headers", "X-Anything"}});
    CHECK(pre.status == 204);
    CHECK(pre.header("access-control-allow-origin") == "*");
    CHECK(pre.header("access-control-allow-headers") == "X-Anything");
}

TEST_CASE("request id: reused when valid, generated otherwise")
{
    web::app app;
    app.use(web::request_id());
    app.get("/", [] { return std::string("x"); });
    web::test_client client(app);
    CHECK(client.get("/", {{"X-Request-Id", "abc-123"}}).header("x-request-id") == "abc-123");
    const std::string made(client.get("/", {{"X-Request-Id", "has space"}}).header("x-request-id"));
    CHECK(made.size() == 32);
    CHECK(made != client.get("/").header("x-request-id"));
    CHECK(client.get("/missing").has_header("x-request-id"));
}
