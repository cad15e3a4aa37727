// covet_chat: chat rooms over WebSockets with a small page, plus /ws/echo.
//   covet_chat [--address A] [--port P] [--threads N]
// Defaults: 0.0.0.0:8080; COVET_* environment variables are read first; flags win.
#include "chat.hpp"

#include "app_args.hpp"

#include <cstdio>
#include <exception>
#include <memory>

int main(int argc, char** argv)
{
    covet::web::app app;
    if (!covet::apps::configure_app(app, argc, argv, "covet_chat",
                                    "covet_chat [--address A] [--port P] [--threads N]")) {
        return 2;
    }
    auto& cfg = app.config();
    auto rooms = std::make_shared<covet::ws::hub>();
    covet::chat::add_routes(app, rooms);
    try {
        const auto port = app.listen();
        std::printf("covet_chat: http://%s:%u/ (rooms at /chat/{room}, echo at /ws/echo) with %zu threads\n",
                    cfg.address.c_str(), port, app.runtime()->size());
        std::fflush(stdout);
        app.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_chat: %s\n", e.what());
        return 1;
    }
    return 0;
}
