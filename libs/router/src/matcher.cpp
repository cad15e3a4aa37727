#include <covet/router/detail/matcher.hpp>

#include <algorithm>
#include <stdexcept>

namespace covet::router::detail {
namespace {

using char_class = std::bitset<256>;
constexpr unsigned unbounded = ~0u;

[[noreturn]] void fail(std::string_view pattern, std::string_view why)
{
    throw std::invalid_argument("parameter pattern '" + std::string(pattern) + "': " + std::string(why));
}

void add_range(char_class& c, unsigned char lo, unsigned char hi)
{
    for (unsigned v = lo; v <= hi; ++v) {
        c.set(v);
    }
}

char_class escape_class(char e)
{
    char_class c;
    switch (e) {
    case 'd': add_range(c, '0', '9'); break;
    case 'w':
        add_range(c, '0', '9');
        add_range(c, 'a', 'z');
        add_range(c, 'A', 'Z');
        c.set('_');
        break;
    default: c.set(static_cast<unsigned char>(e)); break;
    }
    return c;
}

class parser {
public:
    explicit parser(std::string_view p) : p_(p) {}

    char_class atom()
    {
        char ch = p_[i_++];
        switch (ch) {
        case '\\':
            if (i_ == p_.size()) {
                fail(p_, "trailing backslash");
            }
            return escape_class(p_[i_++]);
        case '.': return char_class().set();
        case '[': return bracket();
        case '(':
        case ')':
        case '|':
        case '^':
        case '$': fail(p_, std::string("'") + ch + "' is not supported (no groups, alternation or anchors)");
        case '*':
        case '+':
        case '?':
        case '{':
        case '}': fail(p_, std::string("'") + ch + "' has nothing to repeat");
        default: return char_class().set(static_cast<unsigned char>(ch));
        }
    }

    char_class bracket()
    {
        char_class c;
        bool negate = i_ < p_.size() && p_[i_] == '^';
        i_ += negate ? 1 : 0;
        bool first = true;
        for (;;) {
            if (i_ == p_.size()) {
                fail(p_, "unterminated '['");
            }
            char ch = p_[i_++];
            if (ch == ']' && !first) {
                break;
            }
            first = false;
            unsigned char lo = static_cast<unsigned char>(ch);
            if (ch == '\\') {
                if (i_ == p_.size()) {
                    fail(p_, "trailing backslash");
                }
                char e = p_[i_++];
                if (e == 'd' || e == 'w') {
                    c |= escape_class(e);
                    continue;
                }
                lo = static_cast<unsigned char>(e);
            }
            if (i_ + 1 < p_.size() && p_[i_] == '-' && p_[i_ + 1] != ']') {
                unsigned char hi = static_cast<unsigned char>(p_[i_ + 1]);
                i_ += 2;
                if (hi < lo) {
                    fail(p_, "reversed range in '[...]'");
                }
                add_range(c, lo, hi);
            } else {
                c.set(lo);
            }
        }
        return negate ? ~c : c;
    }

    unsigned number()
    {
        unsigned v = 0;
        std::size_t start = i_;
        while (i_ < p_.size() && p_[i_] >= '0' && p_[i_] <= '9') {
            v = v * 10 + static_cast<unsigned>(p_[i_++] - '0');
            if (v > matcher::max_positions) {
                fail(p_, "repetition count above 64");
            }
        }
        if (i_ == start) {
            fail(p_, "expected a number in '{...}'");
        }
        return v;
    }

    // Reads an optional quantifier after an atom.
    std::pair<unsigned, unsigned> quantifier()
    {
        if (i_ == p_.size()) {
            return {1, 1};
        }
        switch (p_[i_]) {
        case '?': ++i_; return {0, 1};
        case '*': ++i_; return {0, unbounded};
        case '+': ++i_; return {1, unbounded};
        case '{': {
            ++i_;
            unsigned lo = number();
            unsigned hi = lo;
            if (i_ < p_.size() && p_[i_] == ',') {
                ++i_;
                hi = (i_ < p_.size() && p_[i_] == '}') ? unbounded : number();
            }
            if (i_ == p_.size() || p_[i_] != '}') {
                fail(p_, "unterminated '{'");
            }
            ++i_;
            if (hi < lo) {
                fail(p_, "{n,m} with m < n");
            }
            return {lo, hi};
        }
        default: return {1, 1};
        }
    }

    bool done() const { return i_ == p_.size(); }

private:
    std::string_view p_;
    std::size_t i_ = 0;
};

}  // namespace

matcher matcher::compile(std::string_view pattern)
{
    if (pattern.empty()) {
        fail(pattern, "empty");
    }
    matcher m;
    m.pattern_ = std::string(pattern);
    parser p(pattern);
    // Glushkov construction, item by item: `last` is the set of positions
    // that can be the most recent one so far, `nullable` whether nothing has
    // to have been consumed yet.
    std::uint64_t last = 0;
    bool nullable = true;
    while (!p.done()) {
        char_class cls = p.atom();
        cls.reset('/');  // a segment never holds '/'
        auto [lo, hi] = p.quantifier();
        std::size_t copies = hi == unbounded ? std::max(lo, 1u) : hi;
        if (copies == 0) {
            continue;
        }
        if (m.classes_.size() + copies > max_positions) {
            fail(pattern, "too long (more than 64 character positions)");
        }
        std::size_t base = m.classes_.size();
        std::uint64_t item_last = 0;
        for (std::size_t k = 0; k < copies; ++k) {
            m.classes_.push_back(cls);
            m.follow_.push_back(0);
            if (k > 0) {
                m.follow_[base + k - 1] |= 1ull << (base + k);
            }
            if (k + 1 >= std::max(lo, 1u)) {
                item_last |= 1ull << (base + k);
            }
        }
        if (hi == unbounded) {
            m.follow_[base + copies - 1] |= 1ull << (base + copies - 1);
        }
        std::uint64_t item_first = 1ull << base;
        for (std::uint64_t s = last; s != 0; s &= s - 1) {
            m.follow_[static_cast<std::size_t>(__builtin_ctzll(s))] |= item_first;
        }
        if (nullable) {
            m.first_ |= item_first;
        }
        bool item_nullable = lo == 0;
        last = item_nullable ? (last | item_last) : item_last;
        nullable = nullable && item_nullable;
    }
    if (m.first_ == 0) {
        fail(pattern, "matches nothing");
    }
    m.last_ = last;
    for (std::size_t pos = 0; pos < m.classes_.size(); ++pos) {
        for (unsigned c = 0; c < 256; ++c) {
            if (m.classes_[pos].test(c)) {
                m.accept_[c] |= 1ull << pos;
            }
        }
    }
    return m;
}

bool matcher::overlaps(const matcher& other) const
{
    // Search the product automaton for a pair of positions both can end in.
    const std::size_t n = classes_.size();
    const std::size_t k = other.classes_.size();
    std::vector<bool> seen(n * k, false);
    std::vector<std::pair<std::size_t, std::size_t>> todo;
    auto visit = [&](std::uint64_t mine, std::uint64_t theirs) {
        for (std::uint64_t a = mine; a != 0; a &= a - 1) {
            auto p = static_cast<std::size_t>(__builtin_ctzll(a));
            for (std::uint64_t b = theirs; b != 0; b &= b - 1) {
                auto q = static_cast<std::size_t>(__builtin_ctzll(b));
                if (!seen[p * k + q] && (classes_[p] & other.classes_[q]).any()) {
                    seen[p * k + q] = true;
                    todo.emplace_back(p, q);
                }
            }
        }
    };
    visit(first_, other.first_);
    while (!todo.empty()) {
        auto [p, q] = todo.back();
        todo.pop_back();
        if (((last_ >> p) & 1) && ((other.last_ >> q) & 1)) {
            return true;
        }
        visit(follow_[p], other.follow_[q]);
    }
    return false;
}

}  // namespace covet::router::detail
