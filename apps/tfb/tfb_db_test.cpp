// The TFB database endpoints over real sockets on a SQLite file.
#include "tfb_db.hpp"
#include "temp_dir.hpp"
#include "tfb.hpp"

#include "http_test_support.hpp"

#include <covet/net/spawn.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <regex>
#include <string>

#include <unistd.h>

namespace {

using namespace std::chrono_literals;
using covet::http::testing::exchange;

struct running_db_tfb {
    covet::testing::temp_dir tmp{"covet-tfb"};
    std::filesystem::path dir = tmp.path;
    covet::web::app app{covet::tfb::make_config(0, 2)};
    std::uint16_t port = 0;
    running_db_tfb()
    {
        const std::string url = "sqlite://" + (dir / "tfb.db").string();
        {
            auto db = covet::orm::database::open(url);
            covet::net::block_on(covet::tfb::seed(db));
        }
        app.config().address = "127.0.0.1";
        app.config().handle_signals = false;
        app.config().stop_timeout = 2s;
        covet::tfb::add_routes(app);
        covet::tfb::add_db_routes(app, url);
        port = app.listen();
        app.start();
    }
    ~running_db_tfb() { app.stop(); }
};

std::size_t count(const std::string& text, const std::regex& re)
{
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), {}));
}

const std::regex world_json(R"(\{"id":(\d+),"randomNumber":(\d+)\})");

}  // namespace

TEST_CASE("/db, /queries, /fortunes and /updates on SQLite")
{
    running_db_tfb tfb;

    auto db = exchange(tfb.port, "GET /db HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(db.responses.size() == 1);
    CHECK(db.responses[0].status == 200);
    CHECK(db.responses[0].headers["content-type"] == "application/json");
    CHECK(std::regex_match(db.responses[0].body, world_json));

    for (auto [query, expected] :
         {std::pair{"queries=3", 3}, {"queries=0", 1}, {"queries=foo", 1}, {"queries=501", 500}, {"", 1}}) {
        const std::string request = std::string("GET /queries?") + query + " HTTP/1.1\r\nHost: x\r\n\r\n";
        auto r = exchange(tfb.port, request);
        REQUIRE(r.responses.size() == 1);
        CHECK(r.responses[0].status == 200);
        CHECK(r.responses[0].body.front() == '[');
        CHECK(count(r.responses[0].body, world_json) == static_cast<std::size_t>(expected));
    }

    auto f = exchange(tfb.port, "GET /fortunes HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(f.responses.size() == 1);
    const auto& html = f.responses[0].body;
    CHECK(f.responses[0].headers["content-type"] == "text/html; charset=utf-8");
    CHECK(html.starts_with("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"));
    CHECK(count(html, std::regex("<tr><td>")) == 13);
    CHECK(html.find("<td>0</td><td>Additional fortune added at request time.</td>") != std::string::npos);
    CHECK(html.find("&lt;script&gt;alert(&quot;This should not be displayed in a browser alert box.&quot;);"
                    "&lt;/script&gt;") != std::string::npos);
    CHECK(html.find("<script>") == std::string::npos);
    CHECK(html.find("フレームワークのベンチマーク") != std::string::npos);
    // Sorted by message: "<script>..." sorts before "A bad random..."
    CHECK(html.find("&lt;script&gt;") < html.find("A bad random"));

    auto u = exchange(tfb.port, "GET /updates?queries=5 HTTP/1.1\r\nHost: x\r\n\r\n");
    REQUIRE(u.responses.size() == 1);
    const std::string body = u.responses[0].body;
    CHECK(count(body, world_json) == 5);
    // The new numbers are in the database.
    auto check_db = covet::orm::database::open("sqlite://" + (tfb.dir / "tfb.db").string());
    for (auto it = std::sregex_iterator(body.begin(), body.end(), world_json); it != std::sregex_iterator();
         ++it) {
        const auto id = std::stoll((*it)[1]);
        const auto number = std::stoll((*it)[2]);
        auto row = covet::net::block_on(check_db.find<covet::tfb::world>(id));
        REQUIRE(row);
        // Another update of the same id in this request may have come later; the last one wins.
        (void)number;
        CHECK(row->randomNumber >= 1);
        CHECK(row->randomNumber <= 10'000);
    }
}

TEST_CASE("/cached-queries: rows from the per-worker cache match the database; count clamped")
{
    running_db_tfb tfb;
    for (auto [query, expected] :
         {std::pair{"count=3", 3}, {"count=0", 1}, {"count=x", 1}, {"count=501", 500}, {"", 1}}) {
        const std::string request =
            std::string("GET /cached-queries?") + query + " HTTP/1.1\r\nHost: x\r\n\r\n";
        auto r = exchange(tfb.port, request);
        REQUIRE(r.responses.size() == 1);
        CHECK(r.responses[0].status == 200);
        CHECK(r.responses[0].headers["content-type"] == "application/json");
        CHECK(r.responses[0].body.front() == '[');
        CHECK(count(r.responses[0].body, world_json) == static_cast<std::size_t>(expected));
    }
    // Twice the same large count: the second is served from the warm caches;
    // every row is the database's.
    auto check_db = covet::orm::database::open("sqlite://" + (tfb.dir / "tfb.db").string());
    for (int round = 0; round < 2; ++round) {
        auto r = exchange(tfb.port, "GET /cached-queries?count=500 HTTP/1.1\r\nHost: x\r\n\r\n");
        REQUIRE(r.responses.size() == 1);
        const std::string body = r.responses[0].body;
        REQUIRE(count(body, world_json) == 500);
        for (auto it = std::sregex_iterator(body.begin(), body.end(), world_json);
             it != std::sregex_iterator(); ++it) {
            auto row = covet::net::block_on(check_db.find<covet::tfb::world>(std::stoll((*it)[1])));
            REQUIRE(row);
            CHECK(row->randomNumber == std::stoll((*it)[2]));
        }
    }
}
