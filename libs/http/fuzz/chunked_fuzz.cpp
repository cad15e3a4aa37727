// Fuzzes the in-place chunked decoder: decoding all at once and byte by byte
// must agree, and the decoded size never exceeds the input or the limit.
#include <covet/http/parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    constexpr std::size_t limit = 1024;
    std::string whole(reinterpret_cast<const char*>(data), size);
    covet::http::chunked_decoder a(limit, 256);
    const auto st = a.decode(whole.data(), whole.size());

    std::string growing;
    covet::http::chunked_decoder b(limit, 256);
    auto st2 = covet::http::parse_status::need_more;
    for (std::size_t i = 0; i < size && st2 == covet::http::parse_status::need_more; ++i) {
        growing.push_back(static_cast<char>(data[i]));
        st2 = b.decode(growing.data(), growing.size());
    }
    if (st != st2 || a.error() != b.error()) {
        std::abort();
    }
    if (a.decoded_size() > size || a.decoded_size() > limit || a.raw_pos() > size) {
        std::abort();
    }
    if (st == covet::http::parse_status::complete &&
        (a.decoded_size() != b.decoded_size() ||
         std::memcmp(whole.data(), growing.data(), a.decoded_size()) != 0)) {
        std::abort();
    }
    return 0;
}
