// covet::net microbenchmarks. Each covet case has its baseline in the same
// binary so that ratios come from one run:
//   echo round trip (64 B ping-pong over loopback): covet tcp_stream server vs
//   a blocking read()/write() thread server (no event loop at all);
//   nested co_await, with_timeout and offload overheads.
#include <covet/net/listener.hpp>
#include <covet/net/offload.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>

#include <benchmark/benchmark.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

using namespace std::chrono_literals;

namespace {

int connect_blocking(std::uint16_t port)
{
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        throw std::runtime_error("connect failed");
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

// One 64-byte ping-pong per iteration on a blocking client socket.
void ping_pong(benchmark::State& state, std::uint16_t port)
{
    int fd = connect_blocking(port);
    std::array<char, 64> out{}, in{};
    std::memset(out.data(), 'x', out.size());
    for (auto _ : state) {
        if (::write(fd, out.data(), out.size()) != static_cast<ssize_t>(out.size())) {
            state.SkipWithError("write failed");
            break;
        }
        std::size_t got = 0;
        while (got < in.size()) {
            ssize_t n = ::read(fd, in.data() + got, in.size() - got);
            if (n <= 0) {
                state.SkipWithError("read failed");
                break;
            }
            got += static_cast<std::size_t>(n);
        }
    }
    ::close(fd);
    state.SetItemsProcessed(state.iterations());
}

covet::task<void> covet_echo(covet::net::tcp_stream stream)
{
    std::array<char, 4096> buffer;
    for (;;) {
        auto n = co_await stream.read_some(asio::buffer(buffer));
        if (!n || !co_await stream.write(asio::buffer(buffer.data(), *n))) {
            co_return;
        }
    }
}

void BM_echo_round_trip_covet(benchmark::State& state)
{
    covet::net::runtime rt({.threads = 1, .offload_threads = 1, .handle_signals = false});
    auto l = covet::net::listener::start(rt, {.address = "127.0.0.1"}, covet_echo);
    if (!l) {
        state.SkipWithError("listen failed");
        return;
    }
    rt.start();
    ping_pong(state, l->port());
    rt.request_stop();
    rt.join();
}
BENCHMARK(BM_echo_round_trip_covet)->UseRealTime();

// Baseline: a thread doing blocking read()/write() on one connection.
void BM_echo_round_trip_blocking_thread(benchmark::State& state)
{
    int listen_fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ::bind(listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd, 16);
    ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::thread server([listen_fd] {
        int fd = ::accept(listen_fd, nullptr, nullptr);
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        std::array<char, 4096> buffer;
        for (;;) {
            ssize_t n = ::read(fd, buffer.data(), buffer.size());
            if (n <= 0 || ::write(fd, buffer.data(), static_cast<std::size_t>(n)) != n) {
                break;
            }
        }
        ::close(fd);
    });
    ping_pong(state, ntohs(addr.sin_port));
    server.join();
    ::close(listen_fd);
}
BENCHMARK(BM_echo_round_trip_blocking_thread)->UseRealTime();

// Cost of awaiting a nested task (one coroutine frame + resume).
covet::task<int> leaf(int v) { co_return v + 1; }

covet::task<void> nested_loop(std::int64_t n, std::int64_t& sum)
{
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await leaf(static_cast<int>(i & 1023));
    }
}

void BM_nested_co_await(benchmark::State& state)
{
    std::int64_t sum = 0;
    for (auto _ : state) {
        covet::net::block_on(nested_loop(1000, sum));
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_nested_co_await);

// Overhead of with_timeout on an operation that completes immediately,
// compared with awaiting the same operation directly.
covet::task<int> immediate() { co_return 1; }

covet::task<void> timeout_loop(std::int64_t n, bool use_timeout, std::int64_t& sum)
{
    for (std::int64_t i = 0; i < n; ++i) {
        if (use_timeout) {
            auto r = co_await covet::net::with_timeout(immediate(), 5s);
            sum += *r;
        } else {
            sum += co_await immediate();
        }
    }
}

void BM_with_timeout(benchmark::State& state)
{
    const bool use_timeout = state.range(0) != 0;
    std::int64_t sum = 0;
    for (auto _ : state) {
        covet::net::block_on(timeout_loop(100, use_timeout, sum));
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * 100);
    state.SetLabel(use_timeout ? "with_timeout(op, 5s)" : "plain co_await op");
}
BENCHMARK(BM_with_timeout)->Arg(0)->Arg(1);

// Round trip to the offload pool and back.
covet::task<void> offload_loop(std::int64_t n, std::int64_t& sum)
{
    for (std::int64_t i = 0; i < n; ++i) {
        sum += co_await covet::net::offload([i] { return i; });
    }
}

void BM_offload_round_trip(benchmark::State& state)
{
    std::int64_t sum = 0;
    for (auto _ : state) {
        covet::net::block_on(offload_loop(100, sum));
    }
    benchmark::DoNotOptimize(sum);
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_offload_round_trip)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
