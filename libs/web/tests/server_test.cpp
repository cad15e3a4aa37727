// The app behind the real http engine: sockets, Date/Server headers, pipelining
// through the router, graceful stop.
#include <covet/http/client.hpp>
#include <covet/json/json.hpp>
#include <covet/net/spawn.hpp>
#include <covet/web/web.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>

namespace http = covet::http;
namespace net = covet::net;
namespace web = covet::web;
using covet::task;
using namespace std::chrono_literals;

namespace {

struct point {
    int x = 0;
    int y = 0;
};
COVET_REFLECT(point, x, y);

struct results {
    http::client_response json;
    http::client_response created;
    http::client_response missing;
    http::client_response invalid;
};

}  // namespace

TEST_CASE("served over TCP: typed handlers, JSON, errors, engine headers")
{
    web::config cfg;
    cfg.address = "127.0.0.1";
    cfg.port = 0;
    cfg.threads = 2;
    cfg.handle_signals = false;
    cfg.stop_timeout = 2s;
    web::app app(cfg);
    app.use(web::request_id());
    app.get("/points/{x:int}/{y:int}", [](web::path<int> x, web::path<int> y) -> task<point> {
        co_return point{*x, *y};
    });
    app.post("/points", [](web::body<point> p) { return web::json(*p, http::status::created); });
    const std::uint16_t port = app.listen();
    REQUIRE(port != 0);
    app.start();

    const std::string base = "http://127.0.0.1:" + std::to_string(port);
    // Everything socket-related lives and dies inside this one block_on.
    results r = net::block_on([](std::string b) -> task<results> {
        http::client client;
        results out;
        auto a = co_await client.get(b + "/points/3/-4");
        REQUIRE(a.has_value());
        out.json = std::move(*a);
        auto c = co_await client.post(b + "/points", R"({"x":1,"y":2})", "application/json");
        REQUIRE(c.has_value());
        out.created = std::move(*c);
        auto m = co_await client.get(b + "/nope");
        REQUIRE(m.has_value());
        out.missing = std::move(*m);
        auto i = co_await client.post(b + "/points", R"({"x":"1"})", "application/json");
        REQUIRE(i.has_value());
        out.invalid = std::move(*i);
        client.close_idle();
        co_return out;
    }(base));
    app.stop();

    CHECK(r.json.status_code == 200);
    CHECK(r.json.body == R"({"x":3,"y":-4})");
    CHECK(r.json.header("content-type") == "application/json");
    CHECK(r.json.header("server") == "covet");
    CHECK_FALSE(r.json.header("date").empty());
    CHECK(r.json.header("x-request-id").size() == 32);
    CHECK(r.created.status_code == 201);
    CHECK(r.created.body == R"({"x":1,"y":2})");
    CHECK(r.missing.status_code == 404);
    CHECK(r.missing.header("content-type") == "application/problem+json");
    CHECK(r.invalid.status_code == 422);
    CHECK(r.invalid.body.find(R"("loc":["body","x"])") != std::string::npos);
    CHECK(r.invalid.body.find(R"("loc":["body","y"],"msg":"field required")") != std::string::npos);
}
