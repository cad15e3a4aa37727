#pragma once
// covet::router::router<Handler, GroupData>: a segment-tree HTTP router that
// is generic over the handler type, so it works without covet::http.
//
//   covet::router::router<my_handler> r;
//   r.get("/users/{id:int}", h, "user");
//   r.freeze();                                   // from here: shared, lock-free
//   auto m = r.find(covet::router::method::get, "/users/42");
//   if (m.status() == match_status::found) (*m.handler())(m.params());
//
// Lifetimes: a match points into the router (handler, route, group) and into
// the path passed to find() (parameters); it must not outlive either.

#include <covet/base/result.hpp>
#include <covet/router/detail/core.hpp>
#include <covet/router/method.hpp>
#include <covet/router/params.hpp>
#include <covet/router/percent.hpp>
#include <covet/router/types.hpp>

#include <cstdint>
#include <deque>
#include <initializer_list>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::router {

/// The GroupData of routers that do not attach anything to groups.
struct no_group_data {};

/// A route group: a prefix and the data the web layer hangs on it
/// (middleware). Groups nest; `parent` is null for a top-level group.
template <class GroupData>
struct group_info {
    /// The group's full prefix, parents' prefixes included ("/api/v1").
    std::string prefix;
    /// User data attached to the group.
    GroupData data;
    /// The enclosing group, or null.
    const group_info* parent = nullptr;
};

/// The result of router::find: status, and depending on it the route and its
/// handler and parameters (found), the Allow set (method_not_allowed,
/// auto_options) or the redirect target (redirect).
template <class Handler, class GroupData>
class match {
public:
    /// What the lookup found.
    match_status status() const noexcept { return raw_.status; }
    /// True when status() == match_status::found.
    explicit operator bool() const noexcept { return raw_.status == match_status::found; }

    /// The handler of the matched route (found), else null.
    const Handler* handler() const noexcept { return handler_; }
    /// The matched route (found), else null. For HEAD served by GET it is the GET route.
    const route_info* route() const noexcept { return route_; }
    /// The innermost group of the matched route, or null.
    const group_info<GroupData>* group() const noexcept { return group_; }
    /// Captured parameters (found; empty otherwise).
    const router::params& params() const noexcept { return raw_.params; }

    /// The methods the path supports (method_not_allowed, auto_options).
    method_set allow() const noexcept { return raw_.allow; }
    /// Appends the Allow header value ("GET, HEAD, OPTIONS") to `out`;
    /// custom methods come last. No allocation beyond `out`'s growth.
    void append_allow(std::string& out) const { detail::append_allow(raw_.allow, raw_.ep, out); }
    /// The Allow header value as a new string.
    std::string allow_header() const
    {
        std::string s;
        append_allow(s);
        return s;
    }

    /// For match_status::redirect: the looked-up path with its trailing
    /// slash added or removed. Answer 308 (or 301 for GET) with it.
    std::string redirect_location() const
    {
        std::string s(raw_.path);
        if (raw_.slash == 1) {
            s += '/';
        } else if (raw_.slash == 2) {
            s.pop_back();
        }
        return s;
    }

private:
    template <class H, class G>
    friend class router;

    detail::raw_match raw_;
    const Handler* handler_ = nullptr;
    const route_info* route_ = nullptr;
    const group_info<GroupData>* group_ = nullptr;
};

/// The router. `Handler` is any movable type (a function pointer, a
/// std::function, the web layer's handler object); `GroupData` is attached to
/// groups. Build it (add routes, groups, mounts), then freeze(): after that
/// registration throws std::logic_error and concurrent find() calls are safe
/// (they only read). find() allocates nothing.
///
/// Registration errors throw std::invalid_argument naming the route(s):
/// malformed patterns, the same method on an equivalent path, typed
/// parameters whose matchers can accept the same segment, duplicate names.
/// add(method, …) and the verb shortcuts, for the router and its groups alike:
/// each forwards to Derived::add(method_token, pattern, handler, name).
template <class Derived, class Handler>
class method_shortcuts {
public:
    /// Registers a route for a standard method.
    std::uint32_t add(method m, std::string_view pattern, Handler h, std::string_view name = {})
    {
        return self().add(to_string(m), pattern, std::move(h), name);
    }
    /// GET route.
    std::uint32_t get(std::string_view p, Handler h, std::string_view name = {})
    {
        return add(method::get, p, std::move(h), name);
    }
    /// POST route.
    std::uint32_t post(std::string_view p, Handler h, std::string_view name = {})
    {
        return add(method::post, p, std::move(h), name);
    }
    /// PUT route.
    std::uint32_t put(std::string_view p, Handler h, std::string_view name = {})
    {
        return add(method::put, p, std::move(h), name);
    }
    /// PATCH route.
    std::uint32_t patch(std::string_view p, Handler h, std::string_view name = {})
    {
        return add(method::patch, p, std::move(h), name);
    }
    /// DELETE route.
    std::uint32_t del(std::string_view p, Handler h, std::string_view name = {})
    {
        return add(method::delete_, p, std::move(h), name);
    }

private:
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
};

template <class Handler, class GroupData = no_group_data>
class router : public method_shortcuts<router<Handler, GroupData>, Handler> {
public:
    using handler_type = Handler;
    using group_type = group_info<GroupData>;
    using match_type = match<Handler, GroupData>;
    using param_list = std::initializer_list<std::pair<std::string_view, std::string_view>>;

    /// A handle for registering routes under a group's prefix.
    class group_ref : public method_shortcuts<group_ref, Handler> {
    public:
        using method_shortcuts<group_ref, Handler>::add;
        /// Registers `method_token pattern` under this group's prefix.
        std::uint32_t add(std::string_view method_token, std::string_view pattern, Handler h,
                          std::string_view name = {})
        {
            return r_->add_in(id_, method_token, pattern, std::move(h), name);
        }
        /// A nested group: prefix appended to this group's.
        group_ref group(std::string_view prefix, GroupData data = {})
        {
            return r_->make_group(id_, prefix, std::move(data));
        }
        /// This group's data (mutable until the router is frozen).
        GroupData& data() const noexcept { return r_->groups_[id_].data; }
        /// This group's full prefix.
        const std::string& prefix() const noexcept { return r_->groups_[id_].prefix; }

    private:
        friend class router;
        group_ref(router* r, std::uint32_t id) : r_(r), id_(id) {}
        router* r_;
        std::uint32_t id_;
    };

    /// An empty router with the given options.
    explicit router(options opts = {}) : core_(opts) {}
    router(router&&) noexcept = default;
    router& operator=(router&&) noexcept = default;
    router(const router&) = delete;
    router& operator=(const router&) = delete;

    /// Registers a route for a method token ("GET", or a custom one such as
    /// "PROPFIND"); returns its id. `name` (optional, unique) enables url_for.
    std::uint32_t add(std::string_view method_token, std::string_view pattern, Handler h,
                      std::string_view name = {})
    {
        return add_in(route_info::npos, method_token, pattern, std::move(h), name);
    }
    using method_shortcuts<router, Handler>::add;

    /// A top-level group: routes added through it get `prefix` (which must
    /// start with '/' and not end with one; it may hold parameters) and
    /// report the group in their matches.
    group_ref group(std::string_view prefix, GroupData data = {})
    {
        return make_group(route_info::npos, prefix, std::move(data));
    }

    /// Moves every route of `other` under `prefix`, in a new group carrying
    /// `data`; other's groups become subgroups of it. Route names are kept
    /// (prefixed with `name_prefix`) and must stay unique. A registration
    /// error throws midway and leaves both routers partly merged: treat it
    /// as fatal, like any configuration error.
    void mount(std::string_view prefix, router&& other, GroupData data = {},
               std::string_view name_prefix = {})
    {
        group_ref top = make_group(route_info::npos, prefix, std::move(data));
        std::vector<std::uint32_t> remap(other.groups_.size());
        for (std::size_t g = 0; g < other.groups_.size(); ++g) {
            const auto& og = other.groups_[g];
            std::uint32_t parent = og.parent == nullptr ? top.id_ : remap[other.index_of(og.parent)];
            groups_.push_back(
                {groups_[top.id_].prefix + og.prefix, std::move(other.groups_[g].data), &groups_[parent]});
            remap[g] = static_cast<std::uint32_t>(groups_.size() - 1);
        }
        for (const auto& r : other.core_.routes()) {
            std::uint32_t g = r.group == route_info::npos ? top.id_ : remap[r.group];
            std::string name = r.name.empty() ? std::string() : std::string(name_prefix) + r.name;
            std::string pattern = std::string(prefix) + r.pattern;
            core_.add(r.method_token, pattern, name, g);
            handlers_.push_back(std::move(other.handlers_[r.id]));
        }
    }

    /// Defines a parameter type usable as {x:name}, from a matcher pattern
    /// (see detail/matcher.hpp for the subset). Built in: int, uint, hex,
    /// alpha, uuid.
    void define_type(std::string_view name, std::string_view pattern) { core_.define_type(name, pattern); }

    /// Ends registration. Lookups on a frozen router may run on any number
    /// of threads at once.
    void freeze()
    {
        core_.freeze();
        handlers_.shrink_to_fit();
    }
    /// True after freeze().
    bool frozen() const noexcept { return core_.frozen(); }

    /// Looks up `path` (the URL path only: no query, still percent-encoded)
    /// for method `m`. Never allocates, never throws.
    match_type find(method m, std::string_view path) const noexcept { return find_impl(m, {}, path); }
    /// Looks up by method token; unknown tokens are matched against custom routes.
    match_type find(std::string_view method_token, std::string_view path) const noexcept
    {
        return find_impl(parse_method(method_token), method_token, path);
    }

    /// The path of the route called `name`, with each parameter's value
    /// percent-encoded ('/' kept in catch-alls). errc::invalid_argument when
    /// the name is unknown, a parameter is missing, unknown or empty, or a
    /// typed value does not match its type.
    result<std::string> url_for(std::string_view name, param_list values = {}) const
    {
        return core_.url_for(name, std::span(values.begin(), values.size()));
    }
    /// url_for with the values in any contiguous range.
    result<std::string> url_for(std::string_view name,
                                std::span<const std::pair<std::string_view, std::string_view>> values) const
    {
        return core_.url_for(name, values);
    }

    /// Every registered route, by id (registration order).
    const std::vector<route_info>& routes() const noexcept { return core_.routes(); }
    /// The handler of route `id`.
    const Handler& handler(std::uint32_t id) const noexcept { return handlers_[id]; }
    /// The group of a route (route_info::group), or null for npos.
    const group_type* group_of(std::uint32_t group) const noexcept
    {
        return group == route_info::npos ? nullptr : &groups_[group];
    }
    /// Number of routes.
    std::size_t size() const noexcept { return handlers_.size(); }
    /// The options the router was built with.
    const options& opts() const noexcept { return core_.opts(); }

private:
    std::uint32_t add_in(std::uint32_t group, std::string_view method_token, std::string_view pattern,
                         Handler h, std::string_view name)
    {
        std::uint32_t id;
        if (group == route_info::npos) {
            id = core_.add(method_token, pattern, name, group);
        } else {
            id = core_.add(method_token, groups_[group].prefix + std::string(pattern), name, group);
        }
        handlers_.push_back(std::move(h));
        return id;
    }

    group_ref make_group(std::uint32_t parent, std::string_view prefix, GroupData data)
    {
        if (core_.frozen()) {
            throw std::logic_error("router is frozen: cannot add group '" + std::string(prefix) + "'");
        }
        if (prefix.empty() || prefix.front() != '/' || prefix.back() == '/') {
            throw std::invalid_argument("group prefix '" + std::string(prefix) +
                                        "' must start with '/' and not end with '/'");
        }
        const group_type* p = parent == route_info::npos ? nullptr : &groups_[parent];
        std::string full = (p ? p->prefix : std::string()) + std::string(prefix);
        groups_.push_back({std::move(full), std::move(data), p});
        return group_ref(this, static_cast<std::uint32_t>(groups_.size() - 1));
    }

    std::uint32_t index_of(const group_type* g) const noexcept
    {
        for (std::size_t i = 0; i < groups_.size(); ++i) {
            if (&groups_[i] == g) {
                return static_cast<std::uint32_t>(i);
            }
        }
        return route_info::npos;
    }

    match_type find_impl(method m, std::string_view token, std::string_view path) const noexcept
    {
        match_type out;
        core_.find(m, token, path, out.raw_);
        if (out.raw_.status == match_status::found) {
            const route_info& r = core_.routes()[out.raw_.route];
            out.handler_ = &handlers_[out.raw_.route];
            out.route_ = &r;
            out.group_ = group_of(r.group);
        }
        return out;
    }

    detail::core core_;
    std::vector<Handler> handlers_;
    std::deque<group_type> groups_;  // deque: group_info::parent pointers stay valid
};

}  // namespace covet::router
