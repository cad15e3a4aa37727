// covet's RESP parser against hiredis's reader (Debian's libhiredis, the
// parser most C/C++ Redis clients use) on the same bytes, in one binary:
// an MGET-like array of 100 bulk strings, a 4 KiB bulk string, and +OK.
#include <covet/redis/resp.hpp>

#include <benchmark/benchmark.h>
#include <hiredis/hiredis.h>

#include <string>

namespace {

std::string mget_reply()
{
    std::string out = "*100\r\n";
    for (int i = 0; i < 100; ++i) {
        const std::string v = "value-" + std::to_string(i * 7919);
        out += "$" + std::to_string(v.size()) + "\r\n" + v + "\r\n";
    }
    return out;
}

std::string big_bulk()
{
    return "$4096\r\n" + std::string(4096, 'x') + "\r\n";
}

void covet_parse(benchmark::State& state, const std::string& bytes)
{
    for (auto _ : state) {
        covet::redis::value v;
        std::size_t used = 0;
        auto st = covet::redis::parse(bytes, v, used);
        benchmark::DoNotOptimize(st);
        benchmark::DoNotOptimize(v);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}

void hiredis_parse(benchmark::State& state, const std::string& bytes)
{
    redisReader* reader = redisReaderCreate();
    for (auto _ : state) {
        redisReaderFeed(reader, bytes.data(), bytes.size());
        void* reply = nullptr;
        redisReaderGetReply(reader, &reply);
        benchmark::DoNotOptimize(reply);
        freeReplyObject(reply);
    }
    redisReaderFree(reader);
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes.size()));
}

void BM_mget100_covet(benchmark::State& s)
{
    covet_parse(s, mget_reply());
}
void BM_mget100_hiredis(benchmark::State& s)
{
    hiredis_parse(s, mget_reply());
}
void BM_bulk4k_covet(benchmark::State& s)
{
    covet_parse(s, big_bulk());
}
void BM_bulk4k_hiredis(benchmark::State& s)
{
    hiredis_parse(s, big_bulk());
}
void BM_ok_covet(benchmark::State& s)
{
    covet_parse(s, "+OK\r\n");
}
void BM_ok_hiredis(benchmark::State& s)
{
    hiredis_parse(s, "+OK\r\n");
}
BENCHMARK(BM_mget100_covet);
BENCHMARK(BM_mget100_hiredis);
BENCHMARK(BM_bulk4k_covet);
BENCHMARK(BM_bulk4k_hiredis);
BENCHMARK(BM_ok_covet);
BENCHMARK(BM_ok_hiredis);

}  // namespace

BENCHMARK_MAIN();
