#include <covet/net/send_now.hpp>

#include <doctest/doctest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>

#include <array>
#include <span>
#include <string>
#include <thread>
#include <vector>

namespace {

struct connected_pair {
    asio::io_context ctx;
    asio::ip::tcp::socket sender{ctx};
    asio::ip::tcp::socket receiver{ctx};

    connected_pair()
    {
        asio::ip::tcp::acceptor acceptor(ctx, {asio::ip::make_address("127.0.0.1"), 0});
        sender.connect(acceptor.local_endpoint());
        acceptor.accept(receiver);
        sender.non_blocking(true);
    }
};

}  // namespace

TEST_CASE("send_now sends a gather list whole and unsent() then leaves nothing")
{
    connected_pair pair;
    std::array<asio::const_buffer, 3> buffers{asio::buffer("head:", 5), asio::buffer("", 0),
                                              asio::buffer("body", 4)};
    const auto sent = covet::net::send_now(pair.sender, buffers);
    REQUIRE(sent.has_value());
    CHECK(*sent == 9);
    CHECK(covet::net::unsent(buffers, *sent).empty());
    std::string got(9, '\0');
    asio::read(pair.receiver, asio::buffer(got));
    CHECK(got == "head:body");
}

TEST_CASE("send_now returns 0 on a full socket, and what it took arrives in order with the rest")
{
    connected_pair pair;
    pair.sender.set_option(asio::socket_base::send_buffer_size(4096));
    std::string big(4 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>('a' + i % 23);
    }
    std::array<asio::const_buffer, 2> buffers{asio::buffer(big), asio::buffer("end", 3)};
    std::span<asio::const_buffer> rest(buffers);
    std::size_t total = 0;
    bool full = false;
    for (int i = 0; i < 10000 && !full && !rest.empty(); ++i) {  // nobody reads: the socket fills up
        const auto sent = covet::net::send_now(pair.sender, rest);
        REQUIRE(sent.has_value());
        full = *sent == 0;
        total += *sent;
        rest = covet::net::unsent(rest, *sent);
    }
    CHECK(full);
    CHECK(total > 0);
    REQUIRE(rest.size() == 2);
    CHECK(rest[0].size() == big.size() - total);

    std::string got(big.size() + 3, '\0');
    std::thread reader([&] { asio::read(pair.receiver, asio::buffer(got)); });
    pair.sender.non_blocking(false);
    asio::write(pair.sender, rest);
    reader.join();
    CHECK(got == big + "end");
}

TEST_CASE("unsent() drops whole buffers, then advances a partial one")
{
    const char data[] = "abcdefgh";
    std::array<asio::const_buffer, 3> buffers{asio::buffer(data, 3), asio::buffer(data + 3, 2),
                                              asio::buffer(data + 5, 3)};
    auto rest = covet::net::unsent(buffers, 4);
    REQUIRE(rest.size() == 2);
    CHECK(std::string(static_cast<const char*>(rest[0].data()), rest[0].size()) == "e");
    CHECK(rest[1].size() == 3);
    CHECK(covet::net::unsent(rest, 1).size() == 1);
    // In place: buffers[1] is now "e"; everything sent leaves nothing.
    CHECK(covet::net::unsent(buffers, 3 + 1 + 3).empty());
}

TEST_CASE("send_now on a closed peer reports the error instead of raising SIGPIPE")
{
    connected_pair pair;
    pair.receiver.close();
    std::error_code failure;
    for (int i = 0; i < 100 && !failure; ++i) {  // the first sends may still succeed (RST pending)
        const auto sent =
            covet::net::send_now(pair.sender, std::array{asio::const_buffer(asio::buffer("x", 1))});
        if (!sent) {
            failure = sent.error();
        }
    }
    const bool peer_gone = failure == std::errc::broken_pipe || failure == std::errc::connection_reset;
    CHECK_MESSAGE(peer_gone, failure.message());
}
