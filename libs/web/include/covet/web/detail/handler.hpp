#pragma once
// Typed handlers: the compile-time inspection of a callable's parameters and
// return type, the per-request extraction of each parameter, and the invoker
// that turns the return value into a response. See covet/web/params.hpp for
// the user-facing rules.

#include <covet/http/error.hpp>
#include <covet/http/request.hpp>
#include <covet/http/response.hpp>
#include <covet/json/read.hpp>
#include <covet/json/reflect.hpp>
#include <covet/json/value.hpp>
#include <covet/json/write.hpp>
#include <covet/json/writer.hpp>
#include <covet/net/task.hpp>
#include <covet/router/percent.hpp>
#include <covet/web/detail/types.hpp>
#include <covet/web/errors.hpp>
#include <covet/web/params.hpp>

#include <array>
#include <charconv>
#include <cstddef>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace covet::web::detail {

template <class>
inline constexpr bool always_false = false;

template <class... A>
struct type_list {
};

// ------------------------------------------------------------ callable traits

template <bool Const, class R, class... A>
struct fn_traits {
    static constexpr bool valid = true;
    static constexpr bool is_const = Const;
    using result = R;
    using args = type_list<A...>;
};

template <class F, class = void>
struct callable_traits {
    static constexpr bool valid = false;
    static constexpr bool is_const = true;
    using result = void;
    using args = type_list<>;
};
template <class R, class... A>
struct callable_traits<R (*)(A...), void> : fn_traits<true, R, A...> {
};
template <class R, class... A>
struct callable_traits<R (*)(A...) noexcept, void> : fn_traits<true, R, A...> {
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const, void> : fn_traits<true, R, A...> {
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const noexcept, void> : fn_traits<true, R, A...> {
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...), void> : fn_traits<false, R, A...> {
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) noexcept, void> : fn_traits<false, R, A...> {
};
template <class F>
struct callable_traits<F, std::void_t<decltype(&F::operator())>> : callable_traits<decltype(&F::operator())> {
};

template <class T>
struct task_traits {
    static constexpr bool is_task = false;
    using type = T;
};
template <class T>
struct task_traits<task<T>> {
    static constexpr bool is_task = true;
    using type = T;
};

// ------------------------------------------------------------ parameter kinds

enum class param_kind { unsupported, path, query, header, body, request, inject };

template <class T>
struct param_traits {
    static constexpr param_kind kind = param_kind::unsupported;
};
template <class T>
struct param_traits<web::path<T>> {
    static constexpr param_kind kind = param_kind::path;
    using value_type = T;
};
template <class T, fixed_string N>
struct param_traits<web::query<T, N>> {
    static constexpr param_kind kind = param_kind::query;
    using value_type = T;
};
template <class T, fixed_string N>
struct param_traits<web::header<T, N>> {
    static constexpr param_kind kind = param_kind::header;
    using value_type = T;
};
template <class T>
struct param_traits<web::body<T>> {
    static constexpr param_kind kind = param_kind::body;
    using value_type = T;
};
template <>
struct param_traits<http::request> {
    static constexpr param_kind kind = param_kind::request;
};
template <class T>
struct param_traits<web::inject<T>> {
    static constexpr param_kind kind = param_kind::inject;
    using value_type = T;
};

template <class A>
inline constexpr param_kind kind_of = param_traits<std::remove_cvref_t<A>>::kind;

template <class T>
struct is_optional : std::false_type {
};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {
};

template <class T>
inline constexpr bool is_scalar_value =
    std::is_same_v<T, bool> || std::is_integral_v<T> || std::is_same_v<T, float> ||
    std::is_same_v<T, double> || std::is_same_v<T, std::string>;

template <class T>
struct scalar_of {
    using type = T;
};
template <class T>
struct scalar_of<std::optional<T>> {
    using type = T;
};

// What a handler may return (besides http::response, std::string and void).
template <class T>
struct is_json_result
    : std::bool_constant<json::reflected<T> || json::reflected_variant<T> || std::is_same_v<T, json::value>> {
};
template <class T, class A>
struct is_json_result<std::vector<T, A>>
    : std::bool_constant<is_json_result<T>::value || std::is_arithmetic_v<T> ||
                         std::is_same_v<T, std::string>> {
};
template <class T>
struct is_json_result<std::optional<T>> : is_json_result<T> {
};
template <class V, class C, class A>
struct is_json_result<std::map<std::string, V, C, A>>
    : std::bool_constant<is_json_result<V>::value || std::is_arithmetic_v<V> ||
                         std::is_same_v<V, std::string>> {
};

/// Checks one parameter type; fails to compile with a message naming the problem.
template <class A>
constexpr bool check_param()
{
    constexpr param_kind k = kind_of<A>;
    static_assert(k != param_kind::unsupported,
                  "covet::web: unsupported handler parameter type. A handler (or dependency factory) "
                  "parameter must be web::path<T>, web::query<T, \"name\">, web::header<T, \"Name\">, "
                  "web::body<T>, web::inject<T> or http::request&.");
    if constexpr (k == param_kind::path || k == param_kind::query || k == param_kind::header) {
        using T = typename param_traits<std::remove_cvref_t<A>>::value_type;
        static_assert(is_scalar_value<typename scalar_of<T>::type>,
                      "covet::web: path<T>, query<T, name> and header<T, name> take T = bool, an integer "
                      "type, float, double, std::string, or std::optional of one of those.");
        static_assert(
            k != param_kind::path || !is_optional<T>::value,
            "covet::web: path<std::optional<T>> makes no sense: a path parameter is always present.");
    }
    if constexpr (k == param_kind::body) {
        using T = typename param_traits<std::remove_cvref_t<A>>::value_type;
        static_assert(
            json::reflected<T> || json::reflected_variant<T> || std::is_same_v<T, json::value>,
            "covet::web: body<T> needs a type declared with COVET_REFLECT (or COVET_REFLECT_VARIANT, "
            "or json::value).");
        static_assert(std::is_default_constructible_v<T>,
                      "covet::web: body<T> needs a default-constructible T.");
    }
    if constexpr (k == param_kind::request) {
        static_assert(std::is_reference_v<A>, "covet::web: take the request as http::request& (or const&).");
    }
    return true;
}

template <class R, bool Endpoint>
constexpr bool check_result()
{
    static_assert(!Endpoint || std::is_void_v<R> || std::is_same_v<R, http::response> ||
                      std::is_same_v<R, std::string> || is_json_result<R>::value,
                  "covet::web: a handler returns (or co_returns, via task<X>) http::response, std::string "
                  "(text/plain), void (204 No Content), or a JSON-writable value: a COVET_REFLECT struct, a "
                  "reflected variant, json::value, or a std::vector/std::optional/std::map of those. "
                  "string_view and const char* are not accepted (lifetime): use std::string or "
                  "http::response::static_text.");
    return true;
}

template <class L>
struct signature_args;
template <class... A>
struct signature_args<type_list<A...>> {
    static constexpr bool ok = (check_param<A>() && ...);
    static constexpr std::size_t path_count = ((kind_of<A> == param_kind::path ? 1 : 0) + ... + 0);
    static constexpr std::size_t inject_count = ((kind_of<A> == param_kind::inject ? 1 : 0) + ... + 0);
    static constexpr std::array<param_kind, sizeof...(A)> kinds{kind_of<A>...};
};

template <class T>
struct is_shared_ptr : std::false_type {
};
template <class T>
struct is_shared_ptr<std::shared_ptr<T>> : std::true_type {
};

/// The service type a factory returning R provides: T for T and std::shared_ptr<T>.
template <class R>
struct service_type {
    using type = R;
};
template <class T>
struct service_type<std::shared_ptr<T>> {
    using type = T;
};

/// Everything the app needs to know about a handler (Endpoint) or dependency
/// factory (!Endpoint) type F, checked at compile time.
template <class F, bool Endpoint = true>
struct handler_info {
    using traits = callable_traits<F>;
    static_assert(traits::valid,
                  "covet::web: a handler must be a function, a function pointer, or a lambda/function object "
                  "with exactly one non-template operator() (a generic lambda with `auto` parameters cannot "
                  "be inspected: spell out the parameter types).");
    static_assert(traits::is_const,
                  "covet::web: handlers are shared by every worker thread: a mutable lambda or a non-const "
                  "operator() is not allowed.");
    using raw_result = typename traits::result;
    static constexpr bool is_task = task_traits<raw_result>::is_task;
    using result = typename task_traits<raw_result>::type;
    static_assert(check_result<result, Endpoint>());
    static_assert(Endpoint || !std::is_void_v<result>,
                  "covet::web: a dependency factory must return the service (T, std::shared_ptr<T>, or a "
                  "task of one of those), not void.");
    using args = signature_args<typename traits::args>;
    static_assert(args::ok);
};

// ------------------------------------------------------------ conversion

/// Converts a text value to T; false (with pydantic-style msg/type) on failure.
template <class T>
bool convert(std::string_view in, T& out, std::string& msg, std::string& type)
{
    if constexpr (std::is_same_v<T, std::string>) {
        out.assign(in);
        return true;
    } else if constexpr (std::is_same_v<T, bool>) {
        if (in == "true" || in == "1" || in == "on" || in == "yes" || in == "True") {
            out = true;
            return true;
        }
        if (in == "false" || in == "0" || in == "off" || in == "no" || in == "False") {
            out = false;
            return true;
        }
        msg = "Input should be a valid boolean, unable to interpret input";
        type = "bool_parsing";
        return false;
    } else if constexpr (std::is_integral_v<T>) {
        const char* first = in.data();
        if (!in.empty() && in.front() == '+') {
            ++first;
        }
        auto [end, ec] = std::from_chars(first, in.data() + in.size(), out);
        if (in.empty() || ec == std::errc::invalid_argument || end != in.data() + in.size()) {
            msg = "Input should be a valid integer, unable to parse string as an integer";
            type = "int_parsing";
            return false;
        }
        if (ec == std::errc::result_out_of_range) {
            msg = "Input should be a valid integer, out of range for " + std::string(type_name<T>());
            type = "int_parsing";
            return false;
        }
        return true;
    } else {
        auto [end, ec] = std::from_chars(in.data(), in.data() + in.size(), out);
        if (in.empty() || ec != std::errc{} || end != in.data() + in.size()) {
            msg = "Input should be a valid number, unable to parse string as a number";
            type = "float_parsing";
            return false;
        }
        return true;
    }
}

inline void add_error(std::vector<field_error>& errors, std::string_view where, std::string_view name,
                      std::string msg, std::string type)
{
    field_error e;
    e.loc.emplace_back(std::string(where));
    e.loc.emplace_back(std::string(name));
    e.msg = std::move(msg);
    e.type = std::move(type);
    errors.push_back(std::move(e));
}

/// Fills `out` (T or std::optional<T>) from an optional text value.
template <class V>
void from_text(std::optional<std::string_view> text, V& out, std::vector<field_error>& errors,
               std::string_view where, std::string_view name)
{
    using T = typename scalar_of<V>::type;
    std::string msg;
    std::string type;
    if (!text) {
        if constexpr (!is_optional<V>::value) {
            add_error(errors, where, name, "Field required", "missing");
        }
        return;
    }
    T value{};
    if (!convert(*text, value, msg, type)) {
        add_error(errors, where, name, std::move(msg), std::move(type));
        return;
    }
    out = std::move(value);
}

void check_json_content_type(const http::request& req);
json::reader& body_reader();
json::writer& response_writer();

/// Holds one argument between extraction and the call.
template <class A, param_kind K = kind_of<A>>
struct holder {
    using W = std::remove_cvref_t<A>;
    W value{};
    decltype(auto) get()
    {
        if constexpr (std::is_lvalue_reference_v<A>) {
            return (value);
        } else {
            return std::move(value);
        }
    }
};
template <class A>
struct holder<A, param_kind::request> {
    http::request* req = nullptr;
    http::request& get() const noexcept { return *req; }
};
template <class A>
struct holder<A, param_kind::inject> {
    using T = typename param_traits<std::remove_cvref_t<A>>::value_type;
    inject_slot slot;
    web::inject<T> value{};
    decltype(auto) get()
    {
        value = web::inject<T>(static_cast<T*>(slot.ptr), std::static_pointer_cast<T>(slot.owner));
        if constexpr (std::is_lvalue_reference_v<A>) {
            return (value);
        } else {
            return std::move(value);
        }
    }
};

template <class A>
void extract(holder<A>& h, request_context& ctx, std::size_t path_index, std::vector<field_error>& errors)
{
    constexpr param_kind k = kind_of<A>;
    using W = std::remove_cvref_t<A>;
    http::request& req = *ctx.req;
    if constexpr (k == param_kind::request) {
        h.req = &req;
    } else if constexpr (k == param_kind::inject) {
        // resolved afterwards (may suspend)
    } else if constexpr (k == param_kind::path) {
        const router::params& p = *ctx.params;
        const std::string_view name = path_index < p.size() ? p.name(path_index) : std::string_view("?");
        if (path_index >= p.size()) {
            add_error(errors, "path", name, "Field required", "missing");
            return;
        }
        std::string_view raw = p[path_index];
        std::string decoded;
        if (raw.find('%') != std::string_view::npos) {
            if (!router::percent_decode(raw, decoded)) {
                add_error(errors, "path", name, "Input should be a valid string, malformed percent-encoding",
                          "string_type");
                return;
            }
            raw = decoded;
        }
        from_text(std::optional<std::string_view>(raw), h.value.value, errors, "path", name);
    } else if constexpr (k == param_kind::query) {
        std::optional<std::string> q = req.query(W::name);
        std::optional<std::string_view> text;
        if (q) {
            text = *q;
        }
        from_text(text, h.value.value, errors, "query", W::name);
    } else if constexpr (k == param_kind::header) {
        std::optional<std::string_view> text;
        if (req.has_header(W::name)) {
            text = req.header(W::name);
        }
        from_text(text, h.value.value, errors, "header", W::name);
    } else if constexpr (k == param_kind::body) {
        using T = typename param_traits<W>::value_type;
        check_json_content_type(req);
        if (req.body().empty()) {
            field_error e;
            e.loc.emplace_back(std::string("body"));
            e.msg = "Field required";
            e.type = "missing";
            errors.push_back(std::move(e));
            return;
        }
        json::error_list body_errors = body_reader().parse_into<T>(req.body(), h.value.value);
        if (!body_errors.empty()) {
            auto converted = from_json_errors(body_errors, "body");
            errors.insert(errors.end(), std::make_move_iterator(converted.begin()),
                          std::make_move_iterator(converted.end()));
        }
    }
}

template <class... A>
using holders_t = std::tuple<holder<A>...>;

template <class L>
struct holders_of;
template <class... A>
struct holders_of<type_list<A...>> {
    using type = holders_t<A...>;
};

/// Extracts every non-injected argument; throws validation_error listing every problem.
template <class... A, std::size_t... I>
void extract_all(holders_t<A...>& h, request_context& ctx, std::index_sequence<I...>)
{
    constexpr std::array<param_kind, sizeof...(A)> kinds{kind_of<A>...};
    constexpr auto path_index = [](std::size_t i, const std::array<param_kind, sizeof...(A)>& ks) {
        std::size_t n = 0;
        for (std::size_t j = 0; j < i; ++j) {
            n += ks[j] == param_kind::path ? 1 : 0;
        }
        return n;
    };
    std::vector<field_error> errors;
    (extract<A>(std::get<I>(h), ctx, path_index(I, kinds), errors), ...);
    if (!errors.empty()) {
        throw validation_error(std::move(errors));
    }
}

struct inject_ref {
    const void* key = nullptr;
    inject_slot* slot = nullptr;
};

template <class A>
void collect_inject(holder<A>& h, inject_ref*& out)
{
    if constexpr (kind_of<A> == param_kind::inject) {
        using T = typename param_traits<std::remove_cvref_t<A>>::value_type;
        *out++ = {type_key<T>, &h.slot};
    }
}

/// Resolves every inject<T> argument (app-wide at once; per request may suspend).
template <std::size_t N, class... A>
task<void> resolve_all(holders_t<A...>* h, request_context* ctx)
{
    std::array<inject_ref, N> refs{};
    inject_ref* out = refs.data();
    std::apply([&out](auto&... x) { (collect_inject(x, out), ...); }, *h);
    for (auto& r : refs) {
        if (!resolve_now(r.key, *r.slot, *ctx)) {
            co_await resolve_async(r.key, r.slot, ctx);
        }
    }
}

/// The inject keys a handler needs, for the check at freeze.
template <class L>
struct needs_of;
template <class... A>
struct needs_of<type_list<A...>> {
    template <class X>
    static void add(std::vector<std::pair<const void*, std::string_view>>& out)
    {
        if constexpr (kind_of<X> == param_kind::inject) {
            using T = typename param_traits<std::remove_cvref_t<X>>::value_type;
            out.emplace_back(type_key<T>, type_name<T>());
        }
    }
    static std::vector<std::pair<const void*, std::string_view>> get()
    {
        std::vector<std::pair<const void*, std::string_view>> out;
        (add<A>(out), ...);
        return out;
    }
};

template <class F, class H>
decltype(auto) call_with(const F& f, H& h)
{
    return std::apply([&f](auto&... x) -> decltype(auto) { return f(x.get()...); }, h);
}

/// The response for a handler's return value.
template <class R>
http::response to_response(R&& r)
{
    using D = std::remove_cvref_t<R>;
    if constexpr (std::is_same_v<D, http::response>) {
        return std::forward<R>(r);
    } else if constexpr (std::is_same_v<D, std::string>) {
        return http::response::text(std::forward<R>(r));
    } else {
        json::writer& w = response_writer();
        w.clear();
        json::write(w, r);
        return http::response::json_bytes(std::string(w.view()));
    }
}

/// Extracts, resolves and calls F; returns what F returns (unwrapped). Used
/// for dependency factories; throws what extraction or F throws.
template <class F>
task<typename handler_info<F, false>::result> call_typed(const void* fn, request_context* ctx)
{
    using info = handler_info<F, false>;
    using R = typename info::result;
    const F& f = *static_cast<const F*>(fn);
    using H = typename holders_of<typename callable_traits<F>::args>::type;
    H h;
    extract_all(h, *ctx, std::make_index_sequence<std::tuple_size_v<H>>{});
    if constexpr (info::args::inject_count > 0) {
        co_await resolve_all<info::args::inject_count>(&h, ctx);
    }
    if constexpr (info::is_task) {
        auto t = call_with(f, h);
        if constexpr (std::is_void_v<R>) {
            co_await std::move(t);
        } else {
            co_return co_await std::move(t);
        }
    } else if constexpr (std::is_void_v<R>) {
        call_with(f, h);
    } else {
        co_return call_with(f, h);
    }
}

/// invoke_endpoint() below for a plain handler (not a coroutine, nothing
/// injected), without a coroutine frame (app::dispatch_now).
template <class F>
http::response invoke_endpoint_now(const void* fn, request_context* ctx)
{
    using info = handler_info<F>;
    using R = typename info::result;
    using H = typename holders_of<typename callable_traits<F>::args>::type;
    static_assert(!info::is_task && info::args::inject_count == 0);
    const F& f = *static_cast<const F*>(fn);
    std::exception_ptr failure;
    try {
        H h;
        if constexpr (std::tuple_size_v<H> != 0) {
            extract_all(h, *ctx, std::make_index_sequence<std::tuple_size_v<H>>{});
        }
        if constexpr (std::is_void_v<R>) {
            call_with(f, h);
            return http::response::no_content();
        } else {
            return to_response(call_with(f, h));
        }
    } catch (...) {
        failure = std::current_exception();
    }
    return response_for_exception(failure, *ctx->req, ctx->error_mappings);
}

/// The endpoint invoker: call_typed plus the conversion of the result and of
/// every exception into a response (so that middleware sees error responses).
template <class F>
task<http::response> invoke_endpoint(const void* fn, request_context* ctx)
{
    using info = handler_info<F>;
    if constexpr (!info::is_task && info::args::inject_count == 0) {
        co_return invoke_endpoint_now<F>(fn, ctx);
    } else {
        using R = typename info::result;
        using H = typename holders_of<typename callable_traits<F>::args>::type;
        const F& f = *static_cast<const F*>(fn);
        std::exception_ptr failure;
        try {
            H h;
            if constexpr (std::tuple_size_v<H> != 0) {
                extract_all(h, *ctx, std::make_index_sequence<std::tuple_size_v<H>>{});
            }
            if constexpr (info::args::inject_count > 0) {
                co_await resolve_all<info::args::inject_count>(&h, ctx);
            }
            if constexpr (info::is_task) {
                auto t = call_with(f, h);
                if constexpr (std::is_void_v<R>) {
                    co_await std::move(t);
                    co_return http::response::no_content();
                } else {
                    R r = co_await std::move(t);
                    co_return to_response(std::move(r));
                }
            } else if constexpr (std::is_void_v<R>) {
                call_with(f, h);
                co_return http::response::no_content();
            } else {
                co_return to_response(call_with(f, h));
            }
        } catch (...) {
            failure = std::current_exception();
        }
        co_return response_for_exception(failure, *ctx->req, ctx->error_mappings);
    }
}

/// Makes a per-request service with factory F (returning T, std::shared_ptr<T>, or a task of either).
template <class F>
task<std::shared_ptr<void>> make_service(const void* fn, request_context* ctx)
{
    using R = typename handler_info<F, false>::result;
    R r = co_await call_typed<F>(fn, ctx);
    if constexpr (is_shared_ptr<R>::value) {
        co_return std::static_pointer_cast<void>(std::move(r));
    } else {
        co_return std::static_pointer_cast<void>(std::make_shared<R>(std::move(r)));
    }
}

}  // namespace covet::web::detail
