#pragma once
// covet::task<T>: the one coroutine type of every covet API. Today it is an
// alias of asio::awaitable<T>, so covet composes with any Asio-based code; the
// name stays covet::task everywhere so that an own task type can replace it.
//
// covet::net::nothrow is the completion token that turns an Asio operation's
// (error_code, values...) into a tuple instead of a thrown system_error: hot
// paths never throw for expected failures.

#include <asio/awaitable.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/version.hpp>

#if ASIO_VERSION >= 102400
#include <asio/as_tuple.hpp>
#else
#include <asio/experimental/as_tuple.hpp>
#endif

namespace covet {

template <class T = void>
using task = asio::awaitable<T>;

namespace net {

#if ASIO_VERSION >= 102400
inline constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);
#else
// Debian 12 ships Asio 1.22, where as_tuple is still experimental.
inline constexpr auto nothrow = asio::experimental::as_tuple(asio::use_awaitable);
#endif

}  // namespace net
}  // namespace covet
