#pragma once
// covet::web::app: routes with typed handlers, groups, middleware (an onion
// that also wraps 404, 405, automatic OPTIONS and HEAD), dependency injection,
// JSON error mapping, configuration, and the http server that runs it all.
//
//   struct new_user { std::string name; };            COVET_REFLECT(new_user, name);
//   struct user { std::int64_t id; std::string name; }; COVET_REFLECT(user, id, name);
//
//   web::app app;
//   app.use(web::cors({.allow_origins = {"https://example.com"}}));
//   app.provide(std::make_shared<user_store>());                      // app-wide service
//   app.get("/users/{id:int}", [](web::path<std::int64_t> id, web::inject<user_store> db) -> task<user> {
//       co_return db->get(*id);                                       // → 200 application/json
//   });
//   app.post("/users", [](web::body<new_user> u, web::inject<user_store> db) -> task<http::response> {
//       co_return web::json(db->add(*u), http::status::created);
//   });
//   app.run();                                                        // port from config (8080)
//
// Lifetimes: handlers, factories and middleware are moved into the app and
// live as long as it does; they are called concurrently from every worker
// thread, so they must be const-callable and thread-safe. A coroutine handler
// takes its parameters by value (the wrappers do), never captures locals that
// die, and every view it reads from the request (body, headers) is valid until
// its task completes.
//
// Registration (routes, groups, middleware, services) happens before freeze(),
// which listen(), run(), start(), serve() and test_client call. Registration
// mistakes throw at once: std::invalid_argument (bad pattern, conflicting
// routes, more path<> parameters than the route has, a service provided twice)
// or std::logic_error (after freeze; a handler injecting a service nobody provides).

#include <covet/base/result.hpp>
#include <covet/http/request.hpp>
#include <covet/http/response.hpp>
#include <covet/http/server.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/task.hpp>
#include <covet/router/router.hpp>
#include <covet/web/config.hpp>
#include <covet/web/detail/handler.hpp>
#include <covet/web/detail/types.hpp>
#include <covet/web/errors.hpp>
#include <covet/web/params.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace covet::web {

/// A JSON response with a status other than 200 (a handler may also just return the value).
template <class T>
http::response json(const T& value, http::status s = http::status::ok)
{
    http::response r = detail::to_response(value);
    r.set_status(s);
    return r;
}

class app;

/// A registered route: add route-level middleware before the app is frozen.
class route_ref {
public:
    /// Runs `mw` for this route only, inside the global and group middleware.
    route_ref& use(middleware mw);

private:
    friend class app;
    route_ref(app* a, detail::endpoint* e) noexcept : app_(a), ep_(e) {}
    app* app_;
    detail::endpoint* ep_;
};

namespace detail {
using router_type = router::router<endpoint*, std::vector<middleware>>;
/// Builds the GET handler of app::ws(); defined in <covet/web/ws.hpp> (covet::ws),
/// so that an app without WebSockets neither includes nor links covet::ws.
template <class F, class Enable = void>
struct ws_endpoint;
}  // namespace detail

/// A group of routes under a prefix, with its own middleware (run inside the
/// enclosing groups' and the app's). Groups nest.
class group_ref {
public:
    template <class F>
    route_ref get(std::string_view pattern, F fn, std::string_view name = {});
    template <class F>
    route_ref post(std::string_view pattern, F fn, std::string_view name = {});
    template <class F>
    route_ref put(std::string_view pattern, F fn, std::string_view name = {});
    template <class F>
    route_ref patch(std::string_view pattern, F fn, std::string_view name = {});
    template <class F>
    route_ref del(std::string_view pattern, F fn, std::string_view name = {});
    /// Any method token ("OPTIONS", "PROPFIND").
    template <class F>
    route_ref route(std::string_view method_token, std::string_view pattern, F fn,
                    std::string_view name = {});

    /// Middleware for every route of this group and its subgroups.
    group_ref& use(middleware mw);
    /// A subgroup: `prefix` is appended to this group's.
    group_ref group(std::string_view prefix);
    const std::string& prefix() const noexcept { return g_.prefix(); }

private:
    friend class app;
    group_ref(app* a, detail::router_type::group_ref g) noexcept : app_(a), g_(g) {}
    app* app_;
    detail::router_type::group_ref g_;
};

class app {
public:
    explicit app(web::config cfg = {});
    /// Stops the server (if start() was used) and joins its threads.
    ~app();
    app(const app&) = delete;
    app& operator=(const app&) = delete;

    // ---------------------------------------------------------------- configuration

    /// The configuration; change it before listen()/serve().
    web::config& config() noexcept { return config_; }
    const web::config& config() const noexcept { return config_; }
    /// config().load_env(prefix): COVET_PORT, COVET_THREADS, ... (see config.hpp).
    void configure_from_env(std::string_view prefix = "COVET_") { config_.load_env(prefix); }
    /// config().load_file(path): key = value lines.
    void configure_from_file(const std::string& path) { config_.load_file(path); }

    // ---------------------------------------------------------------- routes

    template <class F>
    route_ref get(std::string_view pattern, F fn, std::string_view name = {})
    {
        return add_route(nullptr, "GET", pattern, make_endpoint(std::move(fn)), name);
    }
    template <class F>
    route_ref post(std::string_view pattern, F fn, std::string_view name = {})
    {
        return add_route(nullptr, "POST", pattern, make_endpoint(std::move(fn)), name);
    }
    template <class F>
    route_ref put(std::string_view pattern, F fn, std::string_view name = {})
    {
        return add_route(nullptr, "PUT", pattern, make_endpoint(std::move(fn)), name);
    }
    template <class F>
    route_ref patch(std::string_view pattern, F fn, std::string_view name = {})
    {
        return add_route(nullptr, "PATCH", pattern, make_endpoint(std::move(fn)), name);
    }
    template <class F>
    route_ref del(std::string_view pattern, F fn, std::string_view name = {})
    {
        return add_route(nullptr, "DELETE", pattern, make_endpoint(std::move(fn)), name);
    }
    /// Any method token ("OPTIONS", "PROPFIND").
    template <class F>
    route_ref route(std::string_view method_token, std::string_view pattern, F fn, std::string_view name = {})
    {
        return add_route(nullptr, method_token, pattern, make_endpoint(std::move(fn)), name);
    }

    /// A group of routes under `prefix` (starts with '/', no trailing '/').
    group_ref group(std::string_view prefix);

    /// Global middleware, outermost first. It runs for every request: matched
    /// routes, 404, 405, automatic OPTIONS (CORS preflights) and HEAD.
    void use(middleware mw);

    /// The path of the route named `name` with its parameters filled in.
    result<std::string> url_for(std::string_view name, detail::router_type::param_list values = {}) const
    {
        return router_.url_for(name, values);
    }

    /// A WebSocket endpoint: `fn(ws::connection, params...) -> task<void>` runs
    /// after the handshake, with typed parameters taken like a handler's
    /// (web::path<T>, query<T, "n">, header<T, "N">, inject<T>; by value: they
    /// outlive the request). `options...` is at most one ws::accept_options
    /// (subprotocols, origin check, limits, deflate). Needs
    /// #include <covet/web/ws.hpp> and linking covet::ws.
    ///
    ///   app.ws("/chat/{room}", [](ws::connection c, web::path<std::string> room) -> task<void> { ... });
    template <class F, class... Options>
    route_ref ws(std::string_view pattern, F fn, Options... options)
    {
        return get(pattern, detail::ws_endpoint<F>::make(std::move(fn), std::move(options)...));
    }

    // ---------------------------------------------------------------- services

    /// An app-wide service, injected as `inject<T>` into any handler or factory.
    /// Shared by all threads for the app's lifetime: make it thread-safe.
    template <class T>
    void provide(std::shared_ptr<T> service)
    {
        detail::service_entry e;
        e.key = detail::type_key<T>;
        e.name = detail::type_name<T>();
        e.instance = std::static_pointer_cast<void>(std::move(service));
        services_.add(std::move(e));
    }
    /// A per-request service: `factory` is a typed callable like a handler (its
    /// parameters are injected the same way: path, query, header, body, other
    /// services, the request) returning T, std::shared_ptr<T>, or a task of
    /// either; `inject<T>` then gets the service made for the current request
    /// (once per request, shared by the handler and other factories). Throw
    /// http::error from it to refuse the request (e.g. 401 for the current user).
    template <class F>
    void provide_per_request(F factory)
    {
        using info = detail::handler_info<F, false>;
        using R = typename info::result;
        using T = typename detail::service_type<R>::type;
        detail::service_entry e;
        e.key = detail::type_key<T>;
        e.name = detail::type_name<T>();
        e.factory = std::make_shared<const F>(std::move(factory));
        e.make = &detail::make_service<F>;
        e.needs = detail::needs_of<typename detail::callable_traits<F>::args>::get();
        services_.add(std::move(e));
    }

    // ---------------------------------------------------------------- errors

    /// Answers exceptions of type E (or derived from it) that escape a
    /// handler, a per-request factory or a middleware with `fn`'s response.
    /// `fn(const E&)` or `fn(const E&, const http::request&)` returns an
    /// http::response, or std::optional<http::response> where nullopt passes
    /// the exception on (to the next mapping, then the defaults of errors.hpp).
    /// Mappings are tried in registration order, before the defaults, so a
    /// library's exceptions get statuses without the web layer knowing them:
    ///
    ///   app.map_error<inventory::out_of_stock>([](const inventory::out_of_stock& e) {
    ///       return web::problem(http::status::conflict, "out of stock");
    ///   });
    ///
    /// `fn` is called concurrently from every worker: make it thread-safe.
    template <class E, class F>
    void map_error(F fn)
    {
        check_not_frozen("map_error");
        error_mapping m;
        m.try_map = &try_map_error<E, F>;
        m.fn = std::make_shared<const F>(std::move(fn));
        error_mappings_.push_back(std::move(m));
    }

    // ---------------------------------------------------------------- running

    /// Ends registration: builds every route's middleware chain and checks
    /// that every injected service is provided. Idempotent.
    void freeze();
    bool frozen() const noexcept { return frozen_; }

    /// Handles one request: routing, middleware, handler, errors. This is the
    /// app as an http::handler; `req` must outlive the returned task.
    task<http::response> dispatch(http::request& req) const;
    /// dispatch() without a coroutine frame, for a route whose handler is a
    /// plain function (not a coroutine, nothing injected) and which has no
    /// middleware: true with `out` set; false (nothing done) for every other
    /// request, which dispatch() then handles. serve() passes it to the
    /// server as http::server_options::handle_now.
    bool dispatch_now(http::request& req, std::optional<http::response>& out) const;
    /// dispatch() as an http::handler (refers to this app, which must outlive the server).
    http::handler handler();

    /// Starts an http::server for this app on an existing runtime, with the
    /// configured address, port and server options (freezes first).
    result<http::server> serve(net::runtime& rt);

    /// Binds the configured address and port (or `port`; 0 picks a free one)
    /// on an app-owned runtime of config().threads workers; returns the port.
    /// Throws std::system_error when it cannot bind.
    std::uint16_t listen();
    std::uint16_t listen(std::uint16_t port);
    /// listen() if needed, then serves on this thread and the workers until a
    /// graceful stop (SIGINT/SIGTERM with config().handle_signals, or stop()).
    void run();
    /// listen() if needed, then serves on background threads; returns at once.
    void start();
    /// Graceful stop; waits for start()'s threads. Thread-safe, idempotent.
    void stop();
    /// The bound port (after listen()), else 0.
    std::uint16_t port() const noexcept;
    /// The app-owned runtime (after listen()), else null.
    net::runtime* runtime() noexcept { return runtime_.get(); }
    /// Routes as registered (for docs and tests).
    const detail::router_type& routes() const noexcept { return router_; }

private:
    friend class route_ref;
    friend class group_ref;
    friend struct detail::dispatch_state;
    friend class next;

    template <class F>
    static detail::endpoint make_endpoint(F f)
    {
        using info = detail::handler_info<F>;
        detail::endpoint e;
        e.invoke = &detail::invoke_endpoint<F>;
        if constexpr (!info::is_task && info::args::inject_count == 0) {
            e.invoke_now = &detail::invoke_endpoint_now<F>;
        }
        e.fn = std::make_shared<const F>(std::move(f));
        e.path_params = info::args::path_count;
        e.needs = detail::needs_of<typename detail::callable_traits<F>::args>::get();
        return e;
    }
    template <class E, class F>
    static bool try_map_error(const void* fn, const std::exception_ptr& failure, const http::request& req,
                              std::optional<http::response>& out)
    {
        static_assert(
            std::is_invocable_v<const F&, const E&> ||
                std::is_invocable_v<const F&, const E&, const http::request&>,
            "covet::web: map_error<E>(fn) needs fn(const E&) or fn(const E&, const http::request&)");
        try {
            std::rethrow_exception(failure);
        } catch (const E& e) {
            const F& f = *static_cast<const F*>(fn);
            if constexpr (std::is_invocable_v<const F&, const E&, const http::request&>) {
                out = f(e, req);
            } else {
                out = f(e);
            }
            return out.has_value();
        } catch (...) {
            return false;
        }
    }
    route_ref add_route(detail::router_type::group_ref* group, std::string_view method_token,
                        std::string_view pattern, detail::endpoint e, std::string_view name);
    void check_not_frozen(std::string_view what) const;
    static task<http::response> fallback(detail::dispatch_state* st);

    web::config config_;
    detail::router_type router_;
    std::deque<detail::endpoint> endpoints_;  // deque: router handlers point here
    std::vector<middleware> global_;
    std::vector<const middleware*> global_chain_;
    std::vector<error_mapping> error_mappings_;
    detail::service_registry services_;
    bool frozen_ = false;
    bool has_plain_endpoints_ = false;  // some route can be served by dispatch_now()
    std::unique_ptr<net::runtime> runtime_;
    std::optional<http::server> server_;
    bool started_ = false;
};

// ------------------------------------------------------------ group_ref templates

template <class F>
route_ref group_ref::get(std::string_view pattern, F fn, std::string_view name)
{
    return app_->add_route(&g_, "GET", pattern, app::make_endpoint(std::move(fn)), name);
}
template <class F>
route_ref group_ref::post(std::string_view pattern, F fn, std::string_view name)
{
    return app_->add_route(&g_, "POST", pattern, app::make_endpoint(std::move(fn)), name);
}
template <class F>
route_ref group_ref::put(std::string_view pattern, F fn, std::string_view name)
{
    return app_->add_route(&g_, "PUT", pattern, app::make_endpoint(std::move(fn)), name);
}
template <class F>
route_ref group_ref::patch(std::string_view pattern, F fn, std::string_view name)
{
    return app_->add_route(&g_, "PATCH", pattern, app::make_endpoint(std::move(fn)), name);
}
template <class F>
route_ref group_ref::del(std::string_view pattern, F fn, std::string_view name)
{
    return app_->add_route(&g_, "DELETE", pattern, app::make_endpoint(std::move(fn)), name);
}
template <class F>
route_ref group_ref::route(std::string_view method_token, std::string_view pattern, F fn,
                           std::string_view name)
{
    return app_->add_route(&g_, method_token, pattern, app::make_endpoint(std::move(fn)), name);
}

}  // namespace covet::web
