#pragma once
// The chat application: a page at /, rooms at /chat/{room} (WebSocket, one
// ws::hub shared by every worker), an echo endpoint at /ws/echo for
// conformance clients, and /rooms/{room} with the room's presence count.
//
// Protocol of /chat/{room}: the client sends text lines; the server broadcasts
// each to everyone in the room (the sender included) as "name: text", and
// "* name joined (N online)" / "* name left (N online)" when people come and go.
// The name comes from the ?name= query (default "anonymous").

#include <covet/web/app.hpp>
#include <covet/web/ws.hpp>

#include <memory>

namespace covet::chat {

/// Registers the routes; `rooms` must outlive the app's runtime.
void add_routes(web::app& app, std::shared_ptr<ws::hub> rooms);

}  // namespace covet::chat
