#pragma once
// Internal vocabulary of covet::web shared by app.hpp and handler.hpp.

#include <covet/http/request.hpp>
#include <covet/http/response.hpp>
#include <covet/net/task.hpp>
#include <covet/router/params.hpp>
#include <covet/web/errors.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::web {

class next;

/// A middleware: gets the request and the rest of the chain; `co_await
/// next(req)` runs the rest (inner middleware, then the handler, or the app's
/// 404/405/OPTIONS answer) and returns its response, which the middleware may
/// change, replace or not ask for at all. Middleware objects live in the app
/// and are called concurrently from every worker thread.
using middleware = std::function<task<http::response>(http::request&, next)>;

namespace detail {

/// A unique address per type: the key of a service.
template <class T>
struct type_tag {
    static constexpr char id = 0;
};
template <class T>
inline constexpr const void* type_key = &type_tag<T>::id;

/// "int", "my::db": the type's name for error messages.
template <class T>
constexpr std::string_view type_name() noexcept
{
    std::string_view p = __PRETTY_FUNCTION__;
    const auto start = p.find("T = ");
    if (start == std::string_view::npos) {
        return p;
    }
    p.remove_prefix(start + 4);
    const auto end = p.find_first_of(";]");
    return p.substr(0, end);
}

struct service_entry;
class service_registry;

/// What a typed call reads: the request, the route's parameters and the
/// app's services, plus the per-request services made so far (each made once
/// per request).
struct request_context {
    http::request* req = nullptr;
    const router::params* params = nullptr;
    const service_registry* services = nullptr;
    /// The app's map_error() registrations.
    std::span<const error_mapping> error_mappings{};
    std::vector<std::pair<const void*, std::shared_ptr<void>>> scoped{};
};

/// Where a resolved service goes.
struct inject_slot {
    void* ptr = nullptr;
    std::shared_ptr<void> owner;
};

using make_fn = task<std::shared_ptr<void>> (*)(const void* fn, request_context* ctx);

/// One registered service: an app-wide instance, or a per-request factory.
struct service_entry {
    const void* key = nullptr;
    std::string_view name;
    std::shared_ptr<void> instance;
    std::shared_ptr<const void> factory;
    make_fn make = nullptr;
    /// Services the factory injects (checked at freeze).
    std::vector<std::pair<const void*, std::string_view>> needs;
};

class service_registry {
public:
    const service_entry* find(const void* key) const noexcept
    {
        for (const auto& e : entries_) {
            if (e.key == key) {
                return &e;
            }
        }
        return nullptr;
    }
    void add(service_entry e);
    const std::vector<service_entry>& entries() const noexcept { return entries_; }

private:
    std::vector<service_entry> entries_;
};

/// Resolves without suspending when it can (app-wide, or already made for
/// this request); false when a factory must run (resolve_async).
bool resolve_now(const void* key, inject_slot& slot, request_context& ctx);
/// Runs the factory of `key` and caches the service for this request.
task<void> resolve_async(const void* key, inject_slot* slot, request_context* ctx);

using invoke_fn = task<http::response> (*)(const void* fn, request_context* ctx);
/// The invoker of a plain (non-coroutine, nothing injected) handler, run
/// without a coroutine frame.
using invoke_now_fn = http::response (*)(const void* fn, request_context* ctx);

/// A route's handler, type-erased: the callable, its invoker, its own middleware
/// and (after freeze) its whole chain. Lives in the app.
struct endpoint {
    invoke_fn invoke = nullptr;
    invoke_now_fn invoke_now = nullptr;  // set for plain handlers
    std::shared_ptr<const void> fn;
    std::size_t path_params = 0;
    std::vector<std::pair<const void*, std::string_view>> needs;
    std::vector<middleware> route_middleware;
    std::vector<const middleware*> chain;  // global, groups (outer first), route
};

struct dispatch_state;

}  // namespace detail

/// The rest of a middleware chain. Cheap to copy (two pointers); valid while
/// the request is being handled: call it, at most once, before the middleware
/// returns.
class next {
public:
    next(detail::dispatch_state* state, std::size_t index) noexcept : state_(state), index_(index) {}
    /// Runs the inner middleware and the handler for `req`.
    task<http::response> operator()(http::request& req) const;

private:
    detail::dispatch_state* state_;
    std::size_t index_;
};

}  // namespace covet::web
