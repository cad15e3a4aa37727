// Uncontended acquire + release of an idle resource, per-thread and shared
// mode; the target is <= 50 ns per pair in per-thread mode. try_acquire() is
// the plain function; acquire() adds one coroutine frame (an asio::awaitable).
#include <covet/net/spawn.hpp>
#include <covet/pool/pool.hpp>

#include <benchmark/benchmark.h>

namespace {

struct resource {
    int value = 0;
};

covet::pool::pool<resource>::factory_type factory()
{
    return []() -> covet::task<covet::result<resource>> { co_return resource{}; };
}

covet::pool::options opts(covet::pool::mode m)
{
    covet::pool::options o;
    o.max_size = 4;
    o.mode = m;
    return o;
}

void warm(covet::pool::pool<resource>& p)
{
    covet::net::block_on([](covet::pool::pool<resource>& pl) -> covet::task<void> {
        auto h = co_await pl.acquire();
        (void)h;
    }(p));
}

void try_acquire_release(benchmark::State& state, covet::pool::mode m)
{
    covet::pool::pool<resource> p(factory(), opts(m));
    warm(p);
    for (auto _ : state) {
        auto h = p.try_acquire();
        benchmark::DoNotOptimize(h->get().value);
    }
}

void co_acquire_release(benchmark::State& state, covet::pool::mode m)
{
    covet::pool::pool<resource> p(factory(), opts(m));
    warm(p);
    covet::net::block_on([](benchmark::State& st, covet::pool::pool<resource>& pl) -> covet::task<void> {
        for (auto _ : st) {
            auto h = co_await pl.acquire();
            benchmark::DoNotOptimize(h->get().value);
        }
    }(state, p));
}

void BM_try_acquire_release_per_thread(benchmark::State& s)
{
    try_acquire_release(s, covet::pool::mode::per_thread);
}
void BM_try_acquire_release_shared(benchmark::State& s)
{
    try_acquire_release(s, covet::pool::mode::shared);
}
void BM_co_acquire_release_per_thread(benchmark::State& s)
{
    co_acquire_release(s, covet::pool::mode::per_thread);
}
void BM_co_acquire_release_shared(benchmark::State& s)
{
    co_acquire_release(s, covet::pool::mode::shared);
}

BENCHMARK(BM_try_acquire_release_per_thread);
BENCHMARK(BM_try_acquire_release_shared);
BENCHMARK(BM_co_acquire_release_per_thread);
BENCHMARK(BM_co_acquire_release_shared);

}  // namespace

BENCHMARK_MAIN();
