#pragma once
// Reflected types shared by the json tests.
#include <covet/json/json.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace test_json {

namespace json = covet::json;

enum class color { red, green, dark_blue };
COVET_REFLECT_ENUM(color, red, green, (dark_blue, "dark-blue"));

struct point {
    int x = 0;
    int y = 0;
    bool operator==(const point&) const = default;
};
COVET_REFLECT(point, x, y);

struct numbers {
    std::int8_t i8 = 0;
    std::uint8_t u8 = 0;
    std::int16_t i16 = 0;
    std::uint16_t u16 = 0;
    std::int32_t i32 = 0;
    std::uint32_t u32 = 0;
    std::int64_t i64 = 0;
    std::uint64_t u64 = 0;
    float f = 0;
    double d = 0;
    bool b = false;
    bool operator==(const numbers&) const = default;
};
COVET_REFLECT(numbers, i8, u8, i16, u16, i32, u32, i64, u64, f, d, b);

struct everything {
    std::string name;
    std::optional<std::string> nickname;
    std::vector<int> scores;
    std::array<double, 3> vec{};
    std::map<std::string, int> counts;
    std::unordered_map<std::string, std::string> labels;
    point origin;
    std::vector<point> path;
    color shade = color::red;
    std::chrono::system_clock::time_point at{};
    json::value extra;
    std::vector<bool> flags;
    std::optional<point> maybe;
    bool operator==(const everything&) const = default;
};
COVET_REFLECT(everything, name, nickname, scores, vec, counts, labels, origin, path, shade, at, extra, flags,
              maybe);

struct renamed {
    std::string user_name;
    int retries = 3;
    std::optional<int> age;
    std::optional<int> note;
};
COVET_REFLECT(renamed, (user_name, json::rename("userName")), (retries, json::defaulted), age,
              (note, json::omit_null));

struct user {
    std::int64_t id = 0;
    std::string name;
    std::string email;
    int age = 0;
    std::vector<std::string> tags;
    std::string role = "user";
};
COVET_REFLECT(user, (id, json::min(1)), (name, json::min_length(1), json::max_length(8)),
              (email, json::email), (age, json::min(0), json::max(150)), (tags, json::max_length(2)),
              (role, json::defaulted, json::one_of("user", "admin")));

struct coded {
    std::string code;
    int even = 0;
};
COVET_REFLECT(coded, (code, json::pattern("[A-Z]{3}-[0-9]+")),
              (even, json::check([](int v) { return v % 2 == 0; }, "must be even")));

struct team {
    std::string title;
    std::vector<user> users;
};
COVET_REFLECT(team, title, users);

struct circle {
    double radius = 0;
    bool operator==(const circle&) const = default;
};
COVET_REFLECT(circle, radius);
struct rect {
    double w = 0;
    double h = 0;
    bool operator==(const rect&) const = default;
};
COVET_REFLECT(rect, w, h);
using shape = std::variant<circle, rect>;
COVET_REFLECT_VARIANT(shape, "kind", "circle", "rect");

struct drawing {
    std::vector<shape> shapes;
    bool operator==(const drawing&) const = default;
};
COVET_REFLECT(drawing, shapes);

struct view_holder {
    std::string_view text;
    std::string_view key;
};
COVET_REFLECT(view_holder, text, key);

}  // namespace test_json
