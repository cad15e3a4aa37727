// Byte-class scanners for the parser's hot loops. Field values and request
// targets are validated 32 (AVX2) or 16 (SSE2) bytes at a time; the AVX2 path
// is chosen at run time, SSE2 is the x86-64 baseline, and other CPUs use SWAR.
#include <covet/http/parser.hpp>

#include <cstring>

#if (defined(__x86_64__) || defined(_M_X64)) && !defined(COVET_HTTP_PORTABLE_SCAN)
#define COVET_HTTP_X86 1
#include <immintrin.h>
#endif

namespace covet::http::detail {
namespace {

inline bool invalid_field_byte(unsigned char c) noexcept
{
    return (c < 0x20 && c != '\t') || c == 0x7f;
}
inline bool non_vchar(unsigned char c) noexcept
{
    return c < 0x21 || c > 0x7e;
}

const char* scalar_invalid_field(const char* p, const char* end) noexcept
{
    for (; p < end; ++p) {
        if (invalid_field_byte(static_cast<unsigned char>(*p))) {
            return p;
        }
    }
    return end;
}

const char* scalar_non_vchar(const char* p, const char* end) noexcept
{
    for (; p < end; ++p) {
        if (non_vchar(static_cast<unsigned char>(*p))) {
            return p;
        }
    }
    return end;
}

#if defined(COVET_HTTP_X86)

// Unsigned byte compares via max/min: x >= k  <=>  max(x, k) == x.
inline __m128i sse_invalid_field_mask(__m128i x) noexcept
{
    const __m128i ge_space = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x20)), x);
    const __m128i tab = _mm_cmpeq_epi8(x, _mm_set1_epi8('\t'));
    const __m128i del = _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7f));
    return _mm_or_si128(_mm_andnot_si128(_mm_or_si128(ge_space, tab), _mm_set1_epi8(-1)), del);
}

inline __m128i sse_non_vchar_mask(__m128i x) noexcept
{
    const __m128i ge = _mm_cmpeq_epi8(_mm_max_epu8(x, _mm_set1_epi8(0x21)), x);
    const __m128i le = _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8(0x7e)), x);
    return _mm_andnot_si128(_mm_and_si128(ge, le), _mm_set1_epi8(-1));
}

const char* sse2_invalid_field(const char* p, const char* end) noexcept
{
    while (end - p >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if (const int mask = _mm_movemask_epi8(sse_invalid_field_mask(x))) {
            return p + __builtin_ctz(static_cast<unsigned>(mask));
        }
        p += 16;
    }
    return scalar_invalid_field(p, end);
}

const char* sse2_non_vchar(const char* p, const char* end) noexcept
{
    while (end - p >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        if (const int mask = _mm_movemask_epi8(sse_non_vchar_mask(x))) {
            return p + __builtin_ctz(static_cast<unsigned>(mask));
        }
        p += 16;
    }
    return scalar_non_vchar(p, end);
}

__attribute__((target("avx2"))) const char* avx2_invalid_field(const char* p, const char* end) noexcept
{
    while (end - p >= 32) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i ge_space = _mm256_cmpeq_epi8(_mm256_max_epu8(x, _mm256_set1_epi8(0x20)), x);
        const __m256i tab = _mm256_cmpeq_epi8(x, _mm256_set1_epi8('\t'));
        const __m256i del = _mm256_cmpeq_epi8(x, _mm256_set1_epi8(0x7f));
        const __m256i bad =
            _mm256_or_si256(_mm256_andnot_si256(_mm256_or_si256(ge_space, tab), _mm256_set1_epi8(-1)), del);
        if (const unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(bad))) {
            return p + __builtin_ctz(mask);
        }
        p += 32;
    }
    return sse2_invalid_field(p, end);
}

__attribute__((target("avx2"))) const char* avx2_non_vchar(const char* p, const char* end) noexcept
{
    while (end - p >= 32) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i ge = _mm256_cmpeq_epi8(_mm256_max_epu8(x, _mm256_set1_epi8(0x21)), x);
        const __m256i le = _mm256_cmpeq_epi8(_mm256_min_epu8(x, _mm256_set1_epi8(0x7e)), x);
        const __m256i bad = _mm256_andnot_si256(_mm256_and_si256(ge, le), _mm256_set1_epi8(-1));
        if (const unsigned mask = static_cast<unsigned>(_mm256_movemask_epi8(bad))) {
            return p + __builtin_ctz(mask);
        }
        p += 32;
    }
    return sse2_non_vchar(p, end);
}

#else

// SWAR: eight bytes at a time. A word has a byte < n when
// (w - n*0x01..) & ~w & 0x80.. is non-zero (exact for n <= 128).
constexpr std::uint64_t ones = 0x0101010101010101ull;
constexpr std::uint64_t highs = 0x8080808080808080ull;

inline bool has_less(std::uint64_t w, std::uint8_t n) noexcept
{
    return ((w - ones * n) & ~w & highs) != 0;
}
inline bool has_byte(std::uint64_t w, std::uint8_t b) noexcept
{
    return has_less(w ^ (ones * b), 1);
}

const char* swar_invalid_field(const char* p, const char* end) noexcept
{
    while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (has_less(w, 0x20) || has_byte(w, 0x7f)) {
            const char* hit = scalar_invalid_field(p, p + 8);
            if (hit != p + 8) {
                return hit;
            }
        }
        p += 8;
    }
    return scalar_invalid_field(p, end);
}

const char* swar_non_vchar(const char* p, const char* end) noexcept
{
    while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (has_less(w, 0x21) || (w & highs) != 0 || has_byte(w, 0x7f)) {
            const char* hit = scalar_non_vchar(p, p + 8);
            if (hit != p + 8) {
                return hit;
            }
        }
        p += 8;
    }
    return scalar_non_vchar(p, end);
}

#endif

struct scanner {
    const char* (*invalid_field)(const char*, const char*) noexcept;
    const char* (*non_vchar)(const char*, const char*) noexcept;
    std::string_view name;
};

scanner choose() noexcept
{
#if defined(COVET_HTTP_X86)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) {
        return {avx2_invalid_field, avx2_non_vchar, "avx2"};
    }
    return {sse2_invalid_field, sse2_non_vchar, "sse2"};
#else
    return {swar_invalid_field, swar_non_vchar, "swar"};
#endif
}

const scanner& active() noexcept
{
    static const scanner chosen = choose();
    return chosen;
}

}  // namespace

const char* find_invalid_field_byte(const char* p, const char* end) noexcept
{
    // Most field values are short: a plain loop beats the dispatch there, and
    // SSE2 (always present on x86-64) beats AVX2's dispatch up to a few blocks.
    if (end - p < 16) {
        return scalar_invalid_field(p, end);
    }
#if defined(COVET_HTTP_X86)
    if (end - p < 128) {
        return sse2_invalid_field(p, end);
    }
#endif
    return active().invalid_field(p, end);
}

const char* find_non_vchar(const char* p, const char* end) noexcept
{
    if (end - p < 16) {
        return scalar_non_vchar(p, end);
    }
#if defined(COVET_HTTP_X86)
    if (end - p < 128) {
        return sse2_non_vchar(p, end);
    }
#endif
    return active().non_vchar(p, end);
}

std::string_view scanner_name() noexcept
{
    return active().name;
}

}  // namespace covet::http::detail
