// covet_ws_echo: the covet::ws echo server of the WebSocket benchmark (bench/ws/run.sh).
//   covet_ws_echo [--port P] [--threads N]     prints "port N", serves until SIGINT/SIGTERM
#include <covet/http/server.hpp>
#include <covet/net/runtime.hpp>
#include <covet/ws/handshake.hpp>

#include <cstdio>
#include <cstdlib>
#include <string_view>

using namespace covet;

namespace {

task<void> echo(ws::connection conn)
{
    ws::message msg;  // one buffer for every message of the connection
    for (;;) {
        auto got = co_await conn.read(msg);
        if (!got) {
            break;
        }
        auto sent = co_await conn.send(msg.type, msg.data);
        if (!sent) {
            break;
        }
    }
}

}  // namespace

int main(int argc, char** argv)
{
    unsigned port = 0;
    unsigned threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        if (arg == "--port") {
            port = static_cast<unsigned>(std::atoi(argv[i + 1]));
        } else if (arg == "--threads") {
            threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
        }
    }
    net::runtime_options ro;
    ro.threads = threads;
    ro.offload_threads = 1;
    net::runtime rt(ro);
    http::server_options options;
    options.listen.address = "127.0.0.1";
    options.listen.port = static_cast<std::uint16_t>(port);
    options.max_connections_per_worker = 100'000;
    auto srv = http::server::start(rt, options, [](http::request& req) -> task<http::response> {
        ws::accept_options accept;
        co_return ws::accept(req, accept, echo);
    });
    if (!srv) {
        std::fprintf(stderr, "covet_ws_echo: %s\n", srv.error().message().c_str());
        return 1;
    }
    std::printf("port %u\n", srv->port());
    std::fflush(stdout);
    rt.run();
    return 0;
}
