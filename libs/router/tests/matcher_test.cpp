#include <covet/router/detail/matcher.hpp>

#include <doctest/doctest.h>

#include <stdexcept>

using covet::router::detail::matcher;

TEST_CASE("matcher: the regular-expression subset")
{
    auto m = [](const char* p) { return matcher::compile(p); };
    CHECK(m("abc").match("abc"));
    CHECK(!m("abc").match("abcd"));
    CHECK(!m("abc").match("ab"));
    CHECK(m("a?b").match("b"));
    CHECK(m("a?b").match("ab"));
    CHECK(m("a*").match("aaaa"));
    CHECK(!m("a*").match(""));  // segments are never empty
    CHECK(m("[a-c]+x").match("abcabcx"));
    CHECK(!m("[a-c]+x").match("x"));
    CHECK(m("[^0-9]+").match("abc"));
    CHECK(!m("[^0-9]+").match("a1"));
    CHECK(!m(".+").match("a/b"));  // never across segments
    CHECK(m("\\d{2,3}").match("12"));
    CHECK(m("\\d{2,3}").match("123"));
    CHECK(!m("\\d{2,3}").match("1234"));
    CHECK(m("\\d{2,}").match("12345678901234567890"));
    CHECK(m("\\w+\\.json").match("file_1.json"));
    CHECK(!m("\\w+\\.json").match("file_1xjson"));
    CHECK(m("[-a]+").match("-a-"));
    CHECK(m("[]a]").match("]"));
    for (const char* bad : {"", "(a)", "a|b", "^a", "a$", "*a", "[a", "a{2", "a{3,1}", "\\", "a{65}", "a{0}",
                            "[z-a]", "x{64}y"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(matcher::compile(bad), std::invalid_argument);
    }
}

TEST_CASE("matcher: overlap is decided exactly")
{
    auto overlap = [](const char* a, const char* b) {
        bool x = matcher::compile(a).overlaps(matcher::compile(b));
        CHECK(x == matcher::compile(b).overlaps(matcher::compile(a)));
        return x;
    };
    CHECK(overlap("[0-9]+", "-?[0-9]+"));
    CHECK(!overlap("-[0-9]+", "[0-9]+"));
    CHECK(!overlap("[0-9]{4}", "[0-9]{5}"));
    CHECK(overlap("[0-9]{4}", "[0-9]{3,5}"));
    CHECK(!overlap("a+b", "a+c"));
    CHECK(overlap("a*b", "a?b"));
    CHECK(!overlap("[a-z]+", "[A-Z]+"));
    CHECK(overlap("[a-z]+x", "x+"));
    CHECK(
        !overlap("-?[0-9]+", "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"));
}
