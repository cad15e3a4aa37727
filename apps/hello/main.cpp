// covet_hello: the raw covet::http engine, no router.
//   covet_hello [--address A] [--port P] [--threads N] [--static DIR]
//   GET /plaintext → "Hello, World!" (text/plain); GET / → a small HTML page;
//   with --static, GET /static/<file> → files under DIR (ranges, sendfile).
#include <covet/http/server.hpp>
#include <covet/http/static_files.hpp>

#include <charconv>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace {

constexpr std::string_view index_page =
    "<!doctype html><html><head><meta charset=\"utf-8\"><title>covet</title></head>"
    "<body><h1>covet</h1><p>Served by the covet::http engine. Try <a href=\"/plaintext\">/plaintext</a>.</p>"
    "</body></html>\n";

// Files under --static DIR, served at /static/ (file-body benchmarks).
std::optional<covet::http::static_files> static_dir;

covet::task<covet::http::response> handle(covet::http::request& req)
{
    if (static_dir && req.path().starts_with("/static/")) {
        co_return static_dir->serve(req, req.path().substr(8));
    }
    using covet::http::method;
    using covet::http::response;
    using covet::http::status;
    const bool get = req.method() == method::get || req.method() == method::head;
    if (req.path() == "/plaintext") {
        if (!get) {
            co_return response::static_text("Method Not Allowed\n", status::method_not_allowed)
                .add_header("Allow", "GET, HEAD");
        }
        co_return response::static_text("Hello, World!");
    }
    if (req.path() == "/") {
        if (!get) {
            co_return response::static_text("Method Not Allowed\n", status::method_not_allowed)
                .add_header("Allow", "GET, HEAD");
        }
        co_return response::static_html(index_page);
    }
    co_return response::static_text("Not Found\n", status::not_found);
}

template <class T>
bool parse_number(std::string_view text, T& out)
{
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

int main(int argc, char** argv)
{
    std::string address = "0.0.0.0";
    std::uint16_t port = 8080;
    std::size_t threads = 0;
    // Every option takes a value: walk the arguments in pairs.
    for (int i = 1; i < argc; i += 2) {
        std::string_view arg = argv[i];
        std::string_view value = i + 1 < argc ? argv[i + 1] : "";
        bool ok = i + 1 < argc;
        if (arg == "--address") {
            address = value;
        } else if (arg == "--port") {
            ok = ok && parse_number(value, port);
        } else if (arg == "--threads") {
            ok = ok && parse_number(value, threads);
        } else if (arg == "--static") {
            auto files = covet::http::static_files::open({.root = std::string(value)});
            ok = ok && files.has_value();
            if (ok) {
                static_dir.emplace(std::move(*files));
            }
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr,
                         "usage: covet_hello [--address A] [--port P] [--threads N] [--static DIR]\n");
            return 2;
        }
    }
    covet::net::runtime rt({.threads = threads});
    covet::http::server_options options;
    options.listen.address = address;
    options.listen.port = port;
    auto server = covet::http::server::start(rt, options, handle);
    if (!server) {
        std::fprintf(stderr, "covet_hello: cannot listen on %s:%u: %s\n", address.c_str(), port,
                     server.error().message().c_str());
        return 1;
    }
    std::printf("covet_hello: http://%s:%u/ with %zu threads; Ctrl-C stops\n", address.c_str(),
                server->port(), rt.size());
    std::fflush(stdout);
    rt.run();
    std::printf("covet_hello: stopped after %llu requests\n",
                static_cast<unsigned long long>(server->requests_handled()));
    return 0;
}
