// The TFB endpoints over real sockets, byte for byte (except the Date value).
#include "tfb.hpp"

#include "http_test_support.hpp"

#include <doctest/doctest.h>

#include <regex>
#include <string>

namespace {

using namespace std::chrono_literals;

struct running_tfb {
    covet::web::app app{covet::tfb::make_config(0, 2)};
    std::uint16_t port = 0;
    running_tfb()
    {
        app.config().address = "127.0.0.1";
        app.config().handle_signals = false;
        app.config().stop_timeout = 2s;
        covet::tfb::add_routes(app);
        port = app.listen();
        app.start();
    }
};

/// The response with the Date value replaced by "<date>", after checking its IMF-fixdate form.
std::string normalize_date(const std::string& bytes)
{
    static const std::regex date(
        R"(\r\nDate: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n)");
    CHECK(std::regex_search(bytes, date));
    return std::regex_replace(bytes, date, "\r\nDate: <date>\r\n");
}

}  // namespace

TEST_CASE("/plaintext and /json are byte-exact, pipelined too")
{
    running_tfb tfb;
    using covet::http::testing::exchange;

    auto plain = exchange(tfb.port, "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(plain.responses.size() == 1);
    CHECK(normalize_date(plain.bytes) ==
          "HTTP/1.1 200 OK\r\nServer: covet\r\nDate: <date>\r\nContent-Type: text/plain\r\n"
          "Content-Length: 13\r\n\r\nHello, World!");

    auto json = exchange(tfb.port, "GET /json HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(json.responses.size() == 1);
    CHECK(normalize_date(json.bytes) ==
          "HTTP/1.1 200 OK\r\nServer: covet\r\nDate: <date>\r\nContent-Type: application/json\r\n"
          "Content-Length: 27\r\n\r\n{\"message\":\"Hello, World!\"}");

    // TFB's plaintext test pipelines 16 requests per connection.
    std::string sixteen;
    for (int i = 0; i < 16; ++i) {
        sixteen += "GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
    }
    auto pipelined = exchange(tfb.port, sixteen, 16);
    REQUIRE(pipelined.responses.size() == 16);
    for (const auto& r : pipelined.responses) {
        CHECK(r.status == 200);
        CHECK(r.body == "Hello, World!");
    }

    auto missing = exchange(tfb.port, "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(missing.responses.size() == 1);
    CHECK(missing.responses[0].status == 404);
    tfb.app.stop();
}
