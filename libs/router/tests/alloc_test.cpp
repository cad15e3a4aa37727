// The hot-path claim: find() allocates nothing, whatever the outcome.
#include <covet/router/router.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "counting_new.hpp"

using namespace covet::router;

TEST_CASE("find allocates nothing: found, 404, 405, options, redirect, backtracking")
{
    router<std::string> r({.slash = trailing_slash::redirect});
    r.get("/", "root");
    r.get("/users/{id:int}", "user");
    r.get("/users/{id:uuid}/avatar", "avatar");
    r.get("/users/{name}/posts/{post}", "posts");
    r.post("/users", "create");
    r.get("/static/{path...}", "static");
    r.add("PROPFIND", "/dav/{x}", "dav");
    r.get("/a/b/c", "abc");
    r.get("/a/{x}/d", "axd");
    r.freeze();

    const std::string long_path = "/static/" + std::string(5000, 'z');
    const char* paths[] = {"/",
                           "/users/42",
                           "/users/bob/posts/1",
                           "/users",
                           "/nope/x/y",
                           "/static/a/b/c",
                           "/users/123e4567-e89b-12d3-a456-426614174000/avatar",
                           "/users/42/",
                           "/a/b/d",
                           "/dav/1",
                           long_path.c_str()};
    int found = 0;
    const auto before = covet::testing::allocations();
    for (int round = 0; round < 100; ++round) {
        for (const char* p : paths) {
            for (method m : {method::get, method::post, method::options, method::head}) {
                auto res = r.find(m, p);
                found += res ? 1 : 0;
            }
            found += r.find("PROPFIND", p) ? 1 : 0;
        }
    }
    const auto after = covet::testing::allocations();
    CHECK(after - before == 0);
    CHECK(found > 0);
    // The counter works: a std::string that outgrows SSO is seen.
    std::string big(100, 'x');
    CHECK(covet::testing::allocations() > after);
}
