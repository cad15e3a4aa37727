#include <covet/json/validate.hpp>

#include <mutex>
#include <regex>
#include <unordered_map>

namespace covet::json::detail {

std::size_t utf8_length(std::string_view s) noexcept
{
    std::size_t n = 0;
    for (char c : s) {
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }
    return n;
}

bool regex_match(std::string_view pattern, std::string_view s)
{
    // Patterns come from constexpr field declarations: a small, fixed set.
    // Compile each once; std::regex matching itself is const and thread-safe.
    static std::mutex mutex;
    static std::unordered_map<std::string, std::regex> cache;
    const std::regex* re = nullptr;
    {
        std::lock_guard lock(mutex);
        auto it = cache.find(std::string(pattern));
        if (it == cache.end()) {
            it = cache.emplace(std::string(pattern), std::regex(pattern.begin(), pattern.end())).first;
        }
        re = &it->second;
    }
    return std::regex_match(s.begin(), s.end(), *re);
}

bool plausible_email(std::string_view s) noexcept
{
    auto at = s.find('@');
    if (at == std::string_view::npos || at == 0 || at > 64 || s.size() > 254 ||
        s.find('@', at + 1) != std::string_view::npos) {
        return false;
    }
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u == 0x7f || c == '(' || c == ')' || c == ',' || c == ':' || c == ';' || c == '<' ||
            c == '>' || c == '[' || c == ']' || c == '\\' || c == '"') {
            return false;
        }
    }
    auto domain = s.substr(at + 1);
    auto dot = domain.rfind('.');
    if (domain.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size() ||
        domain.front() == '-' || domain.front() == '.' || domain.find("..") != std::string_view::npos ||
        s.substr(0, at).front() == '.' || s.substr(0, at).back() == '.') {
        return false;
    }
    return true;
}

}  // namespace covet::json::detail
