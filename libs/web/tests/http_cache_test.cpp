// web::http_cache: stored responses and what may not be stored
// (Cache-Control, Authorization, Set-Cookie, Vary), expiry, invalidation by
// unsafe methods, ETag / If-None-Match and Last-Modified / If-Modified-Since
// 304s; in-process (test_client) and over real sockets.
#include <covet/http/client.hpp>
#include <covet/net/spawn.hpp>
#include <covet/web/web.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

namespace http = covet::http;
namespace net = covet::net;
namespace web = covet::web;
namespace cache = covet::cache;
using covet::task;
using namespace std::chrono_literals;

namespace {

/// An app whose handlers count their calls; `cache-control` comes from the query.
struct counted_app {
    std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
    web::app app;

    explicit counted_app(web::http_cache_options opts)
    {
        app.use(web::http_cache(std::move(opts)));
        auto c = calls;
        app.get("/items/{id:int}", [c](web::path<int> id, web::query<std::optional<std::string>, "cc"> cc) {
            const int n = ++*c;
            http::response r = http::response::text("item " + std::to_string(*id) + " v" + std::to_string(n));
            if (cc->has_value()) {
                r.set_header("Cache-Control", **cc);
            }
            return r;
        });
        app.get("/lang", [c](web::header<std::string, "Accept-Language"> lang) {
            ++*c;
            http::response r = http::response::text("hello in " + *lang);
            r.set_header("Cache-Control", "max-age=60");
            r.set_header("Vary", "Accept-Language");
            return r;
        });
        app.get("/cookie", [c]() {
            ++*c;
            http::response r = http::response::text("with cookie");
            r.set_header("Cache-Control", "max-age=60");
            r.set_header("Set-Cookie", "a=b");
            return r;
        });
        app.get("/trailed", [c]() {
            ++*c;
            http::response r = http::response::text("with trailer");
            r.set_header("Cache-Control", "max-age=60");
            r.add_trailer("X-Checksum", "abc");
            return r;
        });
        app.get("/dated", [c]() {
            ++*c;
            http::response r = http::response::text("dated");
            r.set_header("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
            return r;
        });
        app.post("/items/{id:int}", [c](web::path<int>) { return std::string("updated"); });
    }
};

}  // namespace

TEST_CASE("http_cache: max-age responses are stored and served with Age, expiry via the clock")
{
    cache::manual_clock clock;
    counted_app a({.clock = clock.fn()});
    web::test_client client(a.app);

    auto first = client.get("/items/1?cc=max-age%3D60");
    CHECK(first.status == 200);
    CHECK(first.body == "item 1 v1");
    CHECK_FALSE(first.has_header("age"));
    clock.advance(5s);
    auto second = client.get("/items/1?cc=max-age%3D60");
    CHECK(second.body == "item 1 v1");
    CHECK(second.header("age") == "5");
    CHECK(second.header("cache-control") == "max-age=60");
    CHECK(second.header("content-type") == "text/plain; charset=utf-8");
    CHECK(second.header("etag") == first.header("etag"));
    CHECK(client.head("/items/1?cc=max-age%3D60").header("age") == "5");  // HEAD from GET's entry
    CHECK(*a.calls == 1);
    client.head("/items/4?cc=max-age%3D60");  // a HEAD is answered, not stored
    CHECK(*a.calls == 2);
    CHECK(client.get("/items/4?cc=max-age%3D60").body == "item 4 v3");
    CHECK(*a.calls == 3);
    // Another query string is another key.
    CHECK(client.get("/items/1?cc=max-age%3D60&x=1").body == "item 1 v4");
    clock.advance(60s);
    CHECK(client.get("/items/1?cc=max-age%3D60").body == "item 1 v5");
    // s-maxage wins over max-age for a shared cache.
    client.get("/items/2?cc=max-age%3D1000,%20s-maxage%3D10");
    clock.advance(11s);
    CHECK(client.get("/items/2?cc=max-age%3D1000,%20s-maxage%3D10").body == "item 2 v7");
}

TEST_CASE(
    "http_cache: no-store, private, no-cache, no freshness, Set-Cookie, trailers and Authorization are not "
    "stored")
{
    counted_app a({});
    web::test_client client(a.app);
    for (const char* target : {"/items/1?cc=no-store", "/items/2?cc=private,%20max-age%3D60",
                               "/items/3?cc=no-cache", "/items/4", "/cookie", "/trailed"}) {
        client.get(target);
        client.get(target);
    }
    CHECK(*a.calls == 12);
    // Authorization: only with public or s-maxage.
    client.get("/items/5?cc=max-age%3D60", {{"Authorization", "Bearer x"}});
    client.get("/items/5?cc=max-age%3D60", {{"Authorization", "Bearer x"}});
    CHECK(*a.calls == 14);
    client.get("/items/6?cc=public,%20max-age%3D60", {{"Authorization", "Bearer x"}});
    client.get("/items/6?cc=public,%20max-age%3D60", {{"Authorization", "Bearer x"}});
    CHECK(*a.calls == 15);
    // The request's no-cache skips the lookup (and stores the fresh answer).
    client.get("/items/6?cc=public,%20max-age%3D60", {{"Cache-Control", "no-cache"}});
    CHECK(*a.calls == 16);
}

TEST_CASE("http_cache: default_max_age stores responses without Cache-Control")
{
    counted_app a({.default_max_age = 30s});
    web::test_client client(a.app);
    CHECK(client.get("/items/9").body == "item 9 v1");
    CHECK(client.get("/items/9").body == "item 9 v1");
    CHECK(*a.calls == 1);
}

TEST_CASE("http_cache: Vary on a request header keeps one variant per value")
{
    counted_app a({});
    web::test_client client(a.app);
    CHECK(client.get("/lang", {{"Accept-Language", "fr"}}).body == "hello in fr");
    CHECK(client.get("/lang", {{"Accept-Language", "fr"}}).body == "hello in fr");
    CHECK(*a.calls == 1);
    CHECK(client.get("/lang", {{"Accept-Language", "de"}}).body == "hello in de");
    CHECK(*a.calls == 2);

    // With Accept-Language in key_headers, both variants are kept.
    counted_app b({.key_headers = {"Accept-Language"}});
    web::test_client kb(b.app);
    kb.get("/lang", {{"Accept-Language", "fr"}});
    kb.get("/lang", {{"Accept-Language", "de"}});
    CHECK(kb.get("/lang", {{"Accept-Language", "fr"}}).body == "hello in fr");
    CHECK(kb.get("/lang", {{"Accept-Language", "de"}}).body == "hello in de");
    CHECK(*b.calls == 2);
}

TEST_CASE("http_cache: a successful POST invalidates the stored responses of its path")
{
    counted_app a({});
    web::test_client client(a.app);
    client.get("/items/1?cc=max-age%3D60");
    client.get("/items/1?cc=max-age%3D60");
    CHECK(*a.calls == 1);
    CHECK(client.post("/items/1", "{}").status == 200);
    CHECK(client.get("/items/1?cc=max-age%3D60").body == "item 1 v2");
}

TEST_CASE("http_cache: ETag and If-None-Match answer 304, on stored and on uncached responses")
{
    counted_app a({});
    web::test_client client(a.app);
    auto fresh = client.get("/items/1");  // not stored (no freshness) but gets an ETag
    const std::string etag(fresh.header("etag"));
    REQUIRE(etag.size() == 18);
    auto again = client.get("/items/1");  // a new body: v2, another ETag
    CHECK(again.header("etag") != etag);

    auto stored = client.get("/items/7?cc=max-age%3D60");
    const std::string stored_etag(stored.header("etag"));
    auto nm = client.get("/items/7?cc=max-age%3D60", {{"If-None-Match", stored_etag}});
    CHECK(nm.status == 304);
    CHECK(nm.body.empty());
    CHECK(nm.header("etag") == stored_etag);
    CHECK(nm.header("cache-control") == "max-age=60");
    CHECK(client.get("/items/7?cc=max-age%3D60", {{"If-None-Match", "\"other\", W/" + stored_etag}}).status ==
          304);
    CHECK(client.get("/items/7?cc=max-age%3D60", {{"If-None-Match", "*"}}).status == 304);
    CHECK(client.get("/items/7?cc=max-age%3D60", {{"If-None-Match", "\"other\""}}).status == 200);
    CHECK(*a.calls == 3);
}

TEST_CASE("http_cache: Last-Modified and If-Modified-Since, If-None-Match takes precedence")
{
    counted_app a({});
    web::test_client client(a.app);
    CHECK(client.get("/dated", {{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}).status == 304);
    CHECK(client.get("/dated", {{"If-Modified-Since", "Mon, 07 Nov 1994 08:49:37 GMT"}}).status == 304);
    CHECK(client.get("/dated", {{"If-Modified-Since", "Sat, 05 Nov 1994 08:49:37 GMT"}}).status == 200);
    CHECK(client.get("/dated", {{"If-Modified-Since", "garbage"}}).status == 200);
    CHECK(client
              .get("/dated",
                   {{"If-None-Match", "\"x\""}, {"If-Modified-Since", "Mon, 07 Nov 1994 08:49:37 GMT"}})
              .status == 200);
}

namespace {

struct wire_results {
    http::client_response first;
    http::client_response second;
    http::client_response revalidated;
};

}  // namespace

TEST_CASE("http_cache over TCP: a stored hit and a 304 through the real engine")
{
    web::config cfg;
    cfg.address = "127.0.0.1";
    cfg.port = 0;
    cfg.threads = 2;
    cfg.handle_signals = false;
    cfg.stop_timeout = 2s;
    counted_app a({});
    a.app.config() = cfg;
    const std::uint16_t port = a.app.listen();
    REQUIRE(port != 0);
    a.app.start();
    const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/items/3?cc=max-age%3D60";
    wire_results r = net::block_on([](std::string u) -> task<wire_results> {
        http::client client;
        wire_results out;
        auto f = co_await client.get(u);
        REQUIRE(f.has_value());
        out.first = std::move(*f);
        auto s = co_await client.get(u);
        REQUIRE(s.has_value());
        out.second = std::move(*s);
        http::client_request req{.url = u,
                                 .headers = {{"If-None-Match", std::string(out.first.header("etag"))}}};
        auto v = co_await client.send(std::move(req));
        REQUIRE(v.has_value());
        out.revalidated = std::move(*v);
        client.close_idle();
        co_return out;
    }(url));
    a.app.stop();

    CHECK(r.first.status_code == 200);
    CHECK(r.second.body == r.first.body);
    CHECK(r.second.header("age") == "0");
    CHECK(r.revalidated.status_code == 304);
    CHECK(r.revalidated.body.empty());
    CHECK(r.revalidated.header("content-length").empty());
    CHECK(*a.calls == 1);
}
