#pragma once
// app.ws(): WebSocket endpoints in a covet::web app. Include this header and
// link covet::ws (an app without WebSockets needs neither).
//
//   app.ws("/chat/{room}", [](ws::connection conn, web::path<std::string> room,
//                             web::inject<ws::hub> hub) -> task<void> {
//       auto member = hub->join(*room, conn);
//       for (;;) {
//           auto msg = co_await conn.read();
//           if (!msg) break;
//           hub->publish(*room, msg->type, std::move(msg->data));
//       }
//   });
//
// The route is a GET route: middleware runs before the handshake (so CORS,
// auth and rate limits apply), then ws::accept() answers 101 or the error
// (400, 426, 403), and `fn` runs on the connection's worker with copies of
// its typed parameters.

#include <covet/web/app.hpp>
#include <covet/ws/handshake.hpp>
#include <covet/ws/hub.hpp>

#include <memory>
#include <type_traits>
#include <utility>

namespace covet::web::detail {

template <class F, class Enable>
struct ws_endpoint {
    static_assert(callable_traits<F>::valid, "covet::web: app.ws() needs a callable (not a generic lambda)");

    template <class... Rest>
    static auto build(type_list<ws::connection, Rest...>, std::shared_ptr<const F> fn,
                      ws::accept_options options)
    {
        static_assert(
            (!std::is_reference_v<Rest> && ...),
            "covet::web: a WebSocket handler takes its parameters by value (they outlive the request; "
            "http::request& is not available after the handshake)");
        return [fn, options](http::request& req, Rest... rest) -> http::response {
            return ws::accept(req, options,
                              [fn, rest...](ws::connection conn) { return (*fn)(std::move(conn), rest...); });
        };
    }

    template <class... A>
    static auto build(type_list<A...>, std::shared_ptr<const F>, ws::accept_options)
    {
        static_assert(sizeof(F) == 0,
                      "covet::web: a WebSocket handler's first parameter is ws::connection (by value)");
        return [](http::request&) -> http::response { return http::response(); };
    }

    static auto make(F fn, ws::accept_options options = {})
    {
        return build(typename callable_traits<F>::args{}, std::make_shared<const F>(std::move(fn)),
                     std::move(options));
    }
};

}  // namespace covet::web::detail
