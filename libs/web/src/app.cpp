#include <covet/web/app.hpp>

#include <covet/http/error.hpp>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace covet::web {

namespace detail {

/// Lives in dispatch()'s coroutine frame for the whole request.
struct dispatch_state {
    request_context ctx;
    router_type::match_type match;
    const std::vector<const middleware*>* chain = nullptr;
    const endpoint* ep = nullptr;
    const app* owner = nullptr;
};

void service_registry::add(service_entry e)
{
    if (find(e.key) != nullptr) {
        throw std::invalid_argument("covet::web: service " + std::string(e.name) + " provided twice");
    }
    entries_.push_back(std::move(e));
}

bool resolve_now(const void* key, inject_slot& slot, request_context& ctx)
{
    const service_entry* e = ctx.services->find(key);
    if (e == nullptr) {
        throw std::logic_error("covet::web: no service provided for an inject<> parameter");
    }
    if (e->instance) {
        slot.ptr = e->instance.get();
        return true;
    }
    for (const auto& [k, made] : ctx.scoped) {
        if (k == key) {
            slot.ptr = made.get();
            slot.owner = made;
            return true;
        }
    }
    return false;
}

task<void> resolve_async(const void* key, inject_slot* slot, request_context* ctx)
{
    const service_entry* e = ctx->services->find(key);
    std::shared_ptr<void> made = co_await e->make(e->factory.get(), ctx);
    ctx->scoped.emplace_back(key, made);
    slot->ptr = made.get();
    slot->owner = std::move(made);
}

void check_json_content_type(const http::request& req)
{
    const std::string_view type = req.content_type();
    if (type.empty()) {
        return;  // lenient, like FastAPI: a missing Content-Type is read as JSON
    }
    // application/json, application/problem+json, ...; parameters allowed.
    const std::string_view essence = type.substr(0, type.find(';'));
    const auto plus = essence.rfind('+');
    const std::string_view suffix = plus == std::string_view::npos ? essence : essence.substr(plus + 1);
    if (!http::iequals(essence, "application/json") && !http::iequals(suffix, "json")) {
        throw http::error(http::status::unsupported_media_type,
                          "expected a JSON body (Content-Type: application/json)");
    }
}

json::reader& body_reader()
{
    thread_local json::reader reader;
    return reader;
}

json::writer& response_writer()
{
    thread_local json::writer writer;
    return writer;
}

/// One middleware call; an exception it throws (or lets through) becomes a
/// response here, so the middleware outside it still sees a response.
task<http::response> run_middleware(const middleware* mw, http::request* req, next n,
                                    std::span<const error_mapping> mappings)
{
    std::exception_ptr failure;
    try {
        auto t = (*mw)(*req, n);
        co_return co_await std::move(t);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return response_for_exception(failure, *req, mappings);
}

}  // namespace detail

task<http::response> next::operator()(http::request& req) const
{
    detail::dispatch_state* st = state_;
    st->ctx.req = &req;
    if (index_ < st->chain->size()) {
        return detail::run_middleware((*st->chain)[index_], &req, next(st, index_ + 1),
                                      st->ctx.error_mappings);
    }
    if (st->ep != nullptr) {
        return st->ep->invoke(st->ep->fn.get(), &st->ctx);
    }
    return app::fallback(st);
}

route_ref& route_ref::use(middleware mw)
{
    app_->check_not_frozen("route middleware");
    ep_->route_middleware.push_back(std::move(mw));
    return *this;
}

group_ref& group_ref::use(middleware mw)
{
    app_->check_not_frozen("group middleware");
    g_.data().push_back(std::move(mw));
    return *this;
}

group_ref group_ref::group(std::string_view prefix)
{
    app_->check_not_frozen("group");
    return group_ref(app_, g_.group(prefix));
}

app::app(web::config cfg) : config_(std::move(cfg)), router_(config_.routing) {}

app::~app()
{
    if (started_) {
        stop();
    }
}

void app::check_not_frozen(std::string_view what) const
{
    if (frozen_) {
        throw std::logic_error("covet::web: the app is frozen (serving): cannot add " + std::string(what));
    }
}

group_ref app::group(std::string_view prefix)
{
    check_not_frozen("group");
    return group_ref(this, router_.group(prefix));
}

void app::use(middleware mw)
{
    check_not_frozen("middleware");
    global_.push_back(std::move(mw));
}

route_ref app::add_route(detail::router_type::group_ref* group, std::string_view method_token,
                         std::string_view pattern, detail::endpoint e, std::string_view name)
{
    check_not_frozen("route");
    endpoints_.push_back(std::move(e));
    detail::endpoint* ep = &endpoints_.back();
    std::uint32_t id;
    try {
        id = group != nullptr ? group->add(method_token, pattern, ep, name)
                              : router_.add(method_token, pattern, ep, name);
    } catch (...) {
        endpoints_.pop_back();
        throw;
    }
    const auto& info = router_.routes()[id];
    if (ep->path_params > info.param_names.size()) {
        throw std::invalid_argument(
            "covet::web: the handler of " + info.describe() + " takes " + std::to_string(ep->path_params) +
            " path<> parameters but the route has " + std::to_string(info.param_names.size()));
    }
    return route_ref(this, ep);
}

void app::freeze()
{
    if (frozen_) {
        return;
    }
    auto check_needs = [this](const std::vector<std::pair<const void*, std::string_view>>& needs,
                              const std::string& who) {
        for (const auto& [key, name] : needs) {
            if (services_.find(key) == nullptr) {
                throw std::logic_error("covet::web: " + who + " injects " + std::string(name) +
                                       ", but no service of that type was provided (app.provide or "
                                       "app.provide_per_request)");
            }
        }
    };
    for (const auto& s : services_.entries()) {
        check_needs(s.needs, "the factory of " + std::string(s.name));
    }
    global_chain_.clear();
    for (const auto& mw : global_) {
        global_chain_.push_back(&mw);
    }
    for (std::uint32_t id = 0; id < router_.size(); ++id) {
        const auto& info = router_.routes()[id];
        detail::endpoint* ep = router_.handler(id);
        check_needs(ep->needs, "the handler of " + info.describe());
        ep->chain = global_chain_;
        std::vector<const detail::router_type::group_type*> groups;
        for (const auto* g = router_.group_of(info.group); g != nullptr; g = g->parent) {
            groups.push_back(g);
        }
        for (auto it = groups.rbegin(); it != groups.rend(); ++it) {
            for (const auto& mw : (*it)->data) {
                ep->chain.push_back(&mw);
            }
        }
        for (const auto& mw : ep->route_middleware) {
            ep->chain.push_back(&mw);
        }
        has_plain_endpoints_ = has_plain_endpoints_ || (ep->invoke_now != nullptr && ep->chain.empty());
    }
    router_.freeze();
    frozen_ = true;
}

task<http::response> app::fallback(detail::dispatch_state* st)
{
    const auto& m = st->match;
    const http::request& req = *st->ctx.req;
    switch (m.status()) {
    case router::match_status::method_not_allowed: {
        http::response r = problem(http::status::method_not_allowed);
        std::string allow;
        m.append_allow(allow);
        r.add_header("Allow", allow);
        co_return r;
    }
    case router::match_status::auto_options: {
        http::response r = http::response::no_content();
        std::string allow;
        m.append_allow(allow);
        r.add_header("Allow", allow);
        co_return r;
    }
    case router::match_status::redirect: {
        std::string location = m.redirect_location();
        if (!req.query_string().empty()) {
            location += '?';
            location += req.query_string();
        }
        http::response r(http::status::permanent_redirect);
        r.add_header("Location", location);
        co_return r;
    }
    case router::match_status::found:
    case router::match_status::not_found: break;
    }
    co_return problem(http::status::not_found);
}

namespace {

// The router match keeps its parameters inline, which makes a dispatch_state
// too large for a coroutine frame that Asio recycles (about 1 KiB): every
// request would malloc its frame. The states live in a per-thread free list
// instead and the frame holds a pointer.
struct state_cache {
    std::vector<std::unique_ptr<detail::dispatch_state>> free;
};
thread_local state_cache dispatch_states;

class pooled_state {
public:
    // A state from the free list, or `adopted` (one with its route looked up).
    explicit pooled_state(std::unique_ptr<detail::dispatch_state> adopted = nullptr)
        : state_(std::move(adopted))
    {
        if (state_ != nullptr) {
            return;
        }
        if (dispatch_states.free.empty()) {
            state_ = std::make_unique<detail::dispatch_state>();
        } else {
            state_ = std::move(dispatch_states.free.back());
            dispatch_states.free.pop_back();
        }
    }
    ~pooled_state()
    {
        if (state_ == nullptr) {
            return;
        }
        state_->ctx.scoped.clear();
        if (dispatch_states.free.size() < 64) {
            dispatch_states.free.push_back(std::move(state_));
        }
    }
    pooled_state(const pooled_state&) = delete;
    pooled_state& operator=(const pooled_state&) = delete;
    detail::dispatch_state& operator*() const noexcept { return *state_; }
    std::unique_ptr<detail::dispatch_state> release() noexcept { return std::move(state_); }

private:
    std::unique_ptr<detail::dispatch_state> state_;
};

// The route dispatch_now() looked up for a request it leaves to dispatch():
// the server calls dispatch() for that request right after, on this thread,
// which takes the lookup over instead of routing again.
struct pending_dispatch {
    const http::request* req = nullptr;
    std::unique_ptr<detail::dispatch_state> state;
};
thread_local pending_dispatch pending;

}  // namespace

task<http::response> app::dispatch(http::request& req) const
{
    const bool routed = pending.req == &req && pending.state != nullptr && pending.state->owner == this;
    pooled_state holder(routed ? std::move(pending.state) : nullptr);
    pending.req = nullptr;
    detail::dispatch_state& st = *holder;
    st.owner = this;
    st.ctx.req = &req;
    st.ctx.services = &services_;
    st.ctx.error_mappings = error_mappings_;
    if (!routed) {
        st.match = router_.find(req.method_name(), req.path());
    }
    st.ctx.params = &st.match.params();
    st.ep = nullptr;  // the state is reused: nothing may survive from the last request
    if (st.match.status() == router::match_status::found) {
        st.ep = *st.match.handler();
        st.chain = &st.ep->chain;
    } else {
        st.chain = &global_chain_;
    }
    std::exception_ptr failure;
    try {
        next first(&st, 0);
        auto t = first(req);
        co_return co_await std::move(t);
    } catch (...) {
        failure = std::current_exception();
    }
    co_return response_for_exception(failure, req, error_mappings_);
}

bool app::dispatch_now(http::request& req, std::optional<http::response>& out) const
{
    pending.req = nullptr;
    if (!frozen_) {
        return false;  // the middleware chains are built by freeze()
    }
    pooled_state holder;
    detail::dispatch_state& st = *holder;
    st.owner = this;
    st.match = router_.find(req.method_name(), req.path());
    const detail::endpoint* ep =
        st.match.status() == router::match_status::found ? *st.match.handler() : nullptr;
    if (ep == nullptr || ep->invoke_now == nullptr || !ep->chain.empty()) {
        // dispatch() runs next for this request and takes the lookup over.
        pending.state = holder.release();
        pending.req = &req;
        return false;
    }
    st.ep = ep;
    st.chain = &ep->chain;
    st.ctx.req = &req;
    st.ctx.services = &services_;
    st.ctx.error_mappings = error_mappings_;
    st.ctx.params = &st.match.params();
    out.emplace(ep->invoke_now(ep->fn.get(), &st.ctx));
    return true;
}

http::handler app::handler()
{
    freeze();
    return [this](http::request& req) { return dispatch(req); };
}

result<http::server> app::serve(net::runtime& rt)
{
    freeze();
    http::server_options options = config_.server;
    options.listen.address = config_.address;
    options.listen.port = config_.port;
    if (has_plain_endpoints_ && !options.handle_now) {
        options.handle_now = [this](http::request& req, std::optional<http::response>& out) {
            return dispatch_now(req, out);
        };
    }
    return http::server::start(rt, options, handler());
}

std::uint16_t app::listen(std::uint16_t port)
{
    config_.port = port;
    return listen();
}

std::uint16_t app::listen()
{
    if (server_) {
        return server_->port();
    }
    freeze();
    if (!runtime_) {
        net::runtime_options o;
        o.threads = config_.threads;
        o.handle_signals = config_.handle_signals;
        o.stop_timeout = config_.stop_timeout;
        runtime_ = std::make_unique<net::runtime>(o);
    }
    auto s = serve(*runtime_);
    if (!s) {
        throw std::system_error(
            s.error(), "covet.web: cannot listen on " + config_.address + ":" + std::to_string(config_.port));
    }
    server_.emplace(std::move(*s));
    return server_->port();
}

void app::run()
{
    listen();
    runtime_->run();
}

void app::start()
{
    listen();
    runtime_->start();
    started_ = true;
}

void app::stop()
{
    if (runtime_) {
        runtime_->request_stop();
        if (started_) {
            runtime_->join();
            started_ = false;
        }
    }
}

std::uint16_t app::port() const noexcept
{
    return server_ ? server_->port() : 0;
}

}  // namespace covet::web
