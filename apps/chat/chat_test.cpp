// The chat app end to end: app.ws routes, the hub across two workers, presence,
// /ws/echo with permessage-deflate; clients are covet::ws clients on 127.0.0.1.
#include "chat.hpp"

#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/web/test_client.hpp>
#include <covet/ws/client.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>

using namespace covet;
using namespace std::chrono_literals;

namespace {

struct chat_server {
    chat_server()
    {
        app.config().address = "127.0.0.1";
        app.config().threads = 2;
        app.config().handle_signals = false;
        chat::add_routes(app, rooms);
        port = app.listen(0);
        app.start();
    }
    ~chat_server() { app.stop(); }
    std::string url(std::string_view path) const
    {
        return "ws://127.0.0.1:" + std::to_string(port) + std::string(path);
    }

    std::shared_ptr<ws::hub> rooms = std::make_shared<ws::hub>();
    web::app app;
    std::uint16_t port = 0;
};

// Reads until a message equal to `wanted` (bounded).
task<bool> read_until(ws::connection& conn, std::string wanted)
{
    for (int i = 0; i < 50; ++i) {
        auto msg = co_await net::with_timeout(conn.read(), 5s);
        if (!msg) {
            co_return false;
        }
        if (msg->data == wanted) {
            co_return true;
        }
    }
    co_return false;
}

template <class F>
void run_client(F body)
{
    net::block_on([](F b) -> task<void> {
        auto outcome = co_await net::with_timeout(b(), 20s);
        REQUIRE_MESSAGE(outcome.has_value(), "client coroutine timed out");
    }(std::move(body)));
}

}  // namespace

TEST_CASE("two members of a room see each other's messages and presence, other rooms do not")
{
    chat_server server;
    const std::string alice_url = server.url("/chat/lobby?name=alice");
    const std::string bob_url = server.url("/chat/lobby?name=bob");
    const std::string carol_url = server.url("/chat/other?name=carol");
    auto rooms = server.rooms;
    run_client([=]() -> task<void> {
        auto alice = co_await ws::connect(alice_url);
        REQUIRE(alice.has_value());
        CHECK(co_await read_until(*alice, "* alice joined (1 online)"));
        auto carol = co_await ws::connect(carol_url);
        REQUIRE(carol.has_value());
        CHECK(co_await read_until(*carol, "* carol joined (1 online)"));
        auto bob = co_await ws::connect(bob_url);
        REQUIRE(bob.has_value());
        CHECK(co_await read_until(*bob, "* bob joined (2 online)"));
        CHECK(co_await read_until(*alice, "* bob joined (2 online)"));
        CHECK(rooms->presence("lobby") == 2);
        CHECK(rooms->presence("other") == 1);

        auto sent = co_await alice->send_text("hello bob");
        REQUIRE(sent.has_value());
        CHECK(co_await read_until(*bob, "alice: hello bob"));
        CHECK(co_await read_until(*alice, "alice: hello bob"));  // the sender sees its own line

        auto closed = co_await bob->close();
        CHECK(closed.has_value());
        CHECK(co_await read_until(*alice, "* bob left (1 online)"));

        // Carol's room never saw the lobby's traffic.
        auto sent_carol = co_await carol->send_text("anyone?");
        REQUIRE(sent_carol.has_value());
        auto first = co_await carol->read();
        REQUIRE(first.has_value());
        CHECK(first->data == "carol: anyone?");
        auto a = co_await alice->close();
        auto c = co_await carol->close();
        CHECK((a && c));
    });
    for (int i = 0; i < 100 && rooms->presence("lobby") + rooms->presence("other") > 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(rooms->presence("lobby") == 0);
    CHECK(rooms->presence("other") == 0);
}

TEST_CASE("broadcast reaches members on both workers")
{
    chat_server server;
    const std::string url = server.url("/chat/many?name=m");
    run_client([=]() -> task<void> {
        std::vector<ws::connection> members;
        for (int i = 0; i < 8; ++i) {
            auto conn = co_await ws::connect(url);
            REQUIRE(conn.has_value());
            members.push_back(*conn);
        }
        for (std::size_t i = 0; i < members.size(); ++i) {
            CHECK(co_await read_until(members[i], "* m joined (8 online)"));
        }
        auto sent = co_await members[3].send_text("to all");
        REQUIRE(sent.has_value());
        for (auto& m : members) {
            CHECK(co_await read_until(m, "m: to all"));
        }
        for (auto& m : members) {
            auto closed = co_await m.close();
            CHECK(closed.has_value());
        }
    });
    CHECK(server.rooms->delivered() >= 8);
}

TEST_CASE("/ws/echo echoes with permessage-deflate, / serves the page")
{
    chat_server server;
    const std::string url = server.url("/ws/echo");
    run_client([=]() -> task<void> {
        ws::client_options options;
        options.deflate.enabled = true;
        auto conn = co_await ws::connect(url, options);
        REQUIRE(conn.has_value());
        CHECK(conn->compressed());
        const std::string big(200000, 'z');
        auto sent = co_await conn->send_text(big);
        REQUIRE(sent.has_value());
        auto echoed = co_await conn->read();
        REQUIRE(echoed.has_value());
        CHECK(echoed->data == big);
        auto closed = co_await conn->close();
        CHECK(closed.has_value());
    });
    web::test_client client(server.app);
    auto page = client.get("/");
    CHECK(page.status == 200);
    CHECK(page.body.find("new WebSocket") != std::string::npos);
}
