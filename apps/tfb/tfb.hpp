#pragma once
// The TechEmpower Framework Benchmarks endpoints on covet::web, shared by
// covet_tfb (main.cpp) and its test. Rules followed
// (https://github.com/TechEmpower/FrameworkBenchmarks/wiki/Project-Information-Framework-Tests-Overview):
//  - /plaintext: "Hello, World!" as text/plain, no per-request computation required;
//  - /json: {"message":"Hello, World!"} as application/json, serialized for
//    every request from a freshly built object (no cached body);
//  - Server and Date headers on every response (the http engine adds them;
//    Date is formatted once per second per worker).
// The database endpoints come with covet::orm.

#include <covet/json/json.hpp>
#include <covet/web/app.hpp>

#include <string>

namespace covet::tfb {

struct message {
    std::string message;
};
COVET_REFLECT(message, message);

/// The configuration TFB wants: no compression, Server: covet.
inline web::config make_config(std::uint16_t port, std::size_t threads)
{
    web::config cfg;
    cfg.port = port;
    cfg.threads = threads;
    cfg.server.compression.enabled = false;
    cfg.server.server_name = "covet";
    return cfg;
}

inline void add_routes(web::app& app)
{
    // Non-coroutine handlers: the dispatch path adds no frame for them.
    app.get("/plaintext", [] {
        http::response r;
        r.set_static_body("Hello, World!");
        r.set_content_type("text/plain");
        return r;
    });
    app.get("/json", [] { return message{"Hello, World!"}; });
}

}  // namespace covet::tfb
