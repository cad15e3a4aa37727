#include <covet/base/hex.hpp>
#include <covet/router/percent.hpp>

namespace covet::router {
namespace {

// Decodes the escape at in[i] ('%'); -1 when malformed.
int escape_at(std::string_view in, std::size_t i) noexcept
{
    if (i + 2 >= in.size()) {
        return -1;
    }
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

}  // namespace

void percent_encode(std::string_view in, std::string& out, bool keep_slash)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    for (char c : in) {
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out += c;
        } else {
            auto b = static_cast<unsigned char>(c);
            out += '%';
            out += digits[b >> 4];
            out += digits[b & 15];
        }
    }
}

bool percent_decode(std::string_view in, std::string& out)
{
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out += in[i];
            continue;
        }
        int v = escape_at(in, i);
        if (v < 0) {
            return false;
        }
        out += static_cast<char>(v);
        i += 2;
    }
    return true;
}

result<std::size_t> percent_decode(std::string_view in, std::span<char> buf) noexcept
{
    std::size_t n = 0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (n == buf.size()) {
            return errc::limit_exceeded;
        }
        if (in[i] != '%') {
            buf[n++] = in[i];
            continue;
        }
        int v = escape_at(in, i);
        if (v < 0) {
            return errc::invalid_argument;
        }
        buf[n++] = static_cast<char>(v);
        i += 2;
    }
    return n;
}

}  // namespace covet::router
