#pragma once
// Middleware that ships with covet::web. Install globally with app.use(...)
// so that it also sees 404s, 405s and automatic OPTIONS (CORS preflights).

#include <covet/web/detail/types.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace covet::web {

struct cors_options {
    /// Exact origins ("https://app.example.com"), compared byte for byte
    /// (scheme, host and port). "*" allows any origin, answered with a literal
    /// `*` (never echoed back), and is refused together with credentials.
    std::vector<std::string> allow_origins{};
    /// Methods a preflight may ask for.
    std::vector<std::string> allow_methods = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"};
    /// Request headers a preflight may ask for (case-insensitive). "*" allows
    /// any (not with credentials). CORS-safelisted headers need no entry.
    std::vector<std::string> allow_headers = {"Content-Type", "Authorization"};
    /// Response headers scripts may read (Access-Control-Expose-Headers).
    std::vector<std::string> expose_headers{};
    /// Access-Control-Allow-Credentials: true (cookies, Authorization).
    bool allow_credentials = false;
    /// How long a browser may cache a preflight answer; 0 omits Max-Age.
    std::chrono::seconds max_age{600};
};

/// CORS (Fetch standard). For a request with an Origin header:
///  - preflight (OPTIONS with Access-Control-Request-Method): answered here,
///    204 with the Allow-* headers when origin, method and headers are allowed,
///    else 403 without them; the handler is not called;
///  - other requests: the response of the rest of the chain (errors included)
///    gets Access-Control-Allow-Origin (+ Credentials, Expose-Headers) when the
///    origin is allowed.
/// `Vary: Origin` is added whenever the answer depends on the origin. Requests
/// without Origin pass through untouched.
/// Throws std::invalid_argument for "*" with allow_credentials (a browser
/// would refuse it, and reflecting any origin with credentials is a hole).
middleware cors(cors_options options);

/// Request id: reuses the incoming `header_name` value when it is 1..128
/// characters of [A-Za-z0-9._-], else makes a random 32-hex-digit id; the
/// response carries it in the same header.
middleware request_id(std::string header_name = "X-Request-Id");

}  // namespace covet::web
