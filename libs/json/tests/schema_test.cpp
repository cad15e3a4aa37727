#include "test_types.hpp"

#include <doctest/doctest.h>

using namespace test_json;

TEST_CASE("schema: reflected struct with validators")
{
    CHECK(json::schema_json<user>() ==
          R"({"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{)"
          R"("id":{"type":"integer","minimum":1,"maximum":9223372036854775807},)"
          R"("name":{"type":"string","minLength":1,"maxLength":8},)"
          R"("email":{"type":"string","format":"email"},)"
          R"("age":{"type":"integer","minimum":0,"maximum":150},)"
          R"("tags":{"type":"array","items":{"type":"string"},"maxItems":2},)"
          R"("role":{"type":"string","enum":["user","admin"],"default":"user"}},)"
          R"("required":["id","name","email","age","tags"]})");
}

TEST_CASE("schema: nested types go to $defs, optionals are nullable and not required")
{
    auto s = json::schema<everything>();
    CHECK(s.find("$defs")->find("point") != nullptr);
    const auto* props = s.find("properties");
    REQUIRE(props);
    CHECK(json::to_string(*props->find("origin")) == R"({"$ref":"#/$defs/point"})");
    CHECK(json::to_string(*props->find("nickname")) == R"({"anyOf":[{"type":"string"},{"type":"null"}]})");
    CHECK(json::to_string(*props->find("shade")) ==
          R"({"type":"string","enum":["red","green","dark-blue"]})");
    CHECK(json::to_string(*props->find("at")) == R"({"type":"string","format":"date-time"})");
    CHECK(json::to_string(*props->find("vec")) ==
          R"({"type":"array","items":{"type":"number"},"minItems":3,"maxItems":3})");
    CHECK(
        json::to_string(*props->find("counts")) ==
        R"({"type":"object","additionalProperties":{"type":"integer","minimum":-2147483648,"maximum":2147483647}})");
    CHECK(json::to_string(*props->find("extra")) == "{}");
    auto required = json::to_string(*s.find("required"));
    CHECK(required.find("\"nickname\"") == std::string::npos);
    CHECK(required.find("\"name\"") != std::string::npos);
}

TEST_CASE("schema: tagged variants are oneOf with a const discriminator")
{
    auto s = json::schema<drawing>();
    CHECK(json::to_string(*s.find("properties")->find("shapes")->find("items")) ==
          R"({"oneOf":[{"type":"object","properties":{"kind":{"const":"circle"},"radius":{"type":"number"}},)"
          R"("required":["kind","radius"]},{"type":"object","properties":{"kind":{"const":"rect"},)"
          R"("w":{"type":"number"},"h":{"type":"number"}},"required":["kind","w","h"]}]})");
}

TEST_CASE("schema: pattern is anchored")
{
    auto s = json::schema<coded>();
    CHECK(json::to_string(*s.find("properties")->find("code")) ==
          R"({"type":"string","pattern":"^(?:[A-Z]{3}-[0-9]+)$"})");
}
