// covet::router microbenchmarks, with the peers in the same binary:
//  - std::unordered_map exact match on the path (the lower bound for static
//    paths: one hash and one compare, no parameters);
//  - one std::regex per route, tried in registration order (what many
//    frameworks do).
// Route sets: the GitHub API (routes.hpp) and a 100-route mixed set.
// Counters: per_lookup (time per lookup), allocs (heap allocations per lookup,
// from the counting operator new of counting_new.hpp).
#include "counting_new.hpp"
#include "routes.hpp"

#include <covet/router/router.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <deque>
#include <new>
#include <regex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

using namespace covet::router;
using bench::route_def;

struct request {
    method m;
    std::string method_token;
    std::string path;
};

// --- peers -----------------------------------------------------------------

// Exact match: path -> handler per method. Static routes only.
class map_router {
public:
    void add(method m, std::string_view path, int h)
    {
        auto& slots = map_.try_emplace(keys_.emplace_back(path), std::array<int, 9>{}).first->second;
        slots[static_cast<std::size_t>(m)] = h;
    }
    int find(method m, std::string_view path) const noexcept
    {
        auto it = map_.find(path);
        return it == map_.end() ? -1 : it->second[static_cast<std::size_t>(m)];
    }

private:
    std::deque<std::string> keys_;  // the map's keys view into these
    std::unordered_map<std::string_view, std::array<int, 9>> map_;
};

// The pattern as an ECMAScript regex: parameters become capture groups.
std::string to_regex(std::string_view pattern)
{
    std::string out;
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        char c = pattern[i];
        if (c != '{') {
            if (std::string_view(".^$|()[]*+?\\").find(c) != std::string_view::npos) {
                out += '\\';
            }
            out += c;
            continue;
        }
        std::size_t depth = 0, j = i;
        for (; j < pattern.size(); ++j) {
            depth += pattern[j] == '{';
            depth -= pattern[j] == '}';
            if (depth == 0) {
                break;
            }
        }
        std::string_view body = pattern.substr(i + 1, j - i - 1);
        if (body.ends_with(":int")) {
            out += "(-?[0-9]+)";
        } else if (body.ends_with(":uuid")) {
            out += "([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})";
        } else if (auto colon = body.find(':'); colon != std::string_view::npos) {
            out += '(';  // appends, not operator+: g++ 12 warns falsely (-Wrestrict) there
            out += body.substr(colon + 1);
            out += ')';
        } else if (body.ends_with("...")) {
            out += "(.*)";
        } else {
            out += "([^/]+)";
        }
        i = j;
    }
    return out;
}

class regex_router {
public:
    void add(method m, std::string_view pattern, int h)
    {
        routes_.push_back(
            {m, std::regex(to_regex(pattern), std::regex::ECMAScript | std::regex::optimize), h});
    }
    int find(method m, const std::string& path, std::smatch& captures) const
    {
        for (const auto& r : routes_) {
            if (r.m == m && std::regex_match(path, captures, r.re)) {
                return r.handler;
            }
        }
        return -1;
    }

private:
    struct entry {
        method m;
        std::regex re;
        int handler;
    };
    std::vector<entry> routes_;
};

// --- fixtures --------------------------------------------------------------

struct route_set {
    router<int> covet;
    regex_router regex;
    map_router map;                // static routes only
    std::vector<request> all;      // one request per route
    std::vector<request> statics;  // requests for the static routes
};

template <class Routes>
route_set build(const Routes& routes)
{
    route_set s;
    int h = 0;
    for (const auto& [mtoken, pattern] : routes) {
        method m = parse_method(mtoken);
        s.covet.add(m, pattern, h);
        s.regex.add(m, pattern, h);
        request req{m, std::string(mtoken), bench::sample_path(pattern)};
        if (std::string_view(pattern).find('{') == std::string_view::npos) {
            s.map.add(m, pattern, h);
            s.statics.push_back(req);
        }
        s.all.push_back(std::move(req));
        ++h;
    }
    s.covet.freeze();
    // A benchmark that measures wrong answers measures nothing.
    for (std::size_t i = 0; i < s.all.size(); ++i) {
        auto found = s.covet.find(s.all[i].m, s.all[i].path);
        std::smatch caps;
        if (!found || *found.handler() != static_cast<int>(i) ||
            s.regex.find(s.all[i].m, s.all[i].path, caps) < 0) {
            throw std::logic_error("benchmark route set: wrong match for " + s.all[i].path);
        }
    }
    return s;
}

route_set& github()
{
    static route_set s = [] {
        std::vector<std::pair<std::string_view, std::string_view>> routes;
        for (const auto& r : bench::github_routes) {
            routes.emplace_back(r.method, r.pattern);
        }
        return build(routes);
    }();
    return s;
}

route_set& mixed()
{
    static route_set s = build(bench::mixed_routes());
    return s;
}

void set_counters(benchmark::State& state, std::size_t lookups_per_iteration, std::uint64_t allocs)
{
    const double lookups =
        static_cast<double>(lookups_per_iteration) * static_cast<double>(state.iterations());
    state.counters["per_lookup"] =
        benchmark::Counter(lookups, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
    state.counters["allocs"] = static_cast<double>(allocs) / lookups;
}

// --- all routes of a set ---------------------------------------------------

void covet_all(benchmark::State& state, route_set& (*set)(), bool statics_only)
{
    const route_set& s = set();
    const auto& reqs = statics_only ? s.statics : s.all;
    const auto before = covet::testing::allocations();
    for (auto _ : state) {
        for (const auto& r : reqs) {
            auto m = s.covet.find(r.m, r.path);
            benchmark::DoNotOptimize(m);
        }
    }
    set_counters(state, reqs.size(), covet::testing::allocations() - before);
}

void map_static(benchmark::State& state, route_set& (*set)())
{
    const route_set& s = set();
    const auto before = covet::testing::allocations();
    for (auto _ : state) {
        for (const auto& r : s.statics) {
            benchmark::DoNotOptimize(s.map.find(r.m, r.path));
        }
    }
    set_counters(state, s.statics.size(), covet::testing::allocations() - before);
}

void regex_all(benchmark::State& state, route_set& (*set)(), bool statics_only)
{
    const route_set& s = set();
    const auto& reqs = statics_only ? s.statics : s.all;
    std::smatch caps;
    const auto before = covet::testing::allocations();
    for (auto _ : state) {
        for (const auto& r : reqs) {
            benchmark::DoNotOptimize(s.regex.find(r.m, r.path, caps));
        }
    }
    set_counters(state, reqs.size(), covet::testing::allocations() - before);
}

BENCHMARK_CAPTURE(covet_all, github_all, github, false);
BENCHMARK_CAPTURE(regex_all, github_all, github, false);
BENCHMARK_CAPTURE(covet_all, github_static, github, true);
BENCHMARK_CAPTURE(map_static, github_static, github);
BENCHMARK_CAPTURE(regex_all, github_static, github, true);
BENCHMARK_CAPTURE(covet_all, mixed100_all, mixed, false);
BENCHMARK_CAPTURE(regex_all, mixed100_all, mixed, false);
BENCHMARK_CAPTURE(covet_all, mixed100_static, mixed, true);
BENCHMARK_CAPTURE(map_static, mixed100_static, mixed);

// --- single lookups --------------------------------------------------------

void covet_one(benchmark::State& state, route_set& (*set)(), std::string_view path)
{
    const route_set& s = set();
    const std::string p(path);
    const auto before = covet::testing::allocations();
    for (auto _ : state) {
        auto m = s.covet.find(method::get, p);
        benchmark::DoNotOptimize(m);
    }
    set_counters(state, 1, covet::testing::allocations() - before);
    if (!s.covet.find(method::get, p)) {
        state.SkipWithError("no match");
    }
}

void map_one(benchmark::State& state, route_set& (*set)(), std::string_view path)
{
    const route_set& s = set();
    const std::string p(path);
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.map.find(method::get, p));
    }
    set_counters(state, 1, 0);
}

void regex_one(benchmark::State& state, route_set& (*set)(), std::string_view path)
{
    const route_set& s = set();
    const std::string p(path);
    std::smatch caps;
    const auto before = covet::testing::allocations();
    for (auto _ : state) {
        benchmark::DoNotOptimize(s.regex.find(method::get, p, caps));
    }
    set_counters(state, 1, covet::testing::allocations() - before);
}

constexpr std::string_view static_path = "/user/repos";
constexpr std::string_view one_param = "/users/gordon";
constexpr std::string_view four_params = "/legacy/issues/search/covet/router/open/radix";
constexpr std::string_view catch_all = "/products/files/css/theme/site.css";

BENCHMARK_CAPTURE(covet_one, static, github, static_path);
BENCHMARK_CAPTURE(map_one, static, github, static_path);
BENCHMARK_CAPTURE(regex_one, static, github, static_path);
BENCHMARK_CAPTURE(covet_one, param1, github, one_param);
BENCHMARK_CAPTURE(regex_one, param1, github, one_param);
BENCHMARK_CAPTURE(covet_one, param4, github, four_params);
BENCHMARK_CAPTURE(regex_one, param4, github, four_params);
BENCHMARK_CAPTURE(covet_one, catch_all, mixed, catch_all);
BENCHMARK_CAPTURE(regex_one, catch_all, mixed, catch_all);

}  // namespace

BENCHMARK_MAIN();
