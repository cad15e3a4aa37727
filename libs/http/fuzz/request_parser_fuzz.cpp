// Fuzzes the request parser: whole input at once and split at every byte
// boundary of a prefix must agree, and a complete head's views must lie
// inside the input.
#include <covet/http/parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    covet::http::parser_limits limits;
    limits.max_request_line = 256;
    limits.max_header_line = 256;
    limits.max_headers = 16;
    limits.max_head_bytes = 2048;
    limits.max_body = 4096;

    covet::http::request_parser whole(limits);
    const auto st = whole.parse(input);

    covet::http::request_parser incremental(limits);
    auto st2 = covet::http::parse_status::need_more;
    const std::size_t step = size > 64 ? size / 64 : 1;
    for (std::size_t n = 0; n < size && st2 == covet::http::parse_status::need_more; n += step) {
        st2 = incremental.parse(input.substr(0, n));
    }
    if (st2 == covet::http::parse_status::need_more) {
        st2 = incremental.parse(input);
    }
    if (st != st2 || whole.error() != incremental.error()) {
        std::abort();
    }
    if (st == covet::http::parse_status::complete) {
        const auto& head = whole.head();
        auto inside = [&](std::string_view v) {
            return v.empty() || (v.data() >= input.data() && v.data() + v.size() <= input.data() + size);
        };
        if (!inside(head.target) || !inside(head.method_name) || head.head_size > size) {
            std::abort();
        }
        for (const auto& h : head.headers) {
            // The head is validated in blocks; check each value the plain way.
            const char* value_end = h.value.data() + h.value.size();
            if (!inside(h.name) || !inside(h.value) || h.name.empty() ||
                covet::http::detail::find_invalid_field_byte(h.value.data(), value_end) != value_end) {
                std::abort();
            }
        }
        if (head.framing == covet::http::body_framing::content_length &&
            head.content_length > limits.max_body) {
            std::abort();
        }
    }
    return 0;
}
