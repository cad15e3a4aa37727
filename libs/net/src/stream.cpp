#include <covet/net/impl/stream.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/timer.hpp>

#include <asio/connect.hpp>
#include <asio/error.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl/error.hpp>

namespace covet::net {

template class basic_stream<asio::ip::tcp::socket>;

namespace detail {

std::error_code normalize_error(std::error_code ec) noexcept
{
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
        return errc::end_of_stream;
    }
    if (ec.category() == asio::error::get_system_category()) {
        return {ec.value(), std::system_category()};
    }
    return ec;
}

}  // namespace detail

namespace {

task<result<tcp_stream>> connect_unbounded(std::string host, std::uint16_t port, bool no_delay)
{
    auto executor = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver resolver(executor);
    auto [resolve_ec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), nothrow);
    if (resolve_ec) {
        co_return detail::normalize_error(resolve_ec);
    }
    asio::ip::tcp::socket socket(executor);
    auto [connect_ec, endpoint] = co_await asio::async_connect(socket, endpoints, nothrow);
    if (connect_ec) {
        co_return detail::normalize_error(connect_ec);
    }
    (void)endpoint;
    if (no_delay) {
        std::error_code ignored;
        socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    }
    co_return tcp_stream(std::move(socket));
}

}  // namespace

task<result<tcp_stream>> connect(std::string host, std::uint16_t port, connect_options options)
{
    // One co_await per branch: GCC 12 miscompiles several `co_return co_await`
    // statements in one coroutine.
    result<tcp_stream> stream = errc::cancelled;
    if (options.timeout.count() > 0) {
        stream = co_await with_timeout(connect_unbounded(std::move(host), port, options.no_delay),
                                       options.timeout);
    } else {
        stream = co_await connect_unbounded(std::move(host), port, options.no_delay);
    }
    co_return stream;
}

}  // namespace covet::net
