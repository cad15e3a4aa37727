#include <covet/redis/cache.hpp>

namespace covet::redis::detail {

std::string escape_glob(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (const char c : s) {
        if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out;
}

// KEYS[1] is the tag's set: delete its members and the set, atomically.
const char* const invalidate_tag_script = R"lua(
local members = redis.call('SMEMBERS', KEYS[1])
local removed = 0
for i = 1, #members, 500 do
    removed = removed + redis.call('UNLINK', unpack(members, i, math.min(i + 499, #members)))
end
redis.call('UNLINK', KEYS[1])
return removed
)lua";

}  // namespace covet::redis::detail
