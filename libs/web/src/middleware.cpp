#include <covet/http/header.hpp>
#include <covet/web/middleware.hpp>

#include <algorithm>
#include <array>
#include <memory>
#include <random>
#include <stdexcept>

namespace covet::web {

namespace {

struct cors_state {
    cors_options opts;
    bool any_origin = false;
    bool any_header = false;
    std::string methods;
    std::string headers;
    std::string expose;
    std::string max_age;
};

std::string join(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& i : items) {
        if (!out.empty()) {
            out += ", ";
        }
        out += i;
    }
    return out;
}

bool contains_ci(const std::vector<std::string>& items, std::string_view v)
{
    return std::any_of(items.begin(), items.end(), [v](const std::string& i) { return http::iequals(i, v); });
}

bool origin_allowed(const cors_state& s, std::string_view origin)
{
    if (s.any_origin) {
        return true;
    }
    return std::any_of(s.opts.allow_origins.begin(), s.opts.allow_origins.end(),
                       [origin](const std::string& o) { return o == origin; });
}

void add_vary(http::response& r, std::string_view what)
{
    const std::string_view vary = r.header("vary");
    if (vary.empty()) {
        r.add_header("Vary", what);
    } else {
        r.set_header("Vary", std::string(vary) + ", " + std::string(what));
    }
}

void allow_origin(const cors_state& s, http::response& r, std::string_view origin)
{
    if (s.any_origin) {
        r.set_header("Access-Control-Allow-Origin", "*");
    } else {
        r.set_header("Access-Control-Allow-Origin", origin);
    }
    if (s.opts.allow_credentials) {
        r.set_header("Access-Control-Allow-Credentials", "true");
    }
}

task<http::response> preflight(std::shared_ptr<const cors_state> s, std::string_view origin,
                               std::string_view method, std::string_view requested)
{
    const std::string_view all_requested = requested;
    bool ok = origin_allowed(*s, origin) && contains_ci(s->opts.allow_methods, method);
    while (ok && !requested.empty()) {
        const auto comma = requested.find(',');
        const std::string_view h = http::trim_ows(requested.substr(0, comma));
        requested.remove_prefix(comma == std::string_view::npos ? requested.size() : comma + 1);
        if (!h.empty() && !s->any_header && !contains_ci(s->opts.allow_headers, h)) {
            ok = false;
        }
    }
    http::response r = ok ? http::response::no_content() : http::response(http::status::forbidden);
    if (!s->any_origin) {
        add_vary(r, "Origin");
    }
    add_vary(r, "Access-Control-Request-Method, Access-Control-Request-Headers");
    if (ok) {
        allow_origin(*s, r, origin);
        r.set_header("Access-Control-Allow-Methods", s->methods);
        if (s->any_header) {
            if (!all_requested.empty()) {
                r.set_header("Access-Control-Allow-Headers", all_requested);
            }
        } else if (!s->headers.empty()) {
            r.set_header("Access-Control-Allow-Headers", s->headers);
        }
        if (!s->max_age.empty()) {
            r.set_header("Access-Control-Max-Age", s->max_age);
        }
    }
    co_return r;
}

task<http::response> handle_cors(std::shared_ptr<const cors_state> s, http::request& req, next n)
{
    const std::string_view origin = req.header("origin");
    if (origin.empty() || !req.has_header("origin")) {
        co_return co_await n(req);
    }
    if (req.method() == http::method::options && req.has_header("access-control-request-method")) {
        auto t = preflight(s, origin, req.header("access-control-request-method"),
                           req.header("access-control-request-headers"));
        co_return co_await std::move(t);
    }
    http::response r = co_await n(req);
    if (!s->any_origin) {
        add_vary(r, "Origin");
    }
    if (origin_allowed(*s, origin)) {
        allow_origin(*s, r, origin);
        if (!s->expose.empty()) {
            r.set_header("Access-Control-Expose-Headers", s->expose);
        }
    }
    co_return r;
}

bool valid_request_id(std::string_view id) noexcept
{
    if (id.empty() || id.size() > 128) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
               c == '_' || c == '-';
    });
}

std::string make_request_id()
{
    thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char hex[] = "0123456789abcdef";
    std::string out(32, '0');
    for (int half = 0; half < 2; ++half) {
        std::uint64_t v = rng();
        for (int i = 0; i < 16; ++i) {
            out[static_cast<std::size_t>(half * 16 + i)] = hex[v & 0xf];
            v >>= 4;
        }
    }
    return out;
}

task<http::response> handle_request_id(std::shared_ptr<const std::string> name, http::request& req, next n)
{
    const std::string_view incoming = req.header(*name);
    std::string id = valid_request_id(incoming) ? std::string(incoming) : make_request_id();
    http::response r = co_await n(req);
    r.set_header(*name, id);
    co_return r;
}

}  // namespace

middleware cors(cors_options options)
{
    auto s = std::make_shared<cors_state>();
    s->any_origin = std::find(options.allow_origins.begin(), options.allow_origins.end(), "*") !=
                    options.allow_origins.end();
    s->any_header = std::find(options.allow_headers.begin(), options.allow_headers.end(), "*") !=
                    options.allow_headers.end();
    if (options.allow_credentials && (s->any_origin || s->any_header)) {
        throw std::invalid_argument(
            "covet::web::cors: \"*\" in allow_origins or allow_headers cannot be combined with "
            "allow_credentials; list the trusted origins and headers");
    }
    s->methods = join(options.allow_methods);
    s->headers = join(options.allow_headers);
    s->expose = join(options.expose_headers);
    if (options.max_age.count() > 0) {
        s->max_age = std::to_string(options.max_age.count());
    }
    s->opts = std::move(options);
    std::shared_ptr<const cors_state> state = std::move(s);
    return [state](http::request& req, next n) { return handle_cors(state, req, n); };
}

middleware request_id(std::string header_name)
{
    auto name = std::make_shared<const std::string>(std::move(header_name));
    return [name](http::request& req, next n) { return handle_request_id(name, req, n); };
}

}  // namespace covet::web
