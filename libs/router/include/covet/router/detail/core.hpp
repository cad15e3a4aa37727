#pragma once
// The handler-independent part of the router: the segment tree, the route
// table, names and typed-parameter matchers. router<Handler> wraps it and
// keeps handlers in a vector indexed by route id, so this is compiled once.

#include <covet/base/result.hpp>
#include <covet/router/detail/matcher.hpp>
#include <covet/router/method.hpp>
#include <covet/router/params.hpp>
#include <covet/router/types.hpp>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::router::detail {

inline constexpr std::uint32_t npos = route_info::npos;

/// Methods registered on one tree node.
struct endpoint {
    std::array<std::uint32_t, standard_method_count> routes;
    std::vector<std::pair<std::string, std::uint32_t>> custom;  // other methods, by token
    method_set allow;                                           // what a 405/OPTIONS advertises
};

/// What a lookup produced, before the typed router adds handler and group.
struct raw_match {
    match_status status = match_status::not_found;
    std::uint8_t slash = 0;  // redirect: 1 = add a trailing '/', 2 = remove it
    std::uint32_t route = npos;
    method_set allow;
    const endpoint* ep = nullptr;
    std::string_view path;
    router::params params;
};

/// Appends the Allow header value for `allow` plus the endpoint's custom methods.
void append_allow(method_set allow, const endpoint* ep, std::string& out);

class core {
public:
    explicit core(options opts);

    /// Registers a route; throws std::invalid_argument (malformed pattern,
    /// conflict, ambiguity, duplicate name) or std::logic_error (frozen).
    std::uint32_t add(std::string_view method_token, std::string_view pattern, std::string_view name,
                      std::uint32_t group);

    /// Defines a named parameter type for {x:name} from a matcher pattern.
    void define_type(std::string_view name, std::string_view pattern);

    /// Seals the router: registration throws from now on.
    void freeze();
    /// True after freeze().
    bool frozen() const noexcept { return frozen_; }

    /// Looks `path` up for method `m` (`token` names it when m is other).
    void find(method m, std::string_view token, std::string_view path, raw_match& out) const noexcept;

    /// Builds the path of the route called `name` from parameter values.
    result<std::string> url_for(std::string_view name,
                                std::span<const std::pair<std::string_view, std::string_view>> values) const;

    /// The registered routes, by id.
    const std::vector<route_info>& routes() const noexcept { return routes_; }
    /// The construction options.
    const router::options& opts() const noexcept { return opts_; }

private:
    struct static_edge {
        std::string segment;
        std::uint32_t child;
    };
    struct node {
        std::vector<static_edge> statics;  // sorted by (size, bytes)
        std::vector<std::uint32_t> typed;  // pairwise disjoint matchers, registration order
        std::uint32_t param = npos;
        std::uint32_t catch_all = npos;
        std::uint32_t matcher = npos;   // for typed children
        std::uint32_t endpoint = npos;  // index into endpoints_
        std::uint32_t origin = npos;    // first route through this node, for messages
    };
    struct walk_state {
        const char* data;
        std::size_t size;  // real path length
        std::size_t end;   // size, or size + 1 with a virtual trailing '/'
        params* out;
    };

    std::uint32_t find_static(const node& n, std::string_view seg) const noexcept;
    std::uint32_t walk(std::uint32_t n, std::size_t pos, walk_state& s) const noexcept;
    void resolve(std::uint32_t n, method m, std::string_view token, raw_match& out) const noexcept;
    std::vector<pattern_segment> parse(std::string_view pattern, std::vector<std::string>& names,
                                       std::vector<matcher>& fresh);
    std::uint32_t matcher_for(std::string_view regex, const std::vector<matcher>& fresh) const;

    // Fully static routes by whole path, built by freeze(): an all-static
    // match is always what the walk would find first (static wins at every
    // level), so a hit skips the walk. Open addressing, power-of-two size.
    struct static_slot {
        std::uint64_t hash = 0;
        std::uint32_t node = npos;
        std::uint32_t size = 0;
        const char* data = nullptr;  // into static_paths_
    };
    static std::uint64_t hash_path(std::string_view s) noexcept;
    std::uint32_t find_exact(std::string_view path) const noexcept;
    void build_static_table();

    router::options opts_;
    bool frozen_ = false;
    std::vector<static_slot> static_table_;
    std::vector<std::string> static_paths_;
    std::uint64_t static_lengths_ = 0;  // bit i: a static route of length i (bit 63: >= 63)
    std::vector<node> nodes_;
    std::vector<endpoint> endpoints_;
    std::vector<route_info> routes_;
    std::vector<matcher> matchers_;
    std::vector<std::pair<std::string, std::string>> types_;  // name -> matcher pattern
};

}  // namespace covet::router::detail
