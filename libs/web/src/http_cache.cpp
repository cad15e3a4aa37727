#include <covet/cache/cache.hpp>
#include <covet/http/detail/serialize.hpp>
#include <covet/http/header.hpp>
#include <covet/http/static_files.hpp>
#include <covet/web/http_cache.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::web {

namespace {

struct stored_response {
    http::status status = http::status::ok;
    std::string header_lines;  // "Name: value\r\n"..., Content-Type included
    std::string body;
    std::vector<std::pair<std::string, std::string>> vary;  // request header → value it had
    std::int64_t stored_at = 0;                             // clock ns
};

using response_cache = cache::shared_cache<std::string, std::shared_ptr<const stored_response>>;

struct http_cache_state {
    http_cache_options opts;
    std::unique_ptr<response_cache> store;

    std::int64_t now() const
    {
        const auto t = opts.clock ? opts.clock() : cache::clock_type::now();
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
    }
};

/// Calls fn(item) for each comma-separated, trimmed, non-empty item.
template <class Fn>
void for_each_item(std::string_view list, Fn&& fn)
{
    while (!list.empty()) {
        const auto comma = list.find(',');
        const std::string_view item = http::trim_ows(list.substr(0, comma));
        if (!item.empty()) {
            fn(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        list.remove_prefix(comma + 1);
    }
}

struct cache_control {
    bool no_store = false;
    bool no_cache = false;
    bool is_private = false;
    bool is_public = false;
    std::optional<long long> max_age;
    std::optional<long long> s_maxage;
};

std::optional<long long> seconds_value(std::string_view v) noexcept
{
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
    }
    long long n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < 0) {
        return std::nullopt;  // an invalid max-age means stale (RFC 9111 4.2.1)
    }
    return n;
}

cache_control parse_cache_control(std::string_view header)
{
    cache_control cc;
    for_each_item(header, [&cc](std::string_view d) {
        const auto eq = d.find('=');
        const std::string_view name = http::trim_ows(d.substr(0, eq));
        const std::string_view value =
            eq == std::string_view::npos ? std::string_view{} : http::trim_ows(d.substr(eq + 1));
        if (http::iequals(name, "no-store")) {
            cc.no_store = true;
        } else if (http::iequals(name, "no-cache")) {
            cc.no_cache = true;
        } else if (http::iequals(name, "private")) {
            cc.is_private = true;
        } else if (http::iequals(name, "public")) {
            cc.is_public = true;
        } else if (http::iequals(name, "max-age")) {
            cc.max_age = seconds_value(value).value_or(0);
        } else if (http::iequals(name, "s-maxage")) {
            cc.s_maxage = seconds_value(value).value_or(0);
        }
    });
    return cc;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
    return out;
}

bool cacheable_status(http::status s) noexcept
{
    switch (static_cast<int>(s)) {
    case 200:
    case 203:
    case 204:
    case 300:
    case 301:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501: return true;
    default: return false;
    }
}

std::string primary_key(const http_cache_state& s, const http::request& req)
{
    std::string key = "GET ";  // HEAD is answered from GET's entry
    key += req.target();
    for (const auto& h : s.opts.key_headers) {
        key += '\n';
        key += h;
        key += ':';
        key += req.header(h);
    }
    return key;
}

bool variant_matches(const stored_response& e, const http::request& req)
{
    return std::all_of(e.vary.begin(), e.vary.end(),
                       [&req](const auto& v) { return req.header(v.first) == v.second; });
}

http::response from_stored(const http_cache_state& s, const stored_response& e)
{
    http::response r(e.status);
    std::string_view lines = e.header_lines;
    while (!lines.empty()) {
        const auto end = lines.find("\r\n");
        const std::string_view line = lines.substr(0, end);
        const auto colon = line.find(':');
        r.add_header(line.substr(0, colon), http::trim_ows(line.substr(colon + 1)));
        lines.remove_prefix(end == std::string_view::npos ? lines.size() : end + 2);
    }
    const std::int64_t age = std::max<std::int64_t>(0, (s.now() - e.stored_at) / 1'000'000'000);
    r.set_header("Age", std::to_string(age));
    r.set_body(e.body);
    return r;
}

/// The response's freshness lifetime if a shared cache may store it, else 0.
long long storable_for(const http_cache_state& s, const http::request& req, const http::response& r)
{
    // A stored entry keeps the head and body only: responses with trailers
    // are not stored, so a hit never drops them.
    if (!cacheable_status(r.status()) || r.streamed() != nullptr || r.file() != nullptr ||
        !r.trailer_lines().empty() || r.body().size() > s.opts.max_body_bytes ||
        !r.header("set-cookie").empty()) {
        return 0;
    }
    const cache_control cc = parse_cache_control(r.header("cache-control"));
    if (cc.no_store || cc.no_cache || cc.is_private) {
        return 0;
    }
    if (req.has_header("authorization") && !cc.is_public && !cc.s_maxage) {
        return 0;
    }
    if (cc.s_maxage) {
        return *cc.s_maxage;
    }
    if (cc.max_age) {
        return *cc.max_age;
    }
    return s.opts.default_max_age.count();
}

void store(http_cache_state& s, std::string key, const http::request& req, const http::response& r,
           long long ttl)
{
    auto e = std::make_shared<stored_response>();
    bool vary_any = false;
    for_each_item(r.header("vary"), [&](std::string_view name) {
        if (name == "*") {
            vary_any = true;
            return;
        }
        const bool in_key = std::any_of(s.opts.key_headers.begin(), s.opts.key_headers.end(),
                                        [name](const std::string& h) { return http::iequals(h, name); });
        if (!in_key) {
            e->vary.emplace_back(lower(name), std::string(req.header(name)));
        }
    });
    if (vary_any) {
        return;
    }
    e->status = r.status();
    if (!r.content_type().empty()) {
        e->header_lines = "Content-Type: ";
        e->header_lines += r.content_type();
        e->header_lines += "\r\n";
    }
    e->header_lines += r.header_lines();
    e->body = std::string(r.body());
    e->stored_at = s.now();
    const std::string path(req.path());
    s.store->put(key, std::move(e), {.ttl = std::chrono::seconds(ttl), .tags = {path}});
}

std::string make_etag(std::string_view body)
{
    // FNV-1a 64: a strong validator for this exact body.
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c : body) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    static constexpr char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (int shift = 60; shift >= 0; shift -= 4) {
        out += hex[(h >> shift) & 0xf];
    }
    out += '"';
    return out;
}

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 13.1.2).
bool etag_matches(std::string_view header, std::string_view etag)
{
    if (etag.substr(0, 2) == "W/") {
        etag.remove_prefix(2);
    }
    bool match = false;
    for_each_item(header, [&](std::string_view tag) {
        if (tag == "*") {
            match = true;
        }
        if (tag.substr(0, 2) == "W/") {
            tag.remove_prefix(2);
        }
        if (tag == etag) {
            match = true;
        }
    });
    return match;
}

bool not_modified(const http::request& req, const http::response& r)
{
    if (r.status() != http::status::ok) {
        return false;
    }
    if (req.has_header("if-none-match")) {
        const std::string_view etag = r.header("etag");
        return !etag.empty() && etag_matches(req.header("if-none-match"), etag);
    }
    const std::string_view since = req.header("if-modified-since");
    const std::string_view modified = r.header("last-modified");
    if (since.empty() || modified.empty()) {
        return false;
    }
    const long long ims = http::parse_http_date(since);
    const long long lm = http::parse_http_date(modified);
    return ims >= 0 && lm >= 0 && lm <= ims;
}

http::response not_modified_from(const http::response& r)
{
    http::response out(http::status::not_modified);
    for (const std::string_view name :
         {"ETag", "Last-Modified", "Cache-Control", "Expires", "Vary", "Content-Location", "Age"}) {
        const std::string_view v = r.header(name);
        if (!v.empty()) {
            out.add_header(name, v);
        }
    }
    return out;
}

/// ETag and the 304 answer, for any GET/HEAD response (stored or not).
http::response validate(const http_cache_state& s, const http::request& req, http::response r)
{
    if (s.opts.generate_etag && r.status() == http::status::ok && r.header("etag").empty() &&
        r.streamed() == nullptr && r.file() == nullptr) {
        r.set_header("ETag", make_etag(r.body()));
    }
    if (not_modified(req, r)) {
        return not_modified_from(r);
    }
    return r;
}

task<http::response> handle_cache(std::shared_ptr<http_cache_state> s, http::request& req, next n)
{
    const http::method m = req.method();
    if (m != http::method::get && m != http::method::head) {
        http::response r = co_await n(req);
        const int code = static_cast<int>(r.status());
        const bool unsafe = m == http::method::post || m == http::method::put || m == http::method::patch ||
                            m == http::method::delete_;
        if (unsafe && code >= 200 && code < 400) {
            s->store->invalidate_tag(req.path());
        }
        co_return r;
    }
    const cache_control request_cc = parse_cache_control(req.header("cache-control"));
    std::string key = primary_key(*s, req);
    if (!request_cc.no_cache && !request_cc.no_store) {
        if (auto hit = s->store->get(key); hit && variant_matches(**hit, req)) {
            http::response r = validate(*s, req, from_stored(*s, **hit));
            co_return r;
        }
    }
    http::response r = co_await n(req);
    // Only GET stores: a HEAD route of its own may answer without the body.
    if (!request_cc.no_store && m == http::method::get) {
        if (const long long ttl = storable_for(*s, req, r); ttl > 0) {
            if (s->opts.generate_etag && r.status() == http::status::ok && r.header("etag").empty()) {
                r.set_header("ETag", make_etag(r.body()));  // stored with the entry, same on every hit
            }
            store(*s, std::move(key), req, r, ttl);
        }
    }
    http::response out = validate(*s, req, std::move(r));
    co_return out;
}

}  // namespace

middleware http_cache(http_cache_options options)
{
    auto s = std::make_shared<http_cache_state>();
    s->store = std::make_unique<response_cache>(
        cache::cache_options<std::string, std::shared_ptr<const stored_response>>{
            .capacity = options.capacity_bytes,
            .size_of =
                [](const std::string& k, const std::shared_ptr<const stored_response>& e) {
                    return k.size() + e->header_lines.size() + e->body.size() + sizeof(stored_response);
                },
            .clock = options.clock,
        });
    s->opts = std::move(options);
    return [s](http::request& req, next n) { return handle_cache(s, req, n); };
}

}  // namespace covet::web
