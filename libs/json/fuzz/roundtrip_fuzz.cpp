// parse -> write -> parse -> write: whatever the dynamic parser accepts must
// write back to JSON that parses to an equal value and writes identically.
// The same bytes also go through a reflected struct.
#include <covet/json/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fuzz_json {
struct item {
    std::int32_t id = 0;
    std::string name;
    std::optional<double> score;
    std::vector<std::uint8_t> bytes;
    std::map<std::string, bool> flags;
};
COVET_REFLECT(item, id, (name, covet::json::max_length(16)), score, (bytes, covet::json::defaulted),
              (flags, covet::json::defaulted));
}  // namespace fuzz_json

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    namespace json = covet::json;
    std::string_view input(reinterpret_cast<const char*>(data), size);
    if (auto v = json::parse_value(input)) {
        std::string once = json::to_string(*v);
        auto again = json::parse_value(once);
        if (!again || !(*again == *v) || json::to_string(*again) != once) {
            std::abort();
        }
        auto pretty = json::parse_value(json::to_string(*v, {.pretty = true}));
        if (!pretty || !(*pretty == *v)) {
            std::abort();
        }
    }
    json::reader r({.unknown = json::unknown_fields::reject});
    if (auto it = r.parse<std::vector<fuzz_json::item>>(input)) {
        auto back = json::parse<std::vector<fuzz_json::item>>(json::to_string(*it));
        if (!back || json::to_string(*back) != json::to_string(*it)) {
            std::abort();
        }
    } else if (it.errors().empty()) {
        std::abort();  // a failure always says why
    }
    return 0;
}
