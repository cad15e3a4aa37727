#pragma once
// web::config: everything an app needs to start, settable from code, from a
// key=value file and from environment variables. Later sources override
// earlier ones in the order you apply them; a typical main():
//
//   web::config cfg;                       // defaults
//   cfg.port = 8000;                       // code
//   cfg.load_file("app.conf");             // file:  port = 9000
//   cfg.load_env("COVET_");                // env:   COVET_PORT=9001
//
// Keys (file: as written; environment: prefix + upper case, e.g. COVET_MAX_BODY):
//   address, port, threads, server_name, compression (true/false),
//   max_body, max_headers, max_header_line, max_head_bytes, max_request_line,
//   header_timeout_ms, body_timeout_ms, keep_alive_timeout_ms, write_timeout_ms,
//   max_connections_per_worker, stop_timeout_ms, handle_signals (true/false)
// An unknown key or a malformed value throws std::invalid_argument naming it
// (for a file, with its line number): configuration mistakes stop start-up.

#include <covet/http/server.hpp>
#include <covet/router/types.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace covet::web {

struct config {
    std::string address = "0.0.0.0";
    std::uint16_t port = 8080;
    /// Worker threads; 0 = hardware threads.
    std::size_t threads = 0;
    /// SIGINT/SIGTERM stop the app gracefully (app::run()).
    bool handle_signals = true;
    /// How long a graceful stop waits for in-flight requests.
    std::chrono::milliseconds stop_timeout{10'000};
    /// Limits, timeouts, Server header, compression of the http engine. Its
    /// listen address and port are taken from `address` and `port` above.
    http::server_options server = default_server_options();
    /// Trailing-slash policy, HEAD from GET, automatic OPTIONS.
    router::options routing{};

    /// Sets one key (see the list at the top). Throws std::invalid_argument.
    void set(std::string_view key, std::string_view value);
    /// Reads `key = value` lines; '#' starts a comment; blank lines are skipped.
    void load_file(const std::string& path);
    /// Applies the same lines from a string (what load_file reads).
    void load_string(std::string_view text, std::string_view source = "<string>");
    /// For every key, applies the environment variable prefix + KEY if set.
    void load_env(std::string_view prefix = "COVET_");

    /// The web layer compresses large compressible responses by default.
    static http::server_options default_server_options()
    {
        http::server_options o;
        o.compression.enabled = true;
        return o;
    }
};

}  // namespace covet::web
