// covet_tfb: the TechEmpower Framework Benchmarks application.
//   covet_tfb [--address A] [--port P] [--threads N]
// Defaults: 0.0.0.0:8080, one worker per hardware thread. COVET_* environment
// variables (COVET_PORT, COVET_THREADS, ...) are read first; flags win.
#include "tfb.hpp"

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
    covet::web::app app(covet::tfb::make_config(8080, 0));
    try {
        app.configure_from_env("COVET_");
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_tfb: %s\n", e.what());
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
            std::fprintf(stderr, "usage: covet_tfb [--address A] [--port P] [--threads N]\n");
            return 2;
        }
    }
    covet::tfb::add_routes(app);
    try {
        const auto port = app.listen();
        std::printf("covet_tfb: http://%s:%u/ (/plaintext, /json) with %zu threads; Ctrl-C stops\n",
                    cfg.address.c_str(), port, app.runtime()->size());
        std::fflush(stdout);
        app.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_tfb: %s\n", e.what());
        return 1;
    }
    return 0;
}
