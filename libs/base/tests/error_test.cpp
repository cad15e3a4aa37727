#include <covet/base/error.hpp>

#include <doctest/doctest.h>

TEST_CASE("covet error codes have a category and messages")
{
    std::error_code ec = covet::errc::timed_out;
    CHECK(std::string(ec.category().name()) == "covet");
    CHECK(ec.message() == "operation timed out");
    CHECK(std::error_code(covet::errc::limit_exceeded).message() == "limit exceeded");
}

TEST_CASE("covet error codes map onto generic conditions")
{
    CHECK(std::error_code(covet::errc::timed_out) == std::errc::timed_out);
    CHECK(std::error_code(covet::errc::cancelled) == std::errc::operation_canceled);
    CHECK(std::error_code(covet::errc::limit_exceeded) != std::errc::timed_out);
}
