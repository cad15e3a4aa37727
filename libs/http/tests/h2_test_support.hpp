#pragma once
// An HTTP/2 test server (same server, a handler with routes for the h2 tests)
// and helpers to run curl and nghttp against it.

#include <covet/http/server.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/net/tls.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

namespace covet::http::testing {

using namespace std::chrono_literals;

inline std::atomic<int> in_flight{0};
inline std::atomic<int> max_in_flight{0};
inline std::atomic<int> handlers_cancelled{0};
inline std::atomic<int> handlers_started{0};

/// A file of `bytes` pseudo-random bytes, removed on destruction.
struct temp_file {
    explicit temp_file(std::size_t bytes) : size(bytes)
    {
        static std::atomic<int> counter{0};
        path = (std::filesystem::temp_directory_path() /
                ("covet_h2_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                   .string();
        std::string data(bytes, '\0');
        std::mt19937 random(static_cast<unsigned>(bytes));
        for (char& ch : data) {
            ch = static_cast<char>('a' + random() % 26);
        }
        checksum = sum(data);
        std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    ~temp_file() { std::filesystem::remove(path); }
    static std::uint64_t sum(std::string_view data)
    {
        std::uint64_t s = 0;
        for (char ch : data) {
            s = s * 31 + static_cast<unsigned char>(ch);
        }
        return s;
    }
    std::string path;
    std::size_t size;
    std::uint64_t checksum = 0;
};

inline task<response> h2_handler(request& req, const std::string& file_path)
{
    const std::string_view path = req.path();
    if (path == "/hello") {
        auto r = response::static_text("Hello, World!");
        r.add_header("X-Custom", "Value");
        co_return r;
    }
    if (path == "/host") {
        co_return response::text(std::string(req.host()) + " " + std::string(req.method_name()) + " " +
                                 req.query("q").value_or("-"));
    }
    if (path == "/echo") {
        co_return response::text(std::string(req.method_name()) + " " + std::string(req.body()));
    }
    if (path == "/size" || path == "/streamed/size") {
        auto all = co_await req.read_all_body(64 * 1024 * 1024);
        if (!all) {
            co_return response::text("read failed: " + all.error().message(), status::bad_request);
        }
        co_return response::text(std::to_string(all->size()) + " " + std::to_string(temp_file::sum(*all)));
    }
    if (path == "/big") {
        const auto n = std::stoul(req.query("n").value_or("1000"));
        co_return response::text(std::string(n, 'x'));
    }
    if (path == "/file") {
        const int fd = ::open(file_path.c_str(), O_RDONLY | O_CLOEXEC);
        response r;
        r.set_content_type("application/octet-stream");
        r.set_file_body(fd, 0, static_cast<std::uint64_t>(std::filesystem::file_size(file_path)));
        co_return r;
    }
    if (path == "/stream") {
        co_return response::stream(
            [](body_writer& w) -> task<void> {
                for (std::string_view piece : {"one ", "two ", "three"}) {
                    if (!co_await w.write(piece)) {
                        co_return;
                    }
                    co_await net::sleep_for(5ms);
                }
            },
            "text/plain");
    }
    if (path == "/header-size") {
        co_return response::text(std::to_string(req.header("x-big").size()));
    }
    if (path == "/concurrent") {
        const int now = ++in_flight;
        int seen = max_in_flight.load();
        while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
        }
        co_await net::sleep_for(100ms);
        --in_flight;
        co_return response::static_text("c");
    }
    if (path == "/wait") {
        ++handlers_started;
        // Cancelled by RST_STREAM: the sleep ends early with an error.
        const std::error_code ec = co_await net::sleep_for(10s);
        if (ec) {
            ++handlers_cancelled;
        }
        co_return response::static_text("waited");
    }
    if (path == "/throw") {
        throw std::runtime_error("secret");
    }
    co_return response::static_text("Not Found\n", status::not_found);
}

struct h2_server {
    explicit h2_server(server_options options = {}, bool use_tls = false, std::size_t threads = 1)
        : file(1024 * 1024 + 17), rt(make_runtime_options(threads)), tls(use_tls)
    {
        options.listen.address = "127.0.0.1";
        if (use_tls) {
            auto certificate = net::make_self_signed_certificate();
            REQUIRE(certificate.has_value());
            auto context = net::tls_context::server(certificate->certificate_pem,
                                                    certificate->private_key_pem, {"h2", "http/1.1"});
            REQUIRE(context.has_value());
            options.tls = std::move(*context);
        }
        options.limits.max_body = 16 * 1024 * 1024;
        options.stream_body_if = [](const request& req) { return req.path().starts_with("/streamed/"); };
        std::string file_path = file.path;
        auto s = server::start(rt, options, [file_path](request& req) { return h2_handler(req, file_path); });
        REQUIRE(s.has_value());
        srv.emplace(std::move(*s));
        rt.start();
        max_in_flight = 0;
    }
    ~h2_server()
    {
        rt.request_stop();
        rt.join();
    }
    static net::runtime_options make_runtime_options(std::size_t threads)
    {
        net::runtime_options o;
        o.threads = threads;
        o.offload_threads = 1;
        o.handle_signals = false;
        o.stop_timeout = 3s;
        return o;
    }
    std::uint16_t port() const { return srv->port(); }
    std::string url(std::string_view path) const
    {
        return (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port()) +
               std::string(path);
    }

    temp_file file;
    net::runtime rt;
    bool tls;
    std::optional<server> srv;
};

struct command_result {
    int status = -1;
    std::string output;  // stdout
};

/// Runs a shell command (bounded by its own --max-time / -t) and returns its stdout.
inline command_result run_command(const std::string& command)
{
    command_result r;
    FILE* pipe = ::popen(("timeout 60 " + command).c_str(), "r");
    REQUIRE_MESSAGE(pipe != nullptr, command);
    std::array<char, 4096> chunk;
    std::size_t n = 0;
    while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) {
        r.output.append(chunk.data(), n);
    }
    const int rc = ::pclose(pipe);
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return r;
}

}  // namespace covet::http::testing
