#pragma once
// Matchers for typed parameters ({id:int}, {slug:[a-z-]+}). A pattern is a
// small regular-expression subset (literals, '.', classes, \d \w, and the
// quantifiers ? * + {n} {n,} {n,m}; no groups or alternation), compiled to a
// position automaton of at most 64 positions. That keeps matching
// allocation-free and linear (one 64-bit state set per character), and lets
// registration decide exactly whether two matchers can accept the same
// segment, which is how ambiguous routes are rejected.

#include <array>
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace covet::router::detail {

class matcher {
public:
    /// Most automaton positions (one per character a quantified atom may
    /// consume, e.g. 36 for a UUID).
    static constexpr std::size_t max_positions = 64;

    /// Compiles `pattern`; throws std::invalid_argument saying what is wrong.
    static matcher compile(std::string_view pattern);

    /// True when the whole non-empty `segment` matches.
    bool match(std::string_view segment) const noexcept
    {
        if (segment.empty()) {
            return false;
        }
        std::uint64_t cur = first_ & accept_[static_cast<unsigned char>(segment[0])];
        for (std::size_t i = 1; i < segment.size() && cur != 0; ++i) {
            std::uint64_t next = 0;
            for (std::uint64_t s = cur; s != 0; s &= s - 1) {
                next |= follow_[static_cast<std::size_t>(__builtin_ctzll(s))];
            }
            cur = next & accept_[static_cast<unsigned char>(segment[i])];
        }
        return (cur & last_) != 0;
    }

    /// True when some non-empty string matches both.
    bool overlaps(const matcher& other) const;

    /// The pattern this matcher was compiled from.
    const std::string& pattern() const noexcept { return pattern_; }

private:
    std::string pattern_;
    std::array<std::uint64_t, 256> accept_{};  // positions whose class holds the byte
    std::vector<std::uint64_t> follow_;        // positions that may follow each position
    std::vector<std::bitset<256>> classes_;    // per position, for overlap checks
    std::uint64_t first_ = 0;
    std::uint64_t last_ = 0;
};

}  // namespace covet::router::detail
