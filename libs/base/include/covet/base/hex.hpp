#pragma once
// Hexadecimal digits: one definition for the percent-decoder (base/percent)
// and the chunk-size parser.

namespace covet {

/// The value of a hexadecimal digit of either case, or -1.
constexpr int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

static_assert(hex_value('0') == 0 && hex_value('a') == 10 && hex_value('F') == 15 && hex_value('g') == -1);

}  // namespace covet
