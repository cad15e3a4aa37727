// Uses covet::net from an installed package: echo one message over loopback.
#include <covet/net/listener.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/spawn.hpp>

#include <array>
#include <cstdio>
#include <string>

namespace {

covet::task<void> echo(covet::net::tcp_stream stream)
{
    std::array<char, 1024> buffer;
    for (;;) {
        auto n = co_await stream.read_some(asio::buffer(buffer));
        if (!n || !co_await stream.write(asio::buffer(buffer.data(), *n))) {
            co_return;
        }
    }
}

covet::task<covet::result<std::string>> ask(std::uint16_t port)
{
    auto stream = co_await covet::net::connect("127.0.0.1", port);
    if (!stream) {
        co_return stream.error();
    }
    std::string message = "installed covet works";
    if (auto w = co_await stream->write(asio::buffer(message)); !w) {
        co_return w.error();
    }
    std::string reply(message.size(), '\0');
    if (auto r = co_await stream->read_exactly(asio::buffer(reply)); !r) {
        co_return r.error();
    }
    co_return reply;
}

}  // namespace

int main()
{
    covet::net::runtime rt({.threads = 1, .handle_signals = false});
    auto listener = covet::net::listener::start(rt, {.address = "127.0.0.1"}, echo);
    if (!listener) {
        std::fprintf(stderr, "listen failed: %s\n", listener.error().message().c_str());
        return 1;
    }
    rt.start();
    auto reply = covet::net::block_on(ask(listener->port()));
    rt.request_stop();
    rt.join();
    if (!reply || *reply != "installed covet works") {
        std::fprintf(stderr, "echo failed\n");
        return 1;
    }
    std::printf("consumer: %s\n", reply->c_str());
    return 0;
}
