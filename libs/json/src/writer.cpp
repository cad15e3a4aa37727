#include <covet/json/writer.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace covet::json {

writer::writer(writer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)),
      depth_(std::exchange(other.depth_, 0)),
      options_(other.options_)
{
}

writer& writer::operator=(writer&& other) noexcept
{
    if (this != &other) {
        std::free(data_);
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
        depth_ = std::exchange(other.depth_, 0);
        options_ = other.options_;
    }
    return *this;
}

writer::~writer()
{
    std::free(data_);
}

void writer::grow(std::size_t n)
{
    std::size_t want = capacity_ * 2;
    if (want < size_ + n) {
        want = size_ + n;
    }
    if (want < 256) {
        want = 256;
    }
    // realloc: growing is rare and copying in place is what we want anyway.
    auto* p = static_cast<char*>(std::realloc(data_, want));
    if (p == nullptr) {
        throw std::bad_alloc();
    }
    data_ = p;
    capacity_ = want;
}

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Writes the escape sequence of one byte that needs escaping; returns the new end.
inline char* escape_byte(char* out, unsigned char c) noexcept
{
    *out++ = '\\';
    switch (c) {
    case '"': *out++ = '"'; break;
    case '\\': *out++ = '\\'; break;
    case '\b': *out++ = 'b'; break;
    case '\f': *out++ = 'f'; break;
    case '\n': *out++ = 'n'; break;
    case '\r': *out++ = 'r'; break;
    case '\t': *out++ = 't'; break;
    default:
        *out++ = 'u';
        *out++ = '0';
        *out++ = '0';
        *out++ = hex_digits[c >> 4];
        *out++ = hex_digits[c & 0xf];
    }
    return out;
}

inline bool needs_escape(unsigned char c) noexcept
{
    return c < 0x20 || c == '"' || c == '\\';
}

// SWAR "some byte is a quote, a backslash or below 0x20" for 4 or 8 bytes;
// exact for the question "any byte?" (the classic has-less-than test).
template <class Word>
inline bool word_needs_escape(Word w) noexcept
{
    constexpr Word ones = static_cast<Word>(0x0101010101010101ull);
    constexpr Word highs = static_cast<Word>(0x8080808080808080ull);
    const Word q = w ^ (ones * '"');
    const Word b = w ^ (ones * '\\');
    const Word hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
    return (hit & highs) != 0;
}

// Copies n bytes (sizeof(Word) <= n <= 2 * sizeof(Word)) that need no
// escaping with two overlapping word loads and stores; false, with nothing
// written, if a byte needs escaping.
template <class Word>
inline bool copy_overlapping_plain(char* out, const char* p, std::size_t n) noexcept
{
    Word head;
    Word tail;
    std::memcpy(&head, p, sizeof(Word));
    std::memcpy(&tail, p + n - sizeof(Word), sizeof(Word));
    if (word_needs_escape(head) || word_needs_escape(tail)) {
        return false;
    }
    std::memcpy(out, &head, sizeof(Word));
    std::memcpy(out + n - sizeof(Word), &tail, sizeof(Word));
    return true;
}

// A 4..16 byte string that needs no escaping (most keys and short values),
// copied without a byte loop; false if a byte needs escaping or the size is
// out of range, with nothing written.
inline bool copy_short_plain(char* out, const char* p, std::size_t n) noexcept
{
    if (n >= 8 && n <= 16) {
        return copy_overlapping_plain<std::uint64_t>(out, p, n);
    }
    if (n >= 4 && n < 8) {
        return copy_overlapping_plain<std::uint32_t>(out, p, n);
    }
    return false;
}

}  // namespace

void writer::string(std::string_view s)
{
    // Worst case every byte becomes \u00XX: reserve once, then write unchecked.
    reserve(s.size() * 6 + 2);
    char* out = data_ + size_;
    *out++ = '"';
    if (copy_short_plain(out, s.data(), s.size())) {
        out[s.size()] = '"';
        size_ = static_cast<std::size_t>(out + s.size() + 1 - data_);
        return;
    }
    const char* p = s.data();
    const char* const end = p + s.size();
#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i backslash = _mm_set1_epi8('\\');
    const __m128i control_max = _mm_set1_epi8(0x1f);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        // Copy the whole block optimistically; only the part before the first
        // byte to escape is kept.
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), v);
        __m128i is_control = _mm_cmpeq_epi8(_mm_max_epu8(v, control_max), control_max);
        __m128i hits =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)), is_control);
        auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
        if (mask == 0) {
            p += 16;
            out += 16;
            continue;
        }
        auto i = static_cast<unsigned>(__builtin_ctz(mask));
        p += i;
        out += i;
        out = escape_byte(out, static_cast<unsigned char>(*p++));
    }
#else
    // SWAR: eight bytes at a time; the tests are exact for "some byte matches".
    constexpr std::uint64_t ones = 0x0101010101010101ull;
    constexpr std::uint64_t highs = 0x8080808080808080ull;
    while (end - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        std::uint64_t q = w ^ (ones * '"');
        std::uint64_t b = w ^ (ones * '\\');
        std::uint64_t hit = ((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w);
        if ((hit & highs) == 0) {
            std::memcpy(out, p, 8);
            p += 8;
            out += 8;
            continue;
        }
        for (int k = 0; k < 8; ++k) {
            auto c = static_cast<unsigned char>(*p++);
            if (needs_escape(c)) {
                out = escape_byte(out, c);
            } else {
                *out++ = static_cast<char>(c);
            }
        }
    }
#endif
    while (p < end) {
        auto c = static_cast<unsigned char>(*p++);
        if (needs_escape(c)) [[unlikely]] {
            out = escape_byte(out, c);
        } else {
            *out++ = static_cast<char>(c);
        }
    }
    *out++ = '"';
    size_ = static_cast<std::size_t>(out - data_);
}

void writer::signed_number(std::int64_t i)
{
    reserve(24);
    auto r = std::to_chars(data_ + size_, data_ + capacity_, i);
    size_ = static_cast<std::size_t>(r.ptr - data_);
}

void writer::unsigned_number(std::uint64_t u)
{
    reserve(24);
    auto r = std::to_chars(data_ + size_, data_ + capacity_, u);
    size_ = static_cast<std::size_t>(r.ptr - data_);
}

void writer::number(double d)
{
    if (!std::isfinite(d)) [[unlikely]] {
        null();
        return;
    }
    reserve(34);
    auto r = std::to_chars(data_ + size_, data_ + capacity_, d);
    keep_floating(r.ptr);
}

void writer::number(float f)
{
    if (!std::isfinite(f)) [[unlikely]] {
        null();
        return;
    }
    reserve(34);
    auto r = std::to_chars(data_ + size_, data_ + capacity_, f);
    keep_floating(r.ptr);
}

void writer::keep_floating(char* end) noexcept
{
    // "200" would read back as an integer: write "200.0" so the kind survives a round trip.
    bool integral = true;
    for (const char* p = data_ + size_; p < end; ++p) {
        integral = integral && (*p == '-' || (*p >= '0' && *p <= '9'));
    }
    if (integral) {
        *end++ = '.';
        *end++ = '0';
    }
    size_ = static_cast<std::size_t>(end - data_);
}

}  // namespace covet::json
