// beast_server: the Boost.Beast peer of tools/covet-bench.
//
//   covet_beast_http [--address A] [--port P]
//
// What a C++ programmer writes with Boost.Beast and Boost.Asio's C++20 coroutines: one
// io_context on one thread, one coroutine per connection reading a request and writing its
// response (keep-alive; pipelined requests are answered one write per response, which is how
// Beast's http::async_write works). GET /plaintext answers "Hello, World!" (text/plain),
// GET /json serializes {"message":"Hello, World!"} with Boost.JSON on every request (the
// TechEmpower rule), anything else 404. Server and Date headers are set, the Date string
// being formatted at most once a second. SIGINT/SIGTERM stop it.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// The value of the Date header, reformatted when the second changes.
const std::string& http_date()
{
    static std::time_t shown = -1;
    static std::string text;
    std::time_t now = std::time(nullptr);
    if (now != shown) {
        shown = now;
        std::tm tm{};
        gmtime_r(&now, &tm);
        char buf[64];
        text.assign(buf, std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm));
    }
    return text;
}

http::response<http::string_body> respond(const http::request<http::string_body>& req)
{
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    res.set(http::field::server, "beast");
    res.set(http::field::date, http_date());
    const bool get = req.method() == http::verb::get || req.method() == http::verb::head;
    if (get && req.target() == "/plaintext") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "text/plain");
        res.body() = "Hello, World!";
    } else if (get && req.target() == "/json") {
        res.result(http::status::ok);
        res.set(http::field::content_type, "application/json");
        res.body() = boost::json::serialize(boost::json::object{{"message", "Hello, World!"}});
    } else {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain");
        res.body() = "Not Found\n";
    }
    res.prepare_payload();  // Content-Length
    return res;
}

// One connection: read a request, write its response, until the peer closes or says close.
asio::awaitable<void> session(tcp::socket socket)
{
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    try {
        for (;;) {
            http::request<http::string_body> req;
            co_await http::async_read(stream, buffer, req, asio::use_awaitable);
            auto res = respond(req);
            co_await http::async_write(stream, res, asio::use_awaitable);
            if (!res.keep_alive()) {
                break;
            }
        }
    } catch (const boost::system::system_error&) {
        // End of stream or a broken connection: nothing to report in a benchmark peer.
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor acceptor)
{
    for (;;) {
        tcp::socket socket = co_await acceptor.async_accept(asio::use_awaitable);
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv)
{
    std::string address = "127.0.0.1";
    unsigned short port = 8080;
    for (int i = 1; i < argc; i += 2) {
        std::string_view arg = argv[i];
        std::string_view value = i + 1 < argc ? argv[i + 1] : "";
        bool ok = !value.empty();
        if (ok && arg == "--address") {
            address = value;
        } else if (ok && arg == "--port") {
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
            ok = ec == std::errc{} && end == value.data() + value.size();
        } else {
            ok = false;
        }
        if (!ok) {
            std::fprintf(stderr, "usage: covet_beast_http [--address A] [--port P]\n");
            return 2;
        }
    }
    try {
        asio::io_context ioc(1);  // one thread: no locking inside Asio
        tcp::endpoint endpoint(asio::ip::make_address(address), port);
        tcp::acceptor acceptor(ioc, endpoint);  // open, SO_REUSEADDR, bind, listen
        asio::co_spawn(ioc, accept_loop(std::move(acceptor)), asio::detached);
        asio::signal_set signals(ioc, SIGINT, SIGTERM);
        signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
        std::printf("covet_beast_http listening on %s:%u\n", address.c_str(), port);
        std::fflush(stdout);
        ioc.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet_beast_http: %s\n", e.what());
        return 1;
    }
}
