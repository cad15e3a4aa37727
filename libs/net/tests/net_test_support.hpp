#pragma once
// Helpers shared by the covet::net tests: a runtime running in the background
// for the duration of a test, and small client-side coroutines.

#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/stream.hpp>

#include <chrono>
#include <string>
#include <thread>

namespace covet::net::testing {

/// A runtime started on construction and stopped (gracefully) on destruction.
struct background_runtime {
    explicit background_runtime(runtime_options options = default_options()) : rt(std::move(options))
    {
        rt.start();
    }
    ~background_runtime()
    {
        rt.request_stop();
        rt.join();
    }
    static runtime_options default_options()
    {
        runtime_options o;
        o.threads = 2;
        o.offload_threads = 2;
        o.handle_signals = false;
        o.stop_timeout = std::chrono::milliseconds(2000);
        return o;
    }
    runtime rt;
};

/// Sends `message` and reads back exactly as many bytes.
inline task<result<std::string>> round_trip(tcp_stream& stream, std::string message)
{
    auto written = co_await stream.write(asio::buffer(message));
    if (!written) {
        co_return written.error();
    }
    std::string reply(message.size(), '\0');
    auto read = co_await stream.read_exactly(asio::buffer(reply));
    if (!read) {
        co_return read.error();
    }
    co_return reply;
}

/// Tries to connect and reports only the error: a connected stream must not
/// leave block_on, whose io_context dies when it returns.
inline std::error_code connect_error(std::string host, std::uint16_t port,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(2))
{
    return block_on([](std::string h, std::uint16_t p, std::chrono::milliseconds t) -> task<std::error_code> {
        auto stream = co_await connect(h, p, {.timeout = t});
        co_return stream ? std::error_code{} : stream.error();
    }(std::move(host), port, timeout));
}

/// Polls `condition` every millisecond for up to `limit`.
template <class Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::milliseconds(5000))
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (condition()) {
            return true;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return condition();
}

}  // namespace covet::net::testing
