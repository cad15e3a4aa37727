#include <covet/router/router.hpp>

#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace covet::router;

namespace {

// A handler type the router knows nothing about.
struct tag_handler {
    int id;
};

using tag_router = router<tag_handler>;

// Route id of a GET lookup, or -1 for anything but found.
int lookup(const tag_router& r, std::string_view path, method m = method::get)
{
    auto found = r.find(m, path);
    return found ? found.handler()->id : -1;
}

std::string throws_message(const std::function<void()>& f)
{
    try {
        f();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "(no exception)";
}

}  // namespace

TEST_CASE("static routes, the root, and 404")
{
    tag_router r;
    r.get("/", {1});
    r.get("/users", {2});
    r.get("/users/new", {3});
    r.get("/about/team/leads", {4});
    r.freeze();
    CHECK(lookup(r, "/") == 1);
    CHECK(lookup(r, "/users") == 2);
    CHECK(lookup(r, "/users/new") == 3);
    CHECK(lookup(r, "/about/team/leads") == 4);
    CHECK(r.find(method::get, "/about/team").status() == match_status::not_found);
    CHECK(r.find(method::get, "/users/").status() == match_status::not_found);
    CHECK(r.find(method::get, "/nope").status() == match_status::not_found);
    CHECK(r.find(method::get, "").status() == match_status::not_found);
    CHECK(r.find(method::get, "users").status() == match_status::not_found);
    CHECK(r.find(method::get, "//").status() == match_status::not_found);
}

TEST_CASE("named parameters are views into the path")
{
    tag_router r;
    r.get("/users/{id}", {1});
    r.get("/users/{id}/posts/{post}", {2});
    std::string path = "/users/alice/posts/7";
    auto m = r.find(method::get, path);
    REQUIRE(m);
    CHECK(m.handler()->id == 2);
    REQUIRE(m.params().size() == 2);
    CHECK(m.params().name(0) == "id");
    CHECK(m.params()[0] == "alice");
    CHECK(m.params()[0].data() == path.data() + 7);
    CHECK(m.params().get("post") == "7");
    CHECK(!m.params().get("nope"));
    CHECK(m.route()->pattern == "/users/{id}/posts/{post}");
    // A parameter never matches an empty segment.
    CHECK(r.find(method::get, "/users/").status() == match_status::not_found);
    CHECK(r.find(method::get, "/users//posts/7").status() == match_status::not_found);
}

TEST_CASE("typed parameters: int, uuid, custom patterns and defined types")
{
    tag_router r;
    r.define_type("slugtype", "[a-z][a-z0-9-]*");
    r.get("/n/{id:int}", {1});
    r.get("/n/{id:uuid}", {2});
    r.get("/s/{slug:[a-z-]+}", {3});
    r.get("/y/{year:[0-9]{4}}", {4});
    r.get("/t/{x:slugtype}", {5});
    r.get("/h/{v:hex}/{w:alpha}", {6});
    CHECK(lookup(r, "/n/42") == 1);
    CHECK(lookup(r, "/n/-42") == 1);
    CHECK(lookup(r, "/n/123e4567-e89b-12d3-a456-426614174000") == 2);
    CHECK(lookup(r, "/n/123e4567-e89b-12d3-a456-42661417400") == -1);
    CHECK(lookup(r, "/n/abc") == -1);
    CHECK(lookup(r, "/s/hello-world") == 3);
    CHECK(lookup(r, "/s/Hello") == -1);
    CHECK(lookup(r, "/y/2026") == 4);
    CHECK(lookup(r, "/y/226") == -1);
    CHECK(lookup(r, "/y/20266") == -1);
    CHECK(lookup(r, "/t/a-1") == 5);
    CHECK(lookup(r, "/t/1a") == -1);
    CHECK(lookup(r, "/h/ff/zz") == 6);
    auto m = r.find(method::get, "/n/-17");
    CHECK(m.params().as<int>("id").value() == -17);
    CHECK(!r.find(method::get, "/n/99999999999").params().as<int>("id"));
    CHECK(!m.params().as<int>("nope"));
}

TEST_CASE("catch-all captures the rest of the path")
{
    tag_router r;
    r.get("/static/{path...}", {1});
    r.get("/static/special", {2});
    r.get("/{all...}", {3});
    auto m = r.find(method::get, "/static/css/site.css");
    REQUIRE(m);
    CHECK(m.handler()->id == 1);
    CHECK(m.params().get("path") == "css/site.css");
    CHECK(lookup(r, "/static/special") == 2);
    CHECK(r.find(method::get, "/static/special/x").params().get("path") == "special/x");
    CHECK(r.find(method::get, "/static/").params().get("path") == "");
    // "/static" has no route of its own; the root catch-all takes it.
    CHECK(lookup(r, "/static") == 3);
    CHECK(r.find(method::get, "/a//b").params().get("all") == "a//b");
}

TEST_CASE("priority: static > typed > parameter > catch-all")
{
    tag_router r;
    r.get("/p/{rest...}", {4});
    r.get("/p/{name}", {3});
    r.get("/p/{id:int}", {2});
    r.get("/p/42", {1});
    CHECK(lookup(r, "/p/42") == 1);
    CHECK(lookup(r, "/p/43") == 2);
    CHECK(lookup(r, "/p/abc") == 3);
    CHECK(lookup(r, "/p/abc/def") == 4);
}

TEST_CASE("backtracking: a failed static or typed branch falls back")
{
    tag_router r;
    r.get("/a/b/c", {1});
    r.get("/a/{x}/d", {2});
    r.get("/a/{n:int}/e", {3});
    r.get("/a/{x}/{y}/{z...}", {4});
    auto m = r.find(method::get, "/a/b/d");
    REQUIRE(m);
    CHECK(m.handler()->id == 2);
    REQUIRE(m.params().size() == 1);
    CHECK(m.params()[0] == "b");
    CHECK(lookup(r, "/a/7/e") == 3);
    m = r.find(method::get, "/a/7/d");  // typed branch fails, plain param wins
    REQUIRE(m);
    CHECK(m.handler()->id == 2);
    CHECK(m.params().size() == 1);
    m = r.find(method::get, "/a/b/c/q/r");  // rolls back params of failed branches
    REQUIRE(m);
    CHECK(m.handler()->id == 4);
    REQUIRE(m.params().size() == 3);
    CHECK(m.params().get("x") == "b");
    CHECK(m.params().get("y") == "c");
    CHECK(m.params().get("z") == "q/r");
}

TEST_CASE("404 vs 405 with Allow, HEAD from GET, automatic OPTIONS, custom methods")
{
    tag_router r;
    r.get("/items", {1});
    r.post("/items", {2});
    r.del("/items/{id}", {3});
    r.add("PROPFIND", "/items", {4});
    r.add(method::head, "/items/{id}", {5});
    auto m = r.find(method::put, "/items");
    CHECK(m.status() == match_status::method_not_allowed);
    CHECK(m.allow().contains(method::get));
    CHECK(m.allow().contains(method::head));
    CHECK(m.allow().contains(method::post));
    CHECK(!m.allow().contains(method::put));
    CHECK(m.allow_header() == "GET, HEAD, POST, OPTIONS, PROPFIND");
    std::string header = "Allow: ";  // appends to what the buffer holds
    m.append_allow(header);
    CHECK(header == "Allow: GET, HEAD, POST, OPTIONS, PROPFIND");
    CHECK(r.find(method::put, "/nothing").status() == match_status::not_found);
    CHECK(r.find(method::get, "/items/1").allow_header() == "HEAD, DELETE, OPTIONS");

    m = r.find(method::head, "/items");
    REQUIRE(m);
    CHECK(m.handler()->id == 1);
    CHECK(m.route()->method == method::get);
    CHECK(lookup(r, "/items/9", method::head) == 5);

    m = r.find(method::options, "/items");
    CHECK(m.status() == match_status::auto_options);
    CHECK(m.allow_header() == "GET, HEAD, POST, OPTIONS, PROPFIND");

    m = r.find("PROPFIND", "/items");
    REQUIRE(m);
    CHECK(m.handler()->id == 4);
    CHECK(r.find("MKCOL", "/items").status() == match_status::method_not_allowed);
    CHECK(r.find("POST", "/items").handler()->id == 2);

    router<int> plain({.head_from_get = false, .auto_options = false});
    plain.get("/x", 1);
    CHECK(plain.find(method::head, "/x").status() == match_status::method_not_allowed);
    CHECK(plain.find(method::options, "/x").status() == match_status::method_not_allowed);
    CHECK(plain.find(method::head, "/x").allow_header() == "GET");
}

TEST_CASE("conflicting and ambiguous registrations fail and name both routes")
{
    tag_router r;
    r.get("/users/{id}", {1}, "user");
    r.get("/n/{id:int}", {2});
    r.get("/files/{p...}", {3});
    auto msg = throws_message([&] { r.get("/users/{name}", {9}); });
    CHECK(msg.find("GET /users/{name}") != std::string::npos);
    CHECK(msg.find("GET /users/{id}") != std::string::npos);
    msg = throws_message([&] { r.get("/n/{x:uint}", {9}); });
    CHECK(msg.find("GET /n/{x:uint}") != std::string::npos);
    CHECK(msg.find("GET /n/{id:int}") != std::string::npos);
    CHECK(msg.find("ambiguous") != std::string::npos);
    msg = throws_message([&] { r.post("/n/{x:[0-9a-f]+}/z", {9}); });
    CHECK(msg.find("GET /n/{id:int}") != std::string::npos);
    msg = throws_message([&] { r.get("/files/{q...}", {9}); });
    CHECK(msg.find("GET /files/{p...}") != std::string::npos);
    msg = throws_message([&] { r.get("/other", {9}, "user"); });
    CHECK(msg.find("GET /users/{id}") != std::string::npos);
    CHECK(msg.find("GET /other") != std::string::npos);

    // Disjoint types at one position are fine; the same type is shared.
    CHECK_NOTHROW(r.get("/n/{id:uuid}", {4}));
    CHECK_NOTHROW(r.post("/n/{other:int}", {5}));
    CHECK_NOTHROW(r.post("/users/{name}", {6}));
    CHECK_NOTHROW(r.get("/n/{id:[a-z]+}", {7}));

    // Malformed patterns.
    for (const char* bad : {"users", "/a/{", "/a/{}", "/a/x{id}", "/a/{id}x", "/a/{p...}/b", "/a/{id}/{id}",
                            "/a/{x:}", "/a/{x:nosuch(}", "/a/{x:[a-}", "/a/{bad-name}", "/a/{x:a{99}}"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(r.get(bad, {9}), std::invalid_argument);
    }
    std::string many = "/m";
    for (int i = 0; i < 17; ++i) {
        many += "/{p" + std::to_string(i) + "}";
    }
    CHECK_THROWS_AS(r.get(many, {9}), std::invalid_argument);
    CHECK_THROWS_AS(r.add("BAD METHOD", "/x", {9}), std::invalid_argument);
    // A rejected route leaves nothing behind.
    CHECK(r.size() == 7);
    CHECK(lookup(r, "/n/42") == 2);
    CHECK(r.find(method::get, "/a/x").status() == match_status::not_found);
}

TEST_CASE("trailing slash policies: strict, redirect, ignore")
{
    for (auto policy : {trailing_slash::strict, trailing_slash::redirect, trailing_slash::ignore}) {
        CAPTURE(static_cast<int>(policy));
        tag_router r({.slash = policy});
        r.get("/a", {1});
        r.get("/b/", {2});
        r.get("/c/{id}", {3});
        r.get("/d/{p...}", {4});
        auto a = r.find(method::get, "/a/");
        auto b = r.find(method::get, "/b");
        auto c = r.find(method::get, "/c/7/");
        CHECK(lookup(r, "/a") == 1);
        CHECK(lookup(r, "/b/") == 2);
        CHECK(lookup(r, "/d/x/") == 4);
        switch (policy) {
        case trailing_slash::strict:
            CHECK(a.status() == match_status::not_found);
            CHECK(b.status() == match_status::not_found);
            CHECK(c.status() == match_status::not_found);
            break;
        case trailing_slash::redirect:
            CHECK(a.status() == match_status::redirect);
            CHECK(a.redirect_location() == "/a");
            CHECK(b.status() == match_status::redirect);
            CHECK(b.redirect_location() == "/b/");
            CHECK(c.redirect_location() == "/c/7");
            CHECK(r.find(method::get, "/d").redirect_location() == "/d/");
            break;
        case trailing_slash::ignore:
            CHECK(a.handler()->id == 1);
            CHECK(b.handler()->id == 2);
            REQUIRE(c);
            CHECK(c.params().get("id") == "7");
            break;
        }
        CHECK(r.find(method::get, "/zz/").status() == match_status::not_found);
    }
}

TEST_CASE("groups: prefix, nesting, per-group data")
{
    router<int, std::string> r;
    auto api = r.group("/api", "api-mw");
    auto v1 = api.group("/v1", "v1-mw");
    api.get("/health", 1);
    v1.get("/users/{id}", 2, "v1.user");
    v1.get("", 3);
    r.get("/", 4);
    CHECK(v1.prefix() == "/api/v1");
    CHECK(v1.data() == "v1-mw");
    CHECK_THROWS_AS(r.group("api"), std::invalid_argument);
    CHECK_THROWS_AS(r.group("/api/"), std::invalid_argument);
    r.freeze();
    auto m = r.find(method::get, "/api/v1/users/9");
    REQUIRE(m);
    CHECK(*m.handler() == 2);
    REQUIRE(m.group() != nullptr);
    CHECK(m.group()->data == "v1-mw");
    REQUIRE(m.group()->parent != nullptr);
    CHECK(m.group()->parent->data == "api-mw");
    CHECK(m.group()->parent->parent == nullptr);
    CHECK(*r.find(method::get, "/api/v1").handler() == 3);
    CHECK(r.find(method::get, "/api/health").group()->data == "api-mw");
    CHECK(r.find(method::get, "/").group() == nullptr);
    CHECK(r.url_for("v1.user", {{"id", "5"}}).value() == "/api/v1/users/5");
}

TEST_CASE("mounting one router under a prefix of another")
{
    router<int, std::string> admin;
    admin.get("/", 10, "home");
    auto users = admin.group("/users", "users-mw");
    users.get("/{id:int}", 11, "user");
    admin.get("/files/{p...}", 12);

    router<int, std::string> app;
    app.get("/", 1, "home");
    app.mount("/admin", std::move(admin), "admin-mw", "admin.");
    app.freeze();
    CHECK(app.size() == 4);
    CHECK(*app.find(method::get, "/").handler() == 1);
    CHECK(*app.find(method::get, "/admin/").handler() == 10);
    auto m = app.find(method::get, "/admin/users/3");
    REQUIRE(m);
    CHECK(*m.handler() == 11);
    CHECK(m.group()->data == "users-mw");
    CHECK(m.group()->prefix == "/admin/users");
    CHECK(m.group()->parent->data == "admin-mw");
    CHECK(app.find(method::get, "/admin/files/a/b").params().get("p") == "a/b");
    CHECK(app.url_for("admin.user", {{"id", "3"}}).value() == "/admin/users/3");
    CHECK(app.url_for("home").value() == "/");

    router<int> a, b;
    a.get("/x/y", 1);
    b.get("/y", 2);
    CHECK_THROWS_AS(a.mount("/x", std::move(b)), std::invalid_argument);
}

TEST_CASE("reverse routing round-trips with percent-encoding")
{
    tag_router r;
    r.get("/users/{id}", {1}, "user");
    r.get("/posts/{year:int}/{slug:[a-zA-Z0-9%-]+}", {2}, "post");
    r.get("/files/{path...}", {3}, "file");
    r.get("/caf\xc3\xa9/{x}", {4}, "cafe");
    r.freeze();
    struct sample {
        const char* name;
        std::vector<std::pair<std::string_view, std::string_view>> values;
    };
    const std::vector<sample> samples = {
        {"user", {{"id", "42"}}},
        {"user", {{"id", "a b/c?d#e%f"}}},
        {"user", {{"id", "\xc3\xbc\x01"}}},
        {"post", {{"year", "2026"}, {"slug", "hello-world"}}},
        {"post", {{"slug", "h\xc3\xa9llo"}, {"year", "-1"}}},
        {"file", {{"path", "css/a b.css"}}},
        {"file", {{"path", ""}}},
        {"cafe", {{"x", "1"}}},
    };
    for (const auto& s : samples) {
        auto url = r.url_for(s.name, s.values);
        REQUIRE(url);
        CAPTURE(*url);
        auto m = r.find(method::get, *url);
        REQUIRE(m);
        CHECK(m.route()->name == s.name);
        for (const auto& [k, v] : s.values) {
            CHECK(m.params().decoded(k).value() == v);
        }
    }
    CHECK(r.url_for("user", {{"id", "a b/c"}}).value() == "/users/a%20b%2Fc");
    CHECK(r.url_for("file", {{"path", "a b/c"}}).value() == "/files/a%20b/c");
    CHECK(r.url_for("cafe", {{"x", "1"}}).value() == "/caf%C3%A9/1");
    CHECK(r.url_for("nope").error() == covet::errc::invalid_argument);
    CHECK(!r.url_for("user"));
    CHECK(!r.url_for("user", {{"id", ""}}));
    CHECK(!r.url_for("user", {{"id", "1"}, {"extra", "2"}}));
    CHECK(!r.url_for("user", {{"idx", "1"}}));
    CHECK(!r.url_for("post", {{"year", "x"}, {"slug", "a"}}));
    CHECK(!r.url_for("post", {{"year", "1"}, {"slug", "a.b"}}));
}

TEST_CASE("percent-encoded paths: raw matching, decoding on demand")
{
    tag_router r;
    r.get("/a b/{x}", {1});
    r.get("/q/{x}", {2});
    CHECK(lookup(r, "/a%20b/1") == 1);
    auto m = r.find(method::get, "/q/one%2Ftwo%20three");
    REQUIRE(m);
    CHECK(m.params()[0] == "one%2Ftwo%20three");
    CHECK(m.params().decoded("x").value() == "one/two three");
    CHECK(!r.find(method::get, "/q/bad%2").params().decoded("x"));
    CHECK(!r.find(method::get, "/q/bad%zz").params().decoded("x"));

    std::string out;
    CHECK(percent_decode("%41%62+c%7e", out));
    CHECK(out == "Ab+c~");
    char buf[4];
    CHECK(percent_decode("%41bcd", std::span<char>(buf)).value() == 4);
    CHECK(percent_decode("abcde", std::span<char>(buf)).error() == covet::errc::limit_exceeded);
    CHECK(percent_decode("%4", std::span<char>(buf)).error() == covet::errc::invalid_argument);
    out.clear();
    percent_encode("a/b c~", out);
    CHECK(out == "a%2Fb%20c~");
}

TEST_CASE("very long paths and many segments")
{
    tag_router r;
    std::string deep;
    std::string deep_path;
    for (int i = 0; i < 200; ++i) {
        deep += "/s" + std::to_string(i);
        deep_path += "/s" + std::to_string(i);
    }
    r.get(deep, {1});
    std::string params_pattern = "/p";
    std::string params_path = "/p";
    for (int i = 0; i < 16; ++i) {
        // Appends, not "/" + std::string: g++ 12 warns falsely (-Wrestrict) on that at -O2.
        params_pattern.append("/{v").append(std::to_string(i)).append("}");
        params_path.append("/").append(std::to_string(i));
    }
    r.get(params_pattern, {2});
    r.get("/c/{rest...}", {3});
    r.freeze();
    CHECK(lookup(r, deep_path) == 1);
    CHECK(lookup(r, deep_path + "/more") == -1);
    auto m = r.find(method::get, params_path);
    REQUIRE(m);
    REQUIRE(m.params().size() == 16);
    CHECK(m.params()[15] == "15");
    CHECK(lookup(r, params_path + "/16") == -1);
    std::string huge = "/c/" + std::string(100000, 'x');
    for (int i = 0; i < 1000; ++i) {
        huge += "/y";
    }
    m = r.find(method::get, huge);
    REQUIRE(m);
    CHECK(m.params()[0].size() == huge.size() - 3);
    std::string slashes(50000, '/');
    CHECK(r.find(method::get, slashes).status() == match_status::not_found);
}

TEST_CASE("any handler type: function pointers, std::function, move-only")
{
    router<int (*)(int)> fp;
    fp.get("/double/{n:int}", [](int x) { return 2 * x; });
    auto m = fp.find(method::get, "/double/21");
    CHECK((*m.handler())(m.params().as<int>("n").value()) == 42);

    router<std::function<std::string(const params&)>> fn;
    fn.get("/hello/{name}", [](const params& p) { return "hi " + std::string(*p.get("name")); });
    auto h = fn.find(method::get, "/hello/bob");
    CHECK((*h.handler())(h.params()) == "hi bob");

    router<std::unique_ptr<int>> owned;
    owned.get("/x", std::make_unique<int>(7));
    router<std::unique_ptr<int>> outer;
    outer.mount("/in", std::move(owned));
    CHECK(**outer.find(method::get, "/in/x").handler() == 7);
}

TEST_CASE("freeze: registration throws, lookups are shared by threads")
{
    tag_router r;
    for (int i = 0; i < 100; ++i) {
        r.get("/r" + std::to_string(i) + "/{id}", {i});
    }
    r.freeze();
    CHECK(r.frozen());
    CHECK_THROWS_AS(r.get("/late", {1}), std::logic_error);
    CHECK_THROWS_AS(r.group("/late"), std::logic_error);
    CHECK_THROWS_AS(r.define_type("late", "a"), std::logic_error);
    std::vector<std::thread> threads;
    std::vector<int> errors(4, 0);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int k = 0; k < 2000; ++k) {
                int i = (k * 7 + t) % 100;
                const std::string path = "/r" + std::to_string(i) + "/x";  // params view into it
                auto m = r.find(method::get, path);
                if (!m || m.handler()->id != i || m.params()[0] != "x") {
                    ++errors[t];
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(errors == std::vector<int>(4, 0));
}

TEST_CASE("freeze's whole-path table for static routes answers as the tree walk does")
{
    auto build = [](tag_router& r) {
        r.get("/", {0});
        r.get("/a", {1});
        r.post("/a/b", {2});
        r.get("/a/{x}", {3});
        r.get("/a/b/c/d/e/f/g/h/i", {4});
        r.get("/x/{rest...}", {5});
        r.get("/x/y", {6});
        r.get("/abcdefgh", {7});
        r.get("/abcdefghi", {8});
    };
    tag_router walk_only, frozen;
    build(walk_only);
    build(frozen);
    frozen.freeze();
    for (const char* p : {"/", "/a", "/a/b", "/a/c", "/a/b/c/d/e/f/g/h/i", "/x/y", "/x/z", "/abcdefgh",
                          "/abcdefghi", "/abcdefghj", "/b", "/a/b/"}) {
        for (method m : {method::get, method::post, method::put}) {
            CAPTURE(p);
            auto a = walk_only.find(m, p);
            auto b = frozen.find(m, p);
            CHECK(a.status() == b.status());
            CHECK(a.allow() == b.allow());
            CHECK((a.route() ? a.route()->id : 99) == (b.route() ? b.route()->id : 99));
            CHECK(a.params().size() == b.params().size());
        }
    }
    CHECK(frozen.find(method::put, "/a/b").allow_header() == "POST, OPTIONS");
    // The path decides the node first: "/a/b" is a static route, so GET there
    // is 405, not the GET of "/a/{x}".
    CHECK(frozen.find(method::get, "/a/b").status() == match_status::method_not_allowed);
}
