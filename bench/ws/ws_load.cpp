// covet_ws_load: the closed-loop load generator of the WebSocket benchmark
// (bench/ws/run.sh), one thread, covet::ws client. The same binary drives
// every server.
//   covet_ws_load URL --connections 64 --size 32 --warmup 1 --duration 5
//       each connection keeps one binary message of `size` bytes in flight; every
//       echo is checked; prints one JSON line {"msgs_per_s":..., "errors":...}
//   covet_ws_load URL --idle 10000 --hold 5
//       opens N idle connections, prints "held N", keeps them for `hold` seconds
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/ws/client.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

using namespace covet;
using namespace std::chrono_literals;

namespace {

std::chrono::milliseconds millis(double seconds)
{
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

struct load_state {
    bool measuring = false;
    bool stop = false;
    std::uint64_t echoed = 0;
    std::uint64_t errors = 0;
    int running = 0;
};

task<void> client_loop(std::string url, std::size_t size, load_state& state)
{
    ++state.running;
    ws::client_options options;
    options.connection.max_message_size = 64 * 1024 * 1024;
    auto conn = co_await ws::connect(url, options);
    if (!conn) {
        ++state.errors;
        --state.running;
        co_return;
    }
    std::string payload(size, '\0');
    for (std::size_t i = 0; i < size; ++i) {
        payload[i] = static_cast<char>(i * 31 + 7);
    }
    while (!state.stop) {
        auto sent = co_await conn->send_binary(payload);
        auto echoed = co_await conn->read();
        if (!sent || !echoed || echoed->data != payload) {
            ++state.errors;
            break;
        }
        if (state.measuring) {
            ++state.echoed;
        }
    }
    --state.running;
}

task<void> throughput(std::string url, int connections, std::size_t size, double warmup, double duration)
{
    load_state state;
    auto executor = co_await asio::this_coro::executor;
    for (int i = 0; i < connections; ++i) {
        net::spawn(executor, client_loop(url, size, state));
    }
    co_await net::sleep_for(millis(warmup));
    state.measuring = true;
    const auto started = std::chrono::steady_clock::now();
    co_await net::sleep_for(millis(duration));
    state.measuring = false;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    state.stop = true;
    for (int i = 0; i < 500 && state.running > 0; ++i) {
        co_await net::sleep_for(10ms);
    }
    std::printf("{\"msgs_per_s\": %.0f, \"errors\": %llu, \"connections\": %d, \"size\": %zu}\n",
                static_cast<double>(state.echoed) / seconds, static_cast<unsigned long long>(state.errors),
                connections, size);
}

task<void> idle(std::string url, int count, double hold)
{
    std::vector<ws::connection> clients;
    clients.reserve(static_cast<std::size_t>(count));
    ws::client_options options;
    options.connection.ping_interval = 0ms;
    options.connection.read_buffer_size = 256;
    for (int i = 0; i < count; ++i) {
        auto conn = co_await ws::connect(url, options);
        if (!conn) {
            std::fprintf(stderr, "connection %d: %s\n", i, conn.error().message().c_str());
            break;
        }
        clients.push_back(std::move(*conn));
    }
    std::printf("held %zu\n", clients.size());
    std::fflush(stdout);
    co_await net::sleep_for(millis(hold));
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr,
                     "usage: covet_ws_load URL [--connections N --size B --warmup S --duration S] "
                     "| [--idle N --hold S]\n");
        return 2;
    }
    std::string url = argv[1];
    int connections = 64;
    std::size_t size = 32;
    double warmup = 1;
    double duration = 5;
    int idle_count = 0;
    double hold = 5;
    for (int i = 2; i + 1 < argc; i += 2) {
        const std::string_view arg = argv[i];
        const char* value = argv[i + 1];
        if (arg == "--connections") {
            connections = std::atoi(value);
        } else if (arg == "--size") {
            size = static_cast<std::size_t>(std::atoll(value));
        } else if (arg == "--warmup") {
            warmup = std::atof(value);
        } else if (arg == "--duration") {
            duration = std::atof(value);
        } else if (arg == "--idle") {
            idle_count = std::atoi(value);
        } else if (arg == "--hold") {
            hold = std::atof(value);
        }
    }
    if (idle_count > 0) {
        net::block_on(idle(url, idle_count, hold));
    } else {
        net::block_on(throughput(url, connections, size, warmup, duration));
    }
    return 0;
}
