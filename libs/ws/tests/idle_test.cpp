// 10,000 concurrent idle WebSocket connections are held open and stay usable.
#include "ws_test_support.hpp"

#include <poll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <thread>

using namespace covet;
using namespace covet::ws;
using namespace covet::ws::testing;

namespace {

constexpr int idle_connections = 10'000;

bool raise_fd_limit(rlim_t wanted)
{
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return false;
    }
    if (limit.rlim_cur >= wanted) {
        return true;
    }
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    return setrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur >= wanted;
}

// The client side, in a child process (each side then needs only ~10,000
// descriptors, within the usual hard limit of 20,000): connects, checks that
// some connections echo, reports one status byte, holds until told to finish.
[[noreturn]] void run_clients(int from_parent, int to_parent)
{
    std::uint16_t port = 0;
    char status = 1;
    if (::read(from_parent, &port, sizeof port) == sizeof port && raise_fd_limit(idle_connections + 500)) {
        const std::string url = "ws://127.0.0.1:" + std::to_string(port) + "/";
        try {
            net::block_on([](std::string u, int in, int out, char& st) -> task<void> {
                std::vector<connection> clients;
                clients.reserve(idle_connections);
                client_options client;
                client.connection.ping_interval = std::chrono::milliseconds(0);
                client.connection.read_buffer_size = 256;
                for (int i = 0; i < idle_connections; ++i) {
                    auto conn = co_await connect(u, client);
                    if (!conn) {
                        std::fprintf(stderr, "connection %d: %s\n", i, conn.error().message().c_str());
                        co_return;
                    }
                    clients.push_back(std::move(*conn));
                }
                // Every 499th connection (the first and the last included) still echoes.
                for (int i = 0; i < idle_connections; i += 499) {
                    auto& c = clients[static_cast<std::size_t>(i)];
                    auto sent = co_await c.send_text("still there?");
                    auto echoed = co_await c.read();
                    if (!sent || !echoed || echoed->data != "still there?") {
                        co_return;
                    }
                }
                st = 0;
                const char held = st;
                (void)!::write(out, &held, 1);
                char done = 0;
                (void)!::read(in, &done, 1);  // hold every connection until the parent has counted
            }(url, from_parent, to_parent, status));
        } catch (...) {
            status = 1;
        }
    }
    if (status != 0) {
        (void)!::write(to_parent, &status, 1);
    }
    std::_Exit(status);
}

}  // namespace

TEST_CASE("10,000 idle connections are held, and each still answers")
{
    REQUIRE(raise_fd_limit(idle_connections + 500));
    int down[2];
    int up[2];
    REQUIRE(::pipe(down) == 0);
    REQUIRE(::pipe(up) == 0);
    // Fork before any thread of this test exists.
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        ::close(down[1]);
        ::close(up[0]);
        run_clients(down[0], up[1]);
    }
    ::close(down[0]);
    ::close(up[1]);

    auto open_count = std::make_shared<std::atomic<int>>(0);
    {
        net::runtime rt(ws_server::runtime_options(2));
        http::server_options options;
        options.listen.address = "127.0.0.1";
        options.max_connections_per_worker = 2 * idle_connections;
        auto srv = http::server::start(rt, options, [open_count](http::request& req) -> task<http::response> {
            accept_options accept;
            accept.connection.ping_interval = std::chrono::milliseconds(0);  // truly idle
            co_return ws::accept(req, accept, [open_count](connection conn) -> task<void> {
                open_count->fetch_add(1);
                co_await echo_loop(std::move(conn));
                open_count->fetch_sub(1);
            });
        });
        REQUIRE(srv.has_value());
        rt.start();
        const std::uint16_t port = srv->port();
        REQUIRE(::write(down[1], &port, sizeof port) == sizeof port);

        pollfd ready{up[0], POLLIN, 0};
        REQUIRE_MESSAGE(::poll(&ready, 1, 120'000) == 1, "the client process did not report in 120 s");
        char status = 1;
        REQUIRE(::read(up[0], &status, 1) == 1);
        CHECK(status == 0);
        for (int i = 0; i < 500 && open_count->load() < idle_connections; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        CHECK(open_count->load() == idle_connections);

        const char done = 1;
        CHECK(::write(down[1], &done, 1) == 1);
        int child_status = 0;
        CHECK(::waitpid(child, &child_status, 0) == child);
        CHECK(WIFEXITED(child_status));
        CHECK(WEXITSTATUS(child_status) == 0);
        // The child's exit closed every socket: the server ends every connection.
        for (int i = 0; i < 1000 && open_count->load() > 0; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        CHECK(open_count->load() == 0);
        rt.request_stop();
        rt.join();
    }
    ::close(down[1]);
    ::close(up[0]);
}
