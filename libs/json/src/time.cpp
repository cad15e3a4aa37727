#include <covet/json/time.hpp>

#include <cstdint>

namespace covet::json {

namespace {

// Days since 1970-01-01 of a proleptic Gregorian date, and back (the classic
// era-based civil calendar conversion, which is exact for every int year).
constexpr std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) noexcept
{
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct civil {
    std::int64_t y;
    unsigned m, d;
};

constexpr civil civil_from_days(std::int64_t z) noexcept
{
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {y + (m <= 2), m, d};
}

static_assert(days_from_civil(1970, 1, 1) == 0);
static_assert(civil_from_days(0).y == 1970);

constexpr bool leap(std::int64_t y) noexcept
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

constexpr unsigned days_in_month(std::int64_t y, unsigned m) noexcept
{
    constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

char* put2(char* out, unsigned v) noexcept
{
    *out++ = static_cast<char>('0' + v / 10);
    *out++ = static_cast<char>('0' + v % 10);
    return out;
}

}  // namespace

std::size_t format_rfc3339(sys_nanoseconds t, char* out) noexcept
{
    using namespace std::chrono;
    const std::int64_t ns_total = t.time_since_epoch().count();
    std::int64_t secs = ns_total / 1'000'000'000;
    std::int64_t ns = ns_total % 1'000'000'000;
    if (ns < 0) {
        ns += 1'000'000'000;
        --secs;
    }
    std::int64_t days = secs / 86400;
    std::int64_t sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        --days;
    }
    const civil c = civil_from_days(days);
    char* p = out;
    // Years outside 0000..9999 cannot be written in RFC 3339: clamp to the range.
    std::int64_t year = c.y < 0 ? 0 : (c.y > 9999 ? 9999 : c.y);
    *p++ = static_cast<char>('0' + year / 1000);
    *p++ = static_cast<char>('0' + year / 100 % 10);
    *p++ = static_cast<char>('0' + year / 10 % 10);
    *p++ = static_cast<char>('0' + year % 10);
    *p++ = '-';
    p = put2(p, c.m);
    *p++ = '-';
    p = put2(p, c.d);
    *p++ = 'T';
    p = put2(p, static_cast<unsigned>(sod / 3600));
    *p++ = ':';
    p = put2(p, static_cast<unsigned>(sod / 60 % 60));
    *p++ = ':';
    p = put2(p, static_cast<unsigned>(sod % 60));
    if (ns != 0) {
        int digits = ns % 1'000'000 == 0 ? 3 : (ns % 1000 == 0 ? 6 : 9);
        *p++ = '.';
        std::int64_t div = 100'000'000;
        for (int i = 0; i < digits; ++i) {
            *p++ = static_cast<char>('0' + ns / div % 10);
            div /= 10;
        }
    }
    *p++ = 'Z';
    return static_cast<std::size_t>(p - out);
}

std::optional<sys_nanoseconds> parse_rfc3339(std::string_view s) noexcept
{
    std::size_t i = 0;
    auto digits = [&](int n, unsigned& v) {
        v = 0;
        for (int k = 0; k < n; ++k) {
            if (i >= s.size() || s[i] < '0' || s[i] > '9') {
                return false;
            }
            v = v * 10 + static_cast<unsigned>(s[i++] - '0');
        }
        return true;
    };
    auto expect = [&](char c) {
        if (i < s.size() && s[i] == c) {
            ++i;
            return true;
        }
        return false;
    };
    unsigned y, mo, d, h, mi, sec;
    if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d)) {
        return std::nullopt;
    }
    if (!(expect('T') || expect('t') || expect(' '))) {
        return std::nullopt;
    }
    if (!digits(2, h) || !expect(':') || !digits(2, mi) || !expect(':') || !digits(2, sec)) {
        return std::nullopt;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60) {
        return std::nullopt;
    }
    std::int64_t ns = 0;
    if (expect('.')) {
        int n = 0;
        std::int64_t scale = 100'000'000;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            if (n < 9) {
                ns += (s[i] - '0') * scale;
                scale /= 10;
            }
            ++n;
            ++i;
        }
        if (n == 0) {
            return std::nullopt;
        }
    }
    std::int64_t offset = 0;
    if (expect('Z') || expect('z')) {
        offset = 0;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i++] == '-' ? -1 : 1;
        unsigned oh, om;
        if (!digits(2, oh) || !expect(':') || !digits(2, om) || oh > 23 || om > 59) {
            return std::nullopt;
        }
        offset = sign * static_cast<std::int64_t>(oh * 3600 + om * 60);
    } else {
        return std::nullopt;
    }
    if (i != s.size()) {
        return std::nullopt;
    }
    // A leap second (:60) folds into the next second, as POSIX time does.
    std::int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    return sys_nanoseconds(std::chrono::nanoseconds(secs * 1'000'000'000 + ns));
}

}  // namespace covet::json
