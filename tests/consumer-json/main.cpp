// Uses covet::json from an installed package: one macro line, parse, validate, write.
#include <covet/json/json.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace app {
struct user {
    int id = 0;
    std::string user_name;
    std::vector<std::string> tags;
};
COVET_REFLECT(user, id, (user_name, covet::json::rename("userName"), covet::json::min_length(1)), tags);
}  // namespace app

int main()
{
    auto u = covet::json::parse<app::user>(R"({"id":7,"userName":"ann","tags":["a"]})");
    if (!u || covet::json::to_string(*u) != R"({"id":7,"userName":"ann","tags":["a"]})") {
        std::fprintf(stderr, "round trip failed\n");
        return 1;
    }
    auto bad = covet::json::parse<app::user>(R"({"id":"7","userName":""})");
    if (bad || bad.errors().size() != 3) {
        std::fprintf(stderr, "expected three errors\n");
        return 1;
    }
    std::printf("consumer-json: %s\n", covet::json::error_body(bad.errors()).c_str());
    return 0;
}
