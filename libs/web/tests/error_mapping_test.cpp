// app.map_error<E>(fn): exceptions of other libraries answered with chosen
// statuses, from handlers, per-request factories and middleware; nullopt
// passes on; a failing mapping is a 500; the defaults still apply.
#include <covet/http/error.hpp>
#include <covet/web/web.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace http = covet::http;
namespace web = covet::web;
using covet::task;

namespace {

struct storage_error : std::runtime_error {
    storage_error(int c, const std::string& m) : std::runtime_error(m), code(c) {}
    int code;
};
struct busy_error : storage_error {
    busy_error() : storage_error(2, "busy") {}
};
struct session {
    int id = 0;
};

}  // namespace

TEST_CASE("map_error: handlers, factories and middleware get the mapped status")
{
    web::app app;
    app.map_error<storage_error>(
        [](const storage_error& e, const http::request& req) -> std::optional<http::response> {
            if (e.code == 1) {
                const web::problem_member code{"code", "duplicate"};
                return web::problem(http::status::conflict, std::string(req.path()) + " exists", {&code, 1});
            }
            if (e.code == 2) {
                http::response r = web::problem(http::status::service_unavailable);
                r.set_header("Retry-After", "1");
                return r;
            }
            return std::nullopt;  // anything else: the default 500
        });
    app.map_error<std::logic_error>([](const std::logic_error&) -> http::response {
        throw std::runtime_error("the mapping itself fails");
    });
    app.get("/dup", []() -> task<std::string> {
        throw storage_error(1, "UNIQUE constraint failed: t.secret_column");
        co_return "";
    });
    app.get("/busy", []() -> std::string { throw busy_error(); });  // derived type
    app.get("/other", []() -> std::string { throw storage_error(3, "internal detail"); });
    app.get("/logic", []() -> std::string { throw std::logic_error("x"); });
    app.get("/http", []() -> std::string { throw http::error(http::status::forbidden, "no"); });
    app.provide_per_request([](web::header<std::optional<std::string>, "X-Fail">) -> session {
        throw storage_error(1, "from a factory");
    });
    app.get("/factory", [](web::inject<session> s) { return std::to_string(s->id); });
    auto api = app.group("/mw");
    api.use([](http::request&, web::next) -> task<http::response> {
        throw busy_error();
        co_return http::response::no_content();
    });
    api.get("/x", [] { return std::string("unreachable"); });

    web::test_client client(app);
    auto dup = client.get("/dup");
    CHECK(dup.status == 409);
    CHECK(dup.header("Content-Type") == "application/problem+json");
    CHECK(
        dup.body ==
        R"({"type":"about:blank","title":"Conflict","status":409,"detail":"/dup exists","code":"duplicate"})");
    CHECK(dup.body.find("secret_column") == std::string::npos);

    auto busy = client.get("/busy");
    CHECK(busy.status == 503);
    CHECK(busy.header("Retry-After") == "1");

    auto other = client.get("/other");
    CHECK(other.status == 500);
    CHECK(other.body.find("internal detail") == std::string::npos);

    CHECK(client.get("/logic").status == 500);
    CHECK(client.get("/http").status == 403);
    CHECK(client.get("/factory").status == 409);
    auto mw = client.get("/mw/x");
    CHECK(mw.status == 503);
    CHECK(mw.header("Retry-After") == "1");
}

TEST_CASE("map_error: the first matching mapping in registration order answers")
{
    web::app app;
    app.map_error<busy_error>(
        [](const busy_error&) { return web::problem(http::status::too_many_requests); });
    app.map_error<storage_error>([](const storage_error&) { return web::problem(http::status::conflict); });
    app.get("/busy", []() -> std::string { throw busy_error(); });
    app.get("/dup", []() -> std::string { throw storage_error(1, "x"); });
    web::test_client client(app);
    CHECK(client.get("/busy").status == 429);
    CHECK(client.get("/dup").status == 409);
    CHECK_THROWS_AS(
        app.map_error<busy_error>([](const busy_error&) { return web::problem(http::status::gone); }),
        std::logic_error);
}
