#pragma once
// Vocabulary shared by the router's pieces: options, lookup status and the
// description of a registered route.

#include <covet/router/method.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace covet::router {

/// Most parameters one route may capture; lookups keep them in an inline
/// array of this size, and a pattern with more fails at registration.
inline constexpr std::size_t max_params = 16;

/// What a lookup does when the path only matches with the trailing slash
/// added or removed ("/users/" vs "/users").
enum class trailing_slash : std::uint8_t {
    strict,    ///< no match: 404
    redirect,  ///< match_status::redirect; the caller answers 301/308 to redirect_location()
    ignore,    ///< serve the other route as if the path matched it
};

/// Router behaviour; fixed at construction.
struct options {
    /// Default strict: a library should not guess a redirect policy.
    trailing_slash slash = trailing_slash::strict;
    /// HEAD requests use the GET route when no HEAD route is registered.
    bool head_from_get = true;
    /// OPTIONS requests with no OPTIONS route get match_status::auto_options
    /// and the Allow set, so the caller can answer 204 without a handler.
    bool auto_options = true;
};

/// Outcome of a lookup.
enum class match_status : std::uint8_t {
    found,               ///< a route: handler(), route() and params() are set
    not_found,           ///< no route has this path (404)
    method_not_allowed,  ///< the path exists, not with this method (405); see allow()
    redirect,            ///< trailing_slash::redirect: see redirect_location()
    auto_options,        ///< options::auto_options: answer with allow()
};

/// Kind of one segment of a route pattern.
enum class segment_kind : std::uint8_t { literal, param, typed, catch_all };

/// One '/'-separated segment of a parsed pattern.
struct pattern_segment {
    /// What the segment matches.
    segment_kind kind = segment_kind::literal;
    /// The literal (canonical percent-encoded form) or the parameter name.
    std::string text;
    /// typed: the type as written ("int", "[a-z-]+").
    std::string type;
    /// typed: index of the compiled matcher in the router.
    std::uint32_t matcher = 0;
};

/// A registered route: what lookups report and reverse routing uses.
struct route_info {
    /// The method enum; `other` for custom tokens (see method_token).
    router::method method = method::get;
    /// The method token as registered ("GET", "PROPFIND").
    std::string method_token;
    /// The full pattern, group and mount prefixes included.
    std::string pattern;
    /// The route's name for url_for; empty when unnamed.
    std::string name;
    /// Parsed pattern.
    std::vector<pattern_segment> segments;
    /// Parameter names in capture order (params()[i] is param_names[i]).
    std::vector<std::string> param_names;
    /// Index of the group the route was registered through; npos for none.
    std::uint32_t group = npos;
    /// Position in registration order.
    std::uint32_t id = 0;

    /// "GET /users/{id}", as used in error messages.
    std::string describe() const { return method_token + ' ' + pattern; }

    /// Marks "no group" / "no route".
    static constexpr std::uint32_t npos = 0xffffffffu;
};

}  // namespace covet::router
