#include <covet/base/percent.hpp>

#include <doctest/doctest.h>

#include <array>
#include <string>

using namespace std::string_literals;

TEST_CASE("percent_decode: escapes of either case, '+' only in form encoding")
{
    std::string out;
    CHECK(covet::percent_decode("%41%62+c%7e%2F", out));
    CHECK(out == "Ab+c~/");
    out.clear();
    CHECK(covet::percent_decode("a+b%20c", out, true));
    CHECK(out == "a b c");
    out.clear();
    CHECK(covet::percent_decode("%00%ff", out));
    CHECK(out == "\0\xff"s);
    for (const char* bad : {"%", "%4", "%G1", "%1G", "ab%", "ab%-1"}) {
        std::string ignored;
        CAPTURE(bad);
        CHECK_FALSE(covet::percent_decode(bad, ignored));
    }
}

TEST_CASE("percent_decode into a buffer: no allocation, limits as errors")
{
    std::array<char, 4> buf{};
    CHECK(covet::percent_decode("%41bcd", std::span<char>(buf)).value() == 4);
    CHECK(std::string(buf.data(), 4) == "Abcd");
    CHECK(covet::percent_decode("a+b", std::span<char>(buf), true).value() == 3);
    CHECK(std::string(buf.data(), 3) == "a b");
    CHECK(covet::percent_decode("abcde", std::span<char>(buf)).error() == covet::errc::limit_exceeded);
    CHECK(covet::percent_decode("%4", std::span<char>(buf)).error() == covet::errc::invalid_argument);
}

TEST_CASE("percent_encode keeps unreserved bytes (and '/' when asked) and round-trips")
{
    std::string out;
    covet::percent_encode("a/b c~\xe2\x82\xac", out);
    CHECK(out == "a%2Fb%20c~%E2%82%AC");
    out.clear();
    covet::percent_encode("a/b c", out, true);
    CHECK(out == "a/b%20c");
    std::string all;
    for (int c = 0; c < 256; ++c) {
        all += static_cast<char>(c);
    }
    std::string encoded;
    covet::percent_encode(all, encoded);
    std::string decoded;
    CHECK(covet::percent_decode(encoded, decoded));
    CHECK(decoded == all);
}
