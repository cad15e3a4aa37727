// covet_chat: chat rooms over WebSockets with a small page, plus /ws/echo.
//   covet_chat [--address A] [--port P] [--threads N]
// Defaults: 0.0.0.0:8080; COVET_* environment variables are read first; flags win.
#include "chat.hpp"

#include <charconv>
#include <cstdio>
#include <exception>
#include <string_view>

namespace {

template <class T>
bool parse_number(std::string_view text, T& out)
{
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv)
{
    covet::web::app app;
    try {
        app.configure_from_env("COVET_");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_chat: %s\n", e.what());
        return 2;
    }
    auto& cfg = app.config();
    for (int i = 1; i < argc; i += 2) {
        const std::string_view arg = argv[i];
        const std::string_view value = i + 1 < argc ? argv[i + 1] : "";
        bool ok = i + 1 < argc;
        if (arg == "--port") {
            ok = ok && parse_number(value, cfg.port);
        } else if (arg == "--threads") {
            ok = ok && parse_number(value, cfg.threads);
        } else if (arg == "--address") {
            cfg.address = std::string(value);
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr, "usage: covet_chat [--address A] [--port P] [--threads N]\n");
            return 2;
        }
    }
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
