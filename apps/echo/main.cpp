// covet_echo: a TCP (optionally TLS) echo server on the covet::net runtime.
//   covet_echo [--address A] [--port P] [--threads N] [--tls] [--pin]
// Stops gracefully on SIGINT/SIGTERM.
#include <covet/net/listener.hpp>
#include <covet/net/runtime.hpp>
#include <covet/net/tls.hpp>

#include <array>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace {

struct echo_options {
    std::string address = "0.0.0.0";
    std::uint16_t port = 7007;
    std::size_t threads = 0;
    bool tls = false;
    bool pin = false;
};

template <class Stream>
covet::task<void> echo(Stream& stream)
{
    std::array<char, 16 * 1024> buffer;
    for (;;) {
        auto n = co_await stream.read_some(asio::buffer(buffer));
        if (!n) {
            co_return;  // end of stream, reset, timeout: the connection is done
        }
        auto written = co_await stream.write(asio::buffer(buffer.data(), *n));
        if (!written) {
            co_return;
        }
    }
}

template <class T>
bool parse_number(std::string_view text, T& out)
{
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

std::optional<echo_options> parse(int argc, char** argv)
{
    echo_options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        auto value = [&]() -> std::string_view { return i + 1 < argc ? argv[++i] : ""; };
        if (arg == "--address") {
            o.address = value();
        } else if (arg == "--port") {
            if (!parse_number(value(), o.port)) {
                return std::nullopt;
            }
        } else if (arg == "--threads") {
            if (!parse_number(value(), o.threads)) {
                return std::nullopt;
            }
        } else if (arg == "--tls") {
            o.tls = true;
        } else if (arg == "--pin") {
            o.pin = true;
        } else {
            return std::nullopt;
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv)
{
    auto options = parse(argc, argv);
    if (!options) {
        std::fprintf(stderr, "usage: covet_echo [--address A] [--port P] [--threads N] [--tls] [--pin]\n");
        return 2;
    }
    covet::net::runtime rt({.threads = options->threads, .pin_threads = options->pin});

    std::optional<covet::net::tls_context> tls;
    if (options->tls) {
        auto cert = covet::net::make_self_signed_certificate();
        auto context = cert ? covet::net::tls_context::server(cert->certificate_pem, cert->private_key_pem)
                            : covet::result<covet::net::tls_context>(cert.error());
        if (!context) {
            std::fprintf(stderr, "covet_echo: TLS setup failed: %s\n", context.error().message().c_str());
            return 1;
        }
        tls = std::move(*context);
    }

    auto listener =
        covet::net::listener::start(rt, {.address = options->address, .port = options->port},
                                    [tls](covet::net::tcp_stream stream) -> covet::task<void> {
                                        if (!tls) {
                                            co_await echo(stream);
                                            co_return;
                                        }
                                        covet::net::tls_stream secure(std::move(stream.socket()), *tls);
                                        if (co_await secure.handshake_server()) {
                                            co_await echo(secure);
                                        }
                                    });
    if (!listener) {
        std::fprintf(stderr, "covet_echo: cannot listen on %s:%u: %s\n", options->address.c_str(),
                     options->port, listener.error().message().c_str());
        return 1;
    }
    std::printf("covet_echo: %s echo on %s port %u, %zu threads (%s backend); Ctrl-C stops\n",
                options->tls ? "TLS" : "TCP", options->address.c_str(), listener->port(), rt.size(),
#if defined(COVET_NET_IO_URING)
                "io_uring"
#else
                "epoll"
#endif
    );
    std::fflush(stdout);
    rt.run();
    std::printf("covet_echo: stopped after %llu connections\n",
                static_cast<unsigned long long>(listener->accepted()));
    return 0;
}
