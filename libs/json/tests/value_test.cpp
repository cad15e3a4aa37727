// The dynamic parser against JSONTestSuite-style vectors (written here by
// hand after nst/JSONTestSuite's y_ = must accept, n_ = must reject,
// i_ = implementation defined) and value round trips.
#include "test_types.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace test_json;

namespace {

struct vector_case {
    const char* name;
    std::string_view text;
};

// Must be accepted.
const vector_case accept[] = {
    {"y_array_arraysWithSpaces", "[[]   ]"},
    {"y_array_empty", "[]"},
    {"y_array_empty-string", R"([""])"},
    {"y_array_ending_with_newline", "[\"a\"]\n"},
    {"y_array_false", "[false]"},
    {"y_array_heterogeneous", R"([null, 1, "1", {}])"},
    {"y_array_null", "[null]"},
    {"y_array_with_leading_space", " [1]"},
    {"y_array_with_several_null", "[1,null,null,null,2]"},
    {"y_array_with_trailing_space", "[2] "},
    {"y_number", "[123e65]"},
    {"y_number_0e+1", "[0e+1]"},
    {"y_number_0e1", "[0e1]"},
    {"y_number_after_space", "[ 4]"},
    {"y_number_double_close_to_zero",
     "[-0.000000000000000000000000000000000000000000000000000000000000000000000000000001]"},
    {"y_number_int_with_exp", "[20e1]"},
    {"y_number_minus_zero", "[-0]"},
    {"y_number_negative_int", "[-123]"},
    {"y_number_negative_one", "[-1]"},
    {"y_number_real_capital_e", "[1E22]"},
    {"y_number_real_capital_e_neg_exp", "[1E-2]"},
    {"y_number_real_capital_e_pos_exp", "[1E+2]"},
    {"y_number_real_exponent", "[123e45]"},
    {"y_number_real_fraction_exponent", "[123.456e78]"},
    {"y_number_simple_real", "[123.456789]"},
    {"y_object", R"({"asd":"sdf", "dfg":"fgh"})"},
    {"y_object_basic", R"({"asd":"sdf"})"},
    {"y_object_empty", "{}"},
    {"y_object_empty_key", R"({"":0})"},
    {"y_object_escaped_null_in_key", R"({"foo\u0000bar": 42})"},
    {"y_object_extreme_numbers", R"({ "min": -1.0e+28, "max": 1.0e+28 })"},
    {"y_object_long_strings",
     R"({"x":[{"id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}], "id": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})"},
    {"y_object_simple", R"({"a":[]})"},
    {"y_object_string_unicode",
     R"({"title":"\u041f\u043e\u043b\u0442\u043e\u0440\u0430 \u0417\u0435\u043c\u043b\u0435\u043a\u043e\u043f\u0430" })"},
    {"y_object_with_newlines", "{\n\"a\": \"b\"\n}"},
    {"y_string_1_2_3_bytes_UTF-8_sequences", R"(["\u0060\u012a\u12AB"])"},
    {"y_string_accepted_surrogate_pair", R"(["\uD801\udc37"])"},
    {"y_string_allowed_escapes", R"(["\"\\\/\b\f\n\r\t"])"},
    {"y_string_backslash_and_u_escaped_zero", R"(["\\u0000"])"},
    {"y_string_comments", R"(["a/*b*/c/*d//e"])"},
    {"y_string_in_array_with_leading_space", R"([ "asd"])"},
    {"y_string_nonCharacterInUTF-8_U+FFFF", "[\"\xef\xbf\xbf\"]"},
    {"y_string_null_escape", R"(["\u0000"])"},
    {"y_string_pi", "[\"\xcf\x80\"]"},
    {"y_string_simple_ascii", R"(["asd "])"},
    {"y_string_space", R"(" ")"},
    {"y_string_unicode_escaped_double_quote", R"(["\u0022"])"},
    {"y_string_utf8", "[\"\xe2\x82\xac\xf0\x9d\x84\x9e\"]"},
    {"y_string_with_del_character",
     "[\"a\x7f"
     "a\"]"},
    {"y_structure_lonely_false", "false"},
    {"y_structure_lonely_int", "42"},
    {"y_structure_lonely_negative_real", "-0.1"},
    {"y_structure_lonely_null", "null"},
    {"y_structure_lonely_string", R"("asd")"},
    {"y_structure_lonely_true", "true"},
    {"y_structure_string_empty", R"("")"},
    {"y_structure_trailing_newline", "[\"a\"]\n"},
    {"y_structure_true_in_array", "[true]"},
    {"y_structure_whitespace_array", " [] "},
};

// Must be rejected.
const vector_case reject[] = {
    {"n_array_1_true_without_comma", "[1 true]"},
    {"n_array_comma_after_close", "[\"\"],"},
    {"n_array_comma_and_number", "[,1]"},
    {"n_array_double_comma", "[1,,2]"},
    {"n_array_extra_close", "[\"x\"]]"},
    {"n_array_extra_comma", "[\"\",]"},
    {"n_array_incomplete", "[\"x\""},
    {"n_array_incomplete_invalid_value", "[x"},
    {"n_array_inner_array_no_comma", "[3[4]]"},
    {"n_array_items_separated_by_semicolon", "[1:2]"},
    {"n_array_just_comma", "[,]"},
    {"n_array_just_minus", "[-]"},
    {"n_array_missing_value", "[   , \"\"]"},
    {"n_array_number_and_comma", "[1,]"},
    {"n_array_star_inside", "[*]"},
    {"n_array_unclosed", "[\"\""},
    {"n_array_unclosed_with_new_lines", "[1,\n1\n,1"},
    {"n_incomplete_false", "[fals]"},
    {"n_incomplete_null", "[nul]"},
    {"n_incomplete_true", "[tru]"},
    {"n_number_++", "[++1234]"},
    {"n_number_+1", "[+1]"},
    {"n_number_-01", "[-01]"},
    {"n_number_-1.0.", "[-1.0.]"},
    {"n_number_.-1", "[.-1]"},
    {"n_number_0.e1", "[0.e1]"},
    {"n_number_0_capital_E", "[0E]"},
    {"n_number_1.0e", "[1.0e]"},
    {"n_number_1.0e+", "[1.0e+]"},
    {"n_number_2.e3", "[2.e3]"},
    {"n_number_9.e+", "[9.e+]"},
    {"n_number_Inf", "[Inf]"},
    {"n_number_NaN", "[NaN]"},
    {"n_number_hex_1_digit", "[0x1]"},
    {"n_number_infinity", "[Infinity]"},
    {"n_number_leading_zero", "[012]"},
    {"n_number_minus_space_1", "[- 1]"},
    {"n_number_neg_real_without_int_part", "[-.123]"},
    {"n_number_real_without_fractional_part", "[1.]"},
    {"n_number_starting_with_dot", "[.123]"},
    {"n_number_with_alpha", "[1.2a-3]"},
    {"n_object_bad_value", "[\"x\", truth]"},
    {"n_object_comma_instead_of_colon", R"({"x", null})"},
    {"n_object_double_colon", R"({"x"::"b"})"},
    {"n_object_missing_colon", R"({"a" b})"},
    {"n_object_missing_key", R"({:"b"})"},
    {"n_object_missing_semicolon", R"({"a" "b"})"},
    {"n_object_missing_value", R"({"a":)"},
    {"n_object_no-colon", R"({"a")"},
    {"n_object_non_string_key", "{1:1}"},
    {"n_object_single_quote", "{'a':0}"},
    {"n_object_trailing_comma", R"({"id":0,})"},
    {"n_object_two_commas_in_a_row", R"({"a":"b",,"c":"d"})"},
    {"n_object_unquoted_key", R"({a: "b"})"},
    {"n_object_with_trailing_garbage", R"({"a":"b"}#)"},
    {"n_single_space", " "},
    {"n_string_1_surrogate_then_escape_u", R"(["\uD800\u"])"},
    {"n_string_escape_x", R"(["\x00"])"},
    {"n_string_escaped_emoji", "[\"\\\xf0\x9f\x8c\x80\"]"},
    {"n_string_incomplete_escape", R"(["\"])"},
    {"n_string_incomplete_escaped_character", R"(["\u00A"])"},
    {"n_string_invalid_utf8_after_escape", "[\"\\u0061\xe5\"]"},
    {"n_string_invalid-utf-8-in-escape", "[\"\\u\xe5\"]"},
    {"n_string_no_quotes_with_bad_escape", R"([\n])"},
    {"n_string_single_quote", "['single quote']"},
    {"n_string_unescaped_ctrl_char", std::string_view("[\"a\0a\"]", 7)},
    {"n_string_unescaped_newline", "[\"new\nline\"]"},
    {"n_string_unescaped_tab", "[\"\t\"]"},
    {"n_structure_angle_bracket_null", "[<null>]"},
    {"n_structure_array_trailing_garbage", "[1]x"},
    {"n_structure_array_with_extra_array_close", "[1]]"},
    {"n_structure_capitalized_True", "[True]"},
    {"n_structure_close_unopened_array", "1]"},
    {"n_structure_double_array", "[][]"},
    {"n_structure_end_array", "]"},
    {"n_structure_lone-invalid-utf-8", "\xe5"},
    {"n_structure_no_data", ""},
    {"n_structure_null-byte-outside-string", std::string_view("[\0]", 3)},
    {"n_structure_object_followed_by_closing_object", "{}}"},
    {"n_structure_object_unclosed_no_value", R"({"":)"},
    {"n_structure_open_array_object", "[{"},
    {"n_structure_single_star", "*"},
    {"n_structure_trailing_#", R"({"a":"b"}#{})"},
    {"n_structure_unclosed_array", "[1"},
    {"n_structure_unclosed_object", R"({"asd":"asd")"},
    {"n_structure_whitespace_formfeed", "[\f]"},
    {"n_structure_UTF8_BOM_no_data", "\xef\xbb\xbf"},
    {"n_structure_lonely_int_trailing", "2 3"},
    {"covet_duplicate_key", R"({"a":1,"a":2})"},
    {"covet_invalid_utf8_overlong", "[\"\xc0\xaf\"]"},
    {"covet_invalid_utf8_surrogate_encoded", "[\"\xed\xa0\x80\"]"},
};

// Implementation defined: must not crash; the outcome is recorded here so a
// change of behaviour is noticed.
struct defined_case {
    const char* name;
    std::string_view text;
    bool accepted;
};
const defined_case implementation_defined[] = {
    {"i_number_huge_exp",
     "[0."
     "4e00669999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
     "9999999999999999999969999999006]",
     false},
    {"i_number_too_big_pos_int", "[100000000000000000000]", false},  // beyond 64 bits: rejected
    {"i_number_very_big_negative_int", "[-237462374673276894279832749832423479823246327846]", false},
    {"i_string_UTF-16LE_with_BOM", "\xff\xfe[\x00\"\x00\xe9\x00\"\x00]\x00", false},
    {"i_string_lone_second_surrogate", R"(["\uDFAA"])", false},
    {"i_structure_UTF-8_BOM_empty_object", "\xef\xbb\xbf{}", false},  // RFC 8259: no BOM
};

}  // namespace

TEST_CASE("value: JSONTestSuite y_ vectors are accepted and round-trip")
{
    for (const auto& c : accept) {
        auto v = json::parse_value(c.text);
        CHECK_MESSAGE(v, std::string(c.name), (v ? std::string() : v.errors().front().to_string()));
        if (v) {
            // parse -> write -> parse -> write is a fixed point.
            auto once = json::to_string(*v);
            auto again = json::parse_value(once);
            REQUIRE_MESSAGE(again, std::string(c.name));
            CHECK_MESSAGE(*again == *v, std::string(c.name));
            CHECK_MESSAGE(json::to_string(*again) == once, std::string(c.name));
        }
    }
}

TEST_CASE("value: JSONTestSuite n_ vectors are rejected")
{
    for (const auto& c : reject) {
        auto v = json::parse_value(c.text);
        CHECK_MESSAGE(!v, std::string(c.name), " accepted: ", (v ? json::to_string(*v) : std::string()));
    }
}

TEST_CASE("value: JSONTestSuite i_ vectors behave as recorded")
{
    for (const auto& c : implementation_defined) {
        auto v = json::parse_value(c.text);
        CHECK_MESSAGE(static_cast<bool>(v) == c.accepted, std::string(c.name));
    }
}

TEST_CASE("value: accessors, types and equality")
{
    auto v = json::parse_value(R"({"a":[1,-2,18446744073709551615,1.5,"s",true,null],"b":{}})");
    REQUIRE(v);
    const auto* a = v->find("a");
    REQUIRE(a);
    REQUIRE(a->is_array());
    CHECK(*a->at(0)->if_int64() == 1);
    CHECK(*a->at(1)->if_int64() == -2);
    CHECK(*a->at(2)->if_uint64() == 18446744073709551615ull);
    CHECK(*a->at(3)->if_double() == 1.5);
    CHECK(*a->at(4)->if_string() == "s");
    CHECK(*a->at(5)->if_bool());
    CHECK(a->at(6)->is_null());
    CHECK(a->at(7) == nullptr);
    CHECK(v->find("b")->is_object());
    CHECK(v->find("c") == nullptr);
    CHECK(json::value(1) == json::value(std::uint64_t{1}));
    CHECK_FALSE(json::value(1) == json::value(1.0));
    CHECK(a->at(3)->as_double() == 1.5);
    CHECK(json::to_string(*v) == R"({"a":[1,-2,18446744073709551615,1.5,"s",true,null],"b":{}})");
    CHECK(json::to_string(*v, {.pretty = true}) ==
          "{\n  \"a\": [\n    1,\n    -2,\n    18446744073709551615,\n    1.5,\n    \"s\",\n    true,\n    "
          "null\n  ],\n  \"b\": {}\n}");
}

TEST_CASE("value: depth limit protects the recursion")
{
    std::string deep(100000, '[');
    auto v = json::parse_value(deep);
    REQUIRE_FALSE(v);
    std::string nested = std::string(200, '[') + std::string(200, ']');
    auto n = json::parse_value(nested);
    REQUIRE_FALSE(n);
    CHECK(n.errors().front().kind == json::error_kind::depth);
}

TEST_CASE("value: floats with many integer digits keep their value (simdjson 3.0 get_number workaround)")
{
    for (const char* text :
         {"999400000000019456.0", "12345678901234567890.0", "9994000000000194e+000000000000000000000002"}) {
        CAPTURE(text);
        auto v = covet::json::parse_value(text);
        REQUIRE(v.has_value());
        REQUIRE(v->if_double() != nullptr);
        CHECK(*v->if_double() == std::stod(text));
        auto again = covet::json::parse_value(covet::json::to_string(*v));
        REQUIRE(again.has_value());
        CHECK(*again == *v);
    }
}
