#pragma once
// Handler parameter kinds of covet::web. A typed handler declares what it
// needs by the types of its parameters, and the app fills them in per request:
//
//   app.get("/users/{id:int}", [](web::path<int> id, web::query<std::optional<int>, "page"> page,
//                                 web::header<std::string, "X-Token"> token, web::inject<db> d)
//                                 -> task<user> { ... });
//
//   path<T>            the i-th path<> parameter gets the route's i-th {param}
//                      (in order of appearance in the pattern), percent-decoded
//   query<T, "name">   the query parameter `name` (decoded); T may be std::optional
//   header<T, "Name">  the first field `Name` (case-insensitive); T may be std::optional
//   body<T>            the request body parsed as JSON into T (COVET_REFLECT), validated
//   inject<T>          a service registered on the app (app-wide or per request)
//   http::request&     the raw request
//
// T for path/query/header: bool, any integer, float, double, std::string, or
// std::optional of those (optional means "may be absent"). A value that does not
// convert, or a required value that is absent, is a 422 listing every problem.
//
// All wrappers behave like a pointer to their value: `*id`, `id->size()`, `id.value`.

#include <algorithm>
#include <cstddef>
#include <memory>
#include <string_view>
#include <utility>

namespace covet::web {

/// A string usable as a template argument: `query<int, "page">`.
template <std::size_t N>
struct fixed_string {
    char chars[N]{};
    constexpr fixed_string(const char (&s)[N]) noexcept { std::copy_n(s, N, chars); }  // NOLINT
    constexpr std::string_view view() const noexcept { return {chars, N - 1}; }
};

namespace detail {
/// The storage and accessors shared by the parameter wrappers.
template <class T>
struct basic_param {
    using value_type = T;
    T value{};

    basic_param() = default;
    explicit basic_param(T v) : value(std::move(v)) {}

    T& operator*() & noexcept { return value; }
    const T& operator*() const& noexcept { return value; }
    T&& operator*() && noexcept { return std::move(value); }
    T* operator->() noexcept { return &value; }
    const T* operator->() const noexcept { return &value; }
};
}  // namespace detail

/// A path parameter: the i-th `path<>` of a handler is the route's i-th parameter.
template <class T>
struct path : detail::basic_param<T> {
    using detail::basic_param<T>::basic_param;
};

/// The query parameter `Name`, percent-decoded ('+' as space).
template <class T, fixed_string Name>
struct query : detail::basic_param<T> {
    using detail::basic_param<T>::basic_param;
    static constexpr std::string_view name = Name.view();
};

/// The header field `Name` (case-insensitive lookup, first occurrence).
template <class T, fixed_string Name>
struct header : detail::basic_param<T> {
    using detail::basic_param<T>::basic_param;
    static constexpr std::string_view name = Name.view();
};

/// The request body, parsed as JSON into a COVET_REFLECT type and validated.
template <class T>
struct body : detail::basic_param<T> {
    using detail::basic_param<T>::basic_param;
};

/// A service registered on the app: app-wide (`app.provide(shared_ptr<T>)`,
/// shared by every request and thread: make it thread-safe) or per request
/// (`app.provide_per_request(factory)`, made anew for each request that asks).
/// Valid for the handler's whole execution; copies share the service.
template <class T>
class inject {
public:
    inject() = default;
    inject(T* service, std::shared_ptr<T> owner) noexcept : ptr_(service), owner_(std::move(owner)) {}

    T& operator*() const noexcept { return *ptr_; }
    T* operator->() const noexcept { return ptr_; }
    T* get() const noexcept { return ptr_; }

private:
    T* ptr_ = nullptr;
    std::shared_ptr<T> owner_;  // set for per-request services
};

}  // namespace covet::web
