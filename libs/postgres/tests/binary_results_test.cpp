// Binary result columns: a prepared statement's first run comes back as text
// (the driver learns the column types from it), later runs in binary when all
// columns have a cheap binary form. Both must read exactly alike.
#include "pg_server.hpp"

#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>
#include <covet/postgres/postgres.hpp>

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

using covet::task;
using covet::net::block_on;
namespace orm = covet::orm;

namespace pgbin {

struct sample {
    std::int64_t id = 0;
    std::int16_t i2 = 0;
    std::int32_t i4 = 0;
    std::int64_t i8 = 0;
    float f4 = 0;
    double f8 = 0;
    bool flag = false;
    orm::blob bytes;
    std::string label;
    std::optional<std::int64_t> maybe;
};
COVET_REFLECT(sample, id, i2, i4, i8, f4, f8, flag, bytes, label, maybe);
COVET_MODEL(sample, "binary_samples", id);

// Every column read as text (the ORM's std::string mapping of any type).
struct as_text {
    std::string i2;
    std::string i4;
    std::string i8;
    std::string f4;
    std::string f8;
    std::string flag;
    std::string bytes;
    std::string label;
};
COVET_REFLECT(as_text, i2, i4, i8, f4, f8, flag, bytes, label);

bool same(const sample& a, const sample& b)
{
    const bool floats = (a.f8 == b.f8 || (std::isnan(a.f8) && std::isnan(b.f8))) &&
                        (a.f4 == b.f4 || (std::isnan(a.f4) && std::isnan(b.f4)));
    return a.id == b.id && a.i2 == b.i2 && a.i4 == b.i4 && a.i8 == b.i8 && floats && a.flag == b.flag &&
           a.bytes == b.bytes && a.label == b.label && a.maybe == b.maybe;
}

}  // namespace pgbin

using pgbin::sample;

namespace {

constexpr std::string_view schema = R"(
DROP TABLE IF EXISTS binary_samples;
CREATE TABLE binary_samples (
    id BIGSERIAL PRIMARY KEY,
    i2 SMALLINT NOT NULL,
    i4 INTEGER NOT NULL,
    i8 BIGINT NOT NULL,
    f4 REAL NOT NULL,
    f8 DOUBLE PRECISION NOT NULL,
    flag BOOLEAN NOT NULL,
    bytes BYTEA NOT NULL,
    label TEXT NOT NULL,
    maybe BIGINT
);
)";

std::vector<sample> samples()
{
    orm::blob every_byte;
    for (int b = 0; b < 256; ++b) {
        every_byte.push_back(static_cast<std::byte>(b));
    }
    constexpr double inf = std::numeric_limits<double>::infinity();
    return {
        {0, 1, 2, 3, 1.5F, 2.25, true, every_byte, "ünïcödé ✓", 42},
        {0,
         -32768,
         std::numeric_limits<std::int32_t>::min(),
         std::numeric_limits<std::int64_t>::min(),
         -0.1F,
         -1e-300,
         false,
         {},
         "",
         std::nullopt},
        {0, 32767, std::numeric_limits<std::int32_t>::max(), std::numeric_limits<std::int64_t>::max(),
         3.4e38F, 1.7976931348623157e308, true, orm::blob(3, std::byte{0}), "O'Brien; --", -1},
        {0, 0, 0, 0, static_cast<float>(inf), -inf, false, orm::blob(1, std::byte{0xff}), "x",
         std::numeric_limits<std::int64_t>::min()},
        {0,
         0,
         0,
         0,
         std::numeric_limits<float>::quiet_NaN(),
         std::numeric_limits<double>::quiet_NaN(),
         false,
         {},
         "nan",
         0},
    };
}

task<void> round_trip(orm::database& db)
{
    co_await db.execute(schema);
    auto rows = samples();
    for (auto& s : rows) {
        s.id = co_await db.insert(s);
    }
    // Three runs of each statement: the first in text, then binary.
    for (int run = 0; run < 3; ++run) {
        CAPTURE(run);
        auto all = co_await db.query<sample>("SELECT * FROM binary_samples ORDER BY id");
        REQUIRE(all.size() == rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i) {
            CAPTURE(i);
            CHECK(pgbin::same(all[i], rows[i]));
        }
        for (const auto& s : rows) {
            auto one = co_await db.get<sample>(s.id);
            CHECK(pgbin::same(one, s));
        }
        auto texts = co_await db.query<pgbin::as_text>(
            "SELECT i2, i4, i8, f4, f8, flag, bytes, label FROM binary_samples ORDER BY id");
        REQUIRE(texts.size() == rows.size());
        CHECK(texts[0].i2 == "1");
        CHECK(texts[0].f4 == "1.5");
        CHECK(texts[0].f8 == "2.25");
        CHECK(texts[0].flag == "t");
        CHECK(texts[0].bytes.starts_with("\\x000102"));
        CHECK(texts[0].bytes.size() == 2 + 2 * 256);
        CHECK(texts[0].label == "ünïcödé ✓");
        CHECK(texts[1].i8 == "-9223372036854775808");
        CHECK(texts[1].flag == "f");
        CHECK(texts[1].bytes == "\\x");
        CHECK(texts[3].f4 == "Infinity");
        CHECK(texts[3].f8 == "-Infinity");
        CHECK(texts[4].f8 == "NaN");
        // Integers read as double and floats as integers (truncated), as in text.
        auto as_double =
            co_await db.query_one<double>("SELECT i4 FROM binary_samples WHERE id = $1", rows[2].id);
        CHECK(as_double == static_cast<double>(std::numeric_limits<std::int32_t>::max()));
        auto truncated =
            co_await db.query_one<std::int64_t>("SELECT f8 FROM binary_samples WHERE id = $1", rows[0].id);
        CHECK(truncated == 2);
        auto flag_as_int =
            co_await db.query_one<std::int64_t>("SELECT flag FROM binary_samples WHERE id = $1", rows[0].id);
        CHECK(flag_as_int == 1);
        // A NUMERIC column keeps the whole statement in text.
        auto numeric = co_await db.query_one<double>(
            "SELECT (f8 * 2)::numeric + i4 FROM binary_samples WHERE id = $1", rows[0].id);
        CHECK(numeric == doctest::Approx(6.5));
    }
}

}  // namespace

TEST_CASE("postgres binary results: numbers, bool, bytea and text read the same as in text format")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url());
        co_await round_trip(db);
        db.close();
    }());
}

TEST_CASE("postgres binary results: binary_results=off in the URL keeps text")
{
    PG_SERVER_OR_SKIP(server);
    block_on([&]() -> task<void> {
        auto db = orm::database::open(server->url() + "&binary_results=off");
        co_await round_trip(db);
        db.close();
    }());
}
