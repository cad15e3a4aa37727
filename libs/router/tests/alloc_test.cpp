// The hot-path claim: find() allocates nothing, whatever the outcome.
#include <covet/router/router.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

namespace {
std::atomic<long> allocations{0};
}  // namespace

// g++ 12 sees these replacements inlined into std containers and reports
// free() of a pointer from operator new; it is the pair's own malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

// Counting replacements of the global allocation functions (this test binary only).
void* operator new(std::size_t n)
{
    allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}

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
    const long before = allocations.load();
    for (int round = 0; round < 100; ++round) {
        for (const char* p : paths) {
            for (method m : {method::get, method::post, method::options, method::head}) {
                auto res = r.find(m, p);
                found += res ? 1 : 0;
            }
            found += r.find("PROPFIND", p) ? 1 : 0;
        }
    }
    const long after = allocations.load();
    CHECK(after - before == 0);
    CHECK(found > 0);
    // The counter works: a std::string that outgrows SSO is seen.
    std::string big(100, 'x');
    CHECK(allocations.load() > after);
}
