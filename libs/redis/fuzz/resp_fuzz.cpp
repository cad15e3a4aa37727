// The RESP parser on arbitrary bytes: never crashes, never reads past the
// input, `used` stays in bounds, and a complete reply parses again, alone,
// to the same length (the parser does not depend on bytes after a reply).
#include <covet/redis/resp.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const covet::redis::parse_limits limits{.max_depth = 16, .max_bulk = 1 << 20, .max_elements = 1 << 16};
    for (int replies = 0; replies < 64 && !in.empty(); ++replies) {
        covet::redis::value v;
        std::size_t used = 0;
        const auto st = covet::redis::parse(in, v, used, limits);
        if (st != covet::redis::parse_status::complete) {
            break;
        }
        if (used == 0 || used > in.size()) {
            std::abort();
        }
        covet::redis::value again;
        std::size_t used_again = 0;
        if (covet::redis::parse(in.substr(0, used), again, used_again, limits) !=
                covet::redis::parse_status::complete ||
            used_again != used || again.type != v.type) {
            std::abort();
        }
        in.remove_prefix(used);
    }
    return 0;
}
