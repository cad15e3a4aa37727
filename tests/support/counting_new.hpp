#pragma once
// Replaces the global operator new and delete with versions that count every
// allocation in the process, for the zero-allocation claims of tests and
// benchmarks. Include in exactly one source file of a binary; read the count
// with covet::testing::allocations().

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace covet::testing {
inline std::atomic<std::uint64_t> allocation_counter{0};
inline std::uint64_t allocations() noexcept
{
    return allocation_counter.load(std::memory_order_relaxed);
}
}  // namespace covet::testing

// g++ 12 sees these inlined into std containers and reports free() of a
// pointer from operator new; it is the pair's own malloc.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t size)
{
    covet::testing::allocation_counter.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size)) {
        return p;
    }
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept
{
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept
{
    std::free(p);
}
