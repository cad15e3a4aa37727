// Text vs binary result columns in the same binary: each case runs once on a
// database opened with `binary_results=off` (every result in text) and once
// with the default (binary for statements of numbers/bool/bytea/text).
// Against a throwaway PostgreSQL 15 (as the tests start it), or the server of
// COVET_PG_URL. Under callgrind, only the measured loops are collected:
//   COVET_BENCH_ITERATIONS=2000 valgrind --tool=callgrind --collect-atstart=no
//       build/release/libs/postgres/covet_postgres_bench --benchmark_filter=find_world/text
// (instructions of the client process per iteration = Ir / 2000).
// The throwaway server of the tests, without doctest (nothing is registered).
#define DOCTEST_CONFIG_DISABLE
#include "../tests/pg_server.hpp"

#include <covet/net/spawn.hpp>
#include <covet/orm/orm.hpp>
#include <covet/postgres/postgres.hpp>

#include <benchmark/benchmark.h>
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_TOGGLE_COLLECT
#endif

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace pgbench {

struct world {
    std::int64_t id = 0;
    std::int64_t randomNumber = 0;
};
COVET_REFLECT(world, id, randomNumber);
COVET_MODEL(world, "bench_world", id);

struct wide {
    std::int64_t id = 0;
    double amount = 0;
    bool flag = false;
    covet::orm::blob bytes;
};
COVET_REFLECT(wide, id, amount, flag, bytes);

}  // namespace pgbench

namespace {

namespace orm = covet::orm;
using covet::task;
using covet::net::block_on;

std::string server_url()
{
    if (const char* url = std::getenv("COVET_PG_URL")) {
        return url;
    }
    auto* server = pgtest::shared();
    return server != nullptr ? server->url() : std::string();
}

std::string url_for(bool binary)
{
    static const std::string base = server_url();
    if (base.empty()) {
        return base;
    }
    const char* separator = base.find('?') == std::string::npos ? "?" : "&";
    return binary ? base : base + separator + "binary_results=off";
}

void seed_once()
{
    static const bool seeded = [] {
        block_on([]() -> task<void> {
            auto db = orm::database::open(url_for(true));
            co_await db.execute(
                "DROP TABLE IF EXISTS bench_world; DROP TABLE IF EXISTS bench_wide;"
                "CREATE TABLE bench_world (id INTEGER PRIMARY KEY, \"randomNumber\" INTEGER NOT NULL);"
                "INSERT INTO bench_world SELECT i, 1 + (i * 7919) % 10000 FROM generate_series(1, 10000) i;"
                "CREATE TABLE bench_wide (id BIGINT PRIMARY KEY, amount DOUBLE PRECISION NOT NULL,"
                "  flag BOOLEAN NOT NULL, bytes BYTEA NOT NULL);"
                "INSERT INTO bench_wide SELECT i, i / 7.0, i % 2 = 0, decode(repeat(md5(i::text), 2), 'hex')"
                "  FROM generate_series(1, 1000) i;"
                "ANALYZE");
            db.close();
        }());
        return true;
    }();
    (void)seeded;
}

// Runs `body(db)` for every benchmark iteration inside one block_on; only these
// iterations are collected under callgrind.
template <class Body>
void run(benchmark::State& state, bool binary, Body body)
{
    if (url_for(true).empty()) {
        state.SkipWithError("no PostgreSQL 15 (install postgresql or set COVET_PG_URL)");
        return;
    }
    seed_once();
    block_on([](benchmark::State& st, bool bin, Body& b) -> task<void> {
        auto db = orm::database::open(url_for(bin));
        co_await b(db);  // warm up: connect, prepare, learn the column types
        CALLGRIND_TOGGLE_COLLECT;
        for (auto _ : st) {
            co_await b(db);
        }
        CALLGRIND_TOGGLE_COLLECT;
        db.close();
    }(state, binary, body));
}

// The TFB /db query: one row of two integers by primary key.
void find_world(benchmark::State& state, bool binary)
{
    std::int64_t id = 0;
    run(state, binary, [&id](orm::database& db) -> task<void> {
        id = id % 10000 + 1;
        auto row = co_await db.find<pgbench::world>(id);
        benchmark::DoNotOptimize(row);
    });
}

void thousand_worlds(benchmark::State& state, bool binary)
{
    run(state, binary, [](orm::database& db) -> task<void> {
        auto rows = co_await db.query<pgbench::world>(
            "SELECT id, \"randomNumber\" FROM bench_world WHERE id <= $1", 1000);
        benchmark::DoNotOptimize(rows.data());
    });
    state.SetItemsProcessed(state.iterations() * 1000);
}

// int8, float8, bool and a 32-byte bytea per row.
void thousand_wide(benchmark::State& state, bool binary)
{
    run(state, binary, [](orm::database& db) -> task<void> {
        auto rows = co_await db.query<pgbench::wide>("SELECT id, amount, flag, bytes FROM bench_wide");
        benchmark::DoNotOptimize(rows.data());
    });
    state.SetItemsProcessed(state.iterations() * 1000);
}

}  // namespace

int main(int argc, char** argv)
{
    benchmark::Initialize(&argc, argv);
    const char* fixed = std::getenv("COVET_BENCH_ITERATIONS");
    const auto iterations = fixed != nullptr ? std::strtoll(fixed, nullptr, 10) : 0;
    for (const bool binary : {false, true}) {
        const std::string mode = binary ? "/binary" : "/text";
        std::vector<benchmark::internal::Benchmark*> added = {
            benchmark::RegisterBenchmark(("find_world" + mode).c_str(), find_world, binary),
            benchmark::RegisterBenchmark(("thousand_worlds" + mode).c_str(), thousand_worlds, binary),
            benchmark::RegisterBenchmark(("thousand_wide" + mode).c_str(), thousand_wide, binary),
        };
        for (auto* b : added) {
            b->Unit(benchmark::kMicrosecond);
            if (iterations > 0) {
                b->Iterations(iterations);
            }
        }
    }
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
