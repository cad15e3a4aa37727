#include <covet/base/result.hpp>

#include <doctest/doctest.h>

#include <memory>
#include <string>

TEST_CASE("result holds a value")
{
    covet::result<std::string> r = std::string("hello");
    REQUIRE(r.has_value());
    CHECK(static_cast<bool>(r));
    CHECK(*r == "hello");
    CHECK(r->size() == 5);
    CHECK(r.value() == "hello");
    CHECK(!r.error());
}

TEST_CASE("result holds an error and value() throws system_error")
{
    covet::result<int> r = covet::errc::timed_out;
    REQUIRE(!r.has_value());
    CHECK(r.error() == covet::errc::timed_out);
    CHECK(r.value_or(7) == 7);
    CHECK_THROWS_AS((void)r.value(), std::system_error);
    try {
        (void)r.value();
    } catch (const std::system_error& e) {
        CHECK(e.code() == covet::errc::timed_out);
    }
}

TEST_CASE("result accepts foreign error codes")
{
    covet::result<int> r = std::make_error_code(std::errc::connection_reset);
    CHECK(r.error() == std::errc::connection_reset);
}

TEST_CASE("result of a move-only type moves out")
{
    covet::result<std::unique_ptr<int>> r = std::make_unique<int>(42);
    std::unique_ptr<int> p = std::move(r).value();
    REQUIRE(p);
    CHECK(*p == 42);
}

TEST_CASE("result<void>")
{
    covet::result<void> ok;
    CHECK(ok.has_value());
    CHECK_NOTHROW(ok.value());
    covet::result<void> bad = covet::errc::cancelled;
    CHECK(!bad);
    CHECK(bad.error() == covet::errc::cancelled);
    CHECK_THROWS_AS(bad.value(), std::system_error);
}

namespace {
struct no_default {
    explicit no_default(int v) : value(v) {}
    int value;
};
}  // namespace

TEST_CASE("default-constructed results")
{
    covet::result<int> zero;
    REQUIRE(zero.has_value());
    CHECK(*zero == 0);
    covet::result<no_default> empty;
    CHECK(!empty.has_value());
    CHECK(empty.error() == covet::errc::no_result);
}
