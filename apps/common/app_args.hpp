#pragma once
// The command line of the example apps: COVET_* environment variables first,
// then --address A, --port P, --threads N (applied through web::config::set,
// so they are checked like the variables) and the app's own `--name value`
// flags. One parser for covet_chat, covet_tfb and covet_todo.

#include <covet/web/app.hpp>

#include <cstdio>
#include <exception>
#include <initializer_list>
#include <string>
#include <string_view>

namespace covet::apps {

/// An app-specific flag: `--name value` stores value in *value.
struct flag {
    std::string_view name;
    std::string* value;
};

/// Configures `app` from the environment and `argv`. On an unknown flag, a
/// missing or bad value, prints "<program>: <problem>" and "usage: <usage>"
/// to stderr and returns false (exit with 2).
inline bool configure_app(web::app& app, int argc, char** argv, std::string_view program,
                          std::string_view usage, std::initializer_list<flag> extra = {})
{
    std::string problem;
    try {
        app.configure_from_env("COVET_");
        for (int i = 1; i < argc && problem.empty(); i += 2) {
            const std::string_view arg = argv[i];
            if (i + 1 >= argc) {
                problem = std::string(arg) + " needs a value";
                break;
            }
            const std::string_view value = argv[i + 1];
            if (arg == "--address" || arg == "--port" || arg == "--threads") {
                app.config().set(arg.substr(2), value);
                continue;
            }
            problem = "unknown option " + std::string(arg);
            for (const flag& f : extra) {
                if (arg.substr(0, 2) == "--" && arg.substr(2) == f.name) {
                    *f.value = std::string(value);
                    problem.clear();
                }
            }
        }
    } catch (const std::exception& e) {
        problem = e.what();
    }
    if (problem.empty()) {
        return true;
    }
    std::fprintf(stderr, "%.*s: %s\nusage: %.*s\n", static_cast<int>(program.size()), program.data(),
                 problem.c_str(), static_cast<int>(usage.size()), usage.data());
    return false;
}

}  // namespace covet::apps
