#pragma once
// Checks of the TFB database endpoints per the TechEmpower rules over real
// sockets, shared by the SQLite test (app in process) and the PostgreSQL test
// (the covet_tfb binary). `db_url` is the server's database, read back to
// compare every returned row with what is stored.
#include "tfb_db.hpp"

#include "http_test_support.hpp"

#include <covet/net/spawn.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <regex>
#include <string>
#include <vector>

namespace covet::tfb::testing {

using http::testing::wire_response;

inline const std::regex world_json(R"(\{"id":(\d+),"randomNumber":(\d+)\})");

inline std::size_t count_matches(const std::string& text, const std::regex& re)
{
    return static_cast<std::size_t>(std::distance(std::sregex_iterator(text.begin(), text.end(), re), {}));
}

/// The World rows of a JSON body, in order.
inline std::vector<world> worlds_in(const std::string& body)
{
    std::vector<world> out;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), world_json); it != std::sregex_iterator();
         ++it) {
        out.push_back(world{std::stoll((*it)[1]), std::stoll((*it)[2])});
    }
    return out;
}

/// Every World row of the database: id -> randomNumber.
inline std::map<std::int64_t, std::int64_t> stored_worlds(const std::string& db_url)
{
    return net::block_on([](std::string url) -> task<std::map<std::int64_t, std::int64_t>> {
        auto db = orm::database::open(url);
        auto rows = co_await db.all(orm::select<world>());
        db.close();
        std::map<std::int64_t, std::int64_t> out;
        for (const auto& w : rows) {
            out[w.id] = w.randomNumber;
        }
        co_return out;
    }(db_url));
}

/// GET `target`: one 200 response with the headers the rules require.
inline wire_response get_ok(std::uint16_t port, const std::string& target, const std::string& content_type)
{
    auto r = http::testing::exchange(port, "GET " + target + " HTTP/1.1\r\nHost: tfb\r\n\r\n");
    REQUIRE(r.responses.size() == 1);
    auto response = r.responses[0];
    CAPTURE(target);
    CHECK(response.status == 200);
    CHECK(response.headers["content-type"] == content_type);
    CHECK(!response.headers["server"].empty());
    CHECK(!response.headers["date"].empty());
    CHECK(response.headers["content-length"] == std::to_string(response.body.size()));
    return response;
}

/// Rows that are each in 1..10000 and equal to the stored ones.
inline void check_rows_stored(const std::vector<world>& rows,
                              const std::map<std::int64_t, std::int64_t>& stored)
{
    for (const auto& w : rows) {
        CAPTURE(w.id);
        REQUIRE(stored.contains(w.id));
        CHECK(stored.at(w.id) == w.randomNumber);
        CHECK(w.randomNumber >= 1);
        CHECK(w.randomNumber <= world_rows);
    }
}

inline void check_world_endpoint(std::uint16_t port, const std::string& db_url, const std::string& path,
                                 const char* parameter)
{
    const auto stored = stored_worlds(db_url);
    REQUIRE(stored.size() == static_cast<std::size_t>(world_rows));
    const std::string p = parameter;
    const std::vector<std::pair<std::string, std::size_t>> cases = {
        {"", 1},
        {"?" + p + "=0", 1},
        {"?" + p + "=1", 1},
        {"?" + p + "=20", 20},
        {"?" + p + "=500", 500},
        {"?" + p + "=501", 500},
        {"?" + p + "=foo", 1},
        {"?" + p + "=", 1},
        {"?" + p + "=-3", 1},
    };
    for (const auto& one : cases) {
        const std::string& query = one.first;
        const std::size_t expected = one.second;
        CAPTURE(query);
        auto r = get_ok(port, path + query, "application/json");
        CHECK(r.body.front() == '[');
        CHECK(r.body.back() == ']');
        const auto rows = worlds_in(r.body);
        CHECK(rows.size() == expected);
        CHECK(count_matches(r.body, std::regex(R"(\{)")) == expected);  // nothing but World objects
        check_rows_stored(rows, stored);
    }
}

/// /db, /queries, /fortunes and /updates.
inline void check_db_endpoints(std::uint16_t port, const std::string& db_url)
{
    {
        auto r = get_ok(port, "/db", "application/json");
        CHECK(std::regex_match(r.body, world_json));
        check_rows_stored(worlds_in(r.body), stored_worlds(db_url));
    }

    check_world_endpoint(port, db_url, "/queries", "queries");

    {
        auto r = get_ok(port, "/fortunes", "text/html; charset=utf-8");
        CHECK(r.body ==
              "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
              "<tr><th>id</th><th>message</th></tr>"
              "<tr><td>11</td><td>&lt;script&gt;alert(&quot;This should not be displayed in a browser alert "
              "box.&quot;);&lt;/script&gt;</td></tr>"
              "<tr><td>4</td><td>A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1</td></tr>"
              "<tr><td>5</td><td>A computer program does what you tell it to do, not what you want it to "
              "do.</td></tr>"
              "<tr><td>2</td><td>A computer scientist is someone who fixes things that aren&#x27;t "
              "broken.</td></tr>"
              "<tr><td>8</td><td>A list is only as strong as its weakest link. — Donald Knuth</td></tr>"
              "<tr><td>0</td><td>Additional fortune added at request time.</td></tr>"
              "<tr><td>3</td><td>After enough decimal places, nobody gives a damn.</td></tr>"
              "<tr><td>7</td><td>Any program that runs right is obsolete.</td></tr>"
              "<tr><td>10</td><td>Computers make very fast, very accurate mistakes.</td></tr>"
              "<tr><td>6</td><td>Emacs is a nice operating system, but I prefer UNIX. — Tom "
              "Christaensen</td></tr>"
              "<tr><td>9</td><td>Feature: A bug with seniority.</td></tr>"
              "<tr><td>1</td><td>fortune: No such file or directory</td></tr>"
              "<tr><td>12</td><td>フレームワークのベンチマーク</td></tr>"
              "</table></body></html>");
    }

    // /updates: clamped like /queries; the returned numbers are what is stored
    // now (the last update of an id wins) and the rows really changed.
    const std::vector<std::pair<std::string, std::size_t>> update_cases = {
        {"?queries=0", 1}, {"?queries=foo", 1}, {"?queries=501", 500}, {"?queries=20", 20}};
    for (const auto& one : update_cases) {
        const std::string& query = one.first;
        const std::size_t expected = one.second;
        CAPTURE(query);
        const auto before = stored_worlds(db_url);
        auto r = get_ok(port, "/updates" + query, "application/json");
        const auto rows = worlds_in(r.body);
        CHECK(rows.size() == expected);
        std::map<std::int64_t, std::int64_t> last;
        for (const auto& w : rows) {
            last[w.id] = w.randomNumber;
        }
        const auto after = stored_worlds(db_url);
        std::vector<world> final_rows;
        std::size_t changed = 0;
        for (const auto& [id, number] : last) {
            final_rows.push_back(world{id, number});
            changed += before.at(id) != after.at(id) ? 1 : 0;
        }
        check_rows_stored(final_rows, after);
        // A new random number equals the old one 1 time in 10,000.
        CHECK(changed + 2 >= last.size());
        std::size_t untouched_changed = 0;
        for (const auto& [id, number] : before) {
            untouched_changed += !last.contains(id) && after.at(id) != number ? 1 : 0;
        }
        CHECK(untouched_changed == 0);
    }
}

/// /cached-queries: clamped like /queries; every row equals the database's.
inline void check_cached_queries(std::uint16_t port, const std::string& db_url)
{
    check_world_endpoint(port, db_url, "/cached-queries", "count");
    // Twice the largest count: the second from the warm caches.
    check_world_endpoint(port, db_url, "/cached-queries", "count");
}

}  // namespace covet::tfb::testing
