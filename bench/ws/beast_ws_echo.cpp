// beast_ws_echo: a Boost.Beast WebSocket echo server written for the benchmark
// (bench/ws/run.sh): one thread, Asio C++20 coroutines, no compression, one
// flat_buffer per connection; the idiomatic Beast echo.
//   covet_beast_ws_echo [--port P]     prints "port N", serves until killed
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "port_option.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto nothrow = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> session(tcp::socket socket)
{
    socket.set_option(tcp::no_delay(true));
    beast::websocket::stream<tcp::socket> ws(std::move(socket));
    ws.read_message_max(64 * 1024 * 1024);
    auto [accept_error] = co_await ws.async_accept(nothrow);
    if (accept_error) {
        co_return;
    }
    beast::flat_buffer buffer;
    for (;;) {
        auto [read_error, n] = co_await ws.async_read(buffer, nothrow);
        if (read_error) {
            break;
        }
        ws.text(ws.got_text());
        auto [write_error, written] = co_await ws.async_write(buffer.data(), nothrow);
        if (write_error) {
            break;
        }
        buffer.consume(buffer.size());
    }
}

asio::awaitable<void> listen(tcp::acceptor& acceptor)
{
    for (;;) {
        auto [error, socket] = co_await acceptor.async_accept(nothrow);
        if (!error) {
            asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
        }
    }
}

}  // namespace

int main(int argc, char** argv)
{
    const unsigned short port = port_option(argc, argv);
    asio::io_context context(1);
    tcp::acceptor acceptor(context, tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    acceptor.listen(4096);
    std::printf("port %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    asio::co_spawn(context, listen(acceptor), asio::detached);
    context.run();
    return 0;
}
