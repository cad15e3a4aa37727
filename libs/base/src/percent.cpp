#include <covet/base/hex.hpp>
#include <covet/base/percent.hpp>

namespace covet {
namespace {

// Decodes in[i] and what it escapes: the byte, and in `i` the last input
// position used; -1 for a malformed escape.
int decode_at(std::string_view in, std::size_t& i, bool plus_as_space) noexcept
{
    const char c = in[i];
    if (c == '+' && plus_as_space) {
        return ' ';
    }
    if (c != '%') {
        return static_cast<unsigned char>(c);
    }
    if (i + 2 >= in.size()) {
        return -1;
    }
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) {
        return -1;
    }
    i += 2;
    return hi * 16 + lo;
}

}  // namespace

void percent_encode(std::string_view in, std::string& out, bool keep_slash)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    for (char c : in) {
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out += c;
        } else {
            const auto b = static_cast<unsigned char>(c);
            out += '%';
            out += digits[b >> 4];
            out += digits[b & 15];
        }
    }
}

bool percent_decode(std::string_view in, std::string& out, bool plus_as_space)
{
    for (std::size_t i = 0; i < in.size(); ++i) {
        const int v = decode_at(in, i, plus_as_space);
        if (v < 0) {
            return false;
        }
        out += static_cast<char>(v);
    }
    return true;
}

result<std::size_t> percent_decode(std::string_view in, std::span<char> buf, bool plus_as_space) noexcept
{
    std::size_t n = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (n == buf.size()) {
            return errc::limit_exceeded;
        }
        const int v = decode_at(in, i, plus_as_space);
        if (v < 0) {
            return errc::invalid_argument;
        }
        buf[n++] = static_cast<char>(v);
    }
    return n;
}

}  // namespace covet
