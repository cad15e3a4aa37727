#pragma once
// HTTP caching middleware: a shared response cache (RFC 9111, the parts a
// server-side cache needs) plus validators (RFC 9110 13): ETag generation,
// If-None-Match and If-Modified-Since answered with 304 Not Modified.
// Storage is a covet::cache::shared_cache (S3-FIFO, weighted by bytes), shared
// by every worker thread. Install globally (app.use) or on a group/route.

#include <covet/cache/options.hpp>
#include <covet/web/detail/types.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace covet::web {

struct http_cache_options {
    /// Bytes of stored responses (bodies + header lines) before eviction,
    /// split over 16 shards: a response over capacity_bytes / 16 is not stored.
    std::size_t capacity_bytes = 64u << 20;
    /// Responses with a bigger body are served but not stored.
    std::size_t max_body_bytes = 1u << 20;
    /// Request headers that are part of every key besides method and target
    /// ("Accept-Encoding", "Accept-Language"). A response's own `Vary` on
    /// other headers is honoured too: the stored request values must match
    /// (one variant per key), and `Vary: *` is never stored.
    std::vector<std::string> key_headers{};
    /// Freshness of a cacheable response that has no max-age/s-maxage; zero
    /// = store only responses that say how long they are fresh.
    std::chrono::seconds default_max_age{0};
    /// Add a strong ETag (a hash of the body) to 200 GET/HEAD responses with
    /// an in-memory body and no ETag, so clients can revalidate with 304s.
    bool generate_etag = true;
    /// For tests: where the cache reads the time (Age, expiry).
    cache::clock_fn clock{};
};

/// What the middleware does for a request:
///  - GET/HEAD: served from the cache when a fresh stored response matches
///    (method, target, `key_headers` and the stored Vary values), with an
///    `Age` header; the request's `Cache-Control: no-cache`/`no-store` skips
///    the lookup (no-store also skips storing). Otherwise the rest of the
///    chain runs and its response is stored when it is 200/203/204/300/301/
///    404/405/410/414/501 with an in-memory body, not `no-store`, not
///    `private`, not `no-cache`, without Set-Cookie, without `Vary: *`, and
///    fresh for s-maxage, max-age or `default_max_age` seconds. A request
///    with Authorization is stored only when the response says `public` or
///    `s-maxage`.
///  - then validators: a 200 gets an ETag if it has none (generate_etag);
///    If-None-Match matching the ETag (weak comparison, or `*`) → 304; else
///    If-Modified-Since not older than Last-Modified → 304. The 304 keeps
///    ETag, Last-Modified, Cache-Control, Expires, Vary and Content-Location.
///  - POST/PUT/PATCH/DELETE answered with 2xx/3xx invalidate every stored
///    response for the same path (any query, any variant).
/// Not done: request coalescing (concurrent misses for one key each run the
/// handler), serving stale responses, Expires (only Cache-Control is read),
/// storing HEAD responses (only GET responses are stored; HEAD is served
/// from them).
middleware http_cache(http_cache_options options = {});

}  // namespace covet::web
