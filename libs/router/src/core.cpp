#include <covet/router/detail/core.hpp>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace covet::router::detail {
namespace {

bool is_name_char(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// RFC 9110 tchar: what a method token may consist of.
bool is_token_char(char c) noexcept
{
    return is_name_char(c) || std::string_view("!#$%&'*+-.^`|~").find(c) != std::string_view::npos;
}

bool is_hex(char c) noexcept
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Literal segments are stored the way a conforming client sends them:
// pchars as is, escapes with upper-case hex, everything else encoded.
std::string canonical_literal(std::string_view in)
{
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '%' && i + 2 < in.size() && is_hex(in[i + 1]) && is_hex(in[i + 2])) {
            out += '%';
            out += static_cast<char>(std::toupper(static_cast<unsigned char>(in[i + 1])));
            out += static_cast<char>(std::toupper(static_cast<unsigned char>(in[i + 2])));
            i += 2;
        } else if (is_unreserved(c) || std::string_view("!$&'()*+,;=:@").find(c) != std::string_view::npos) {
            out += c;
        } else {
            percent_encode(std::string_view(&in[i], 1), out);
        }
    }
    return out;
}

bool less_segment(std::string_view a, std::string_view b) noexcept
{
    return a.size() != b.size() ? a.size() < b.size() : std::memcmp(a.data(), b.data(), a.size()) < 0;
}

[[noreturn]] void bad_pattern(std::string_view pattern, const std::string& why)
{
    throw std::invalid_argument("route pattern '" + std::string(pattern) + "': " + why);
}

}  // namespace

void append_allow(method_set allow, const endpoint* ep, std::string& out)
{
    const std::size_t start = out.size();
    allow.append_to(out);
    if (ep != nullptr) {
        for (const auto& [token, route] : ep->custom) {
            if (out.size() > start) {
                out += ", ";
            }
            out += token;
        }
    }
}

core::core(options opts) : opts_(opts)
{
    nodes_.emplace_back();
    types_ = {
        {"int", "-?[0-9]+"},
        {"uint", "[0-9]+"},
        {"hex", "[0-9a-fA-F]+"},
        {"alpha", "[A-Za-z]+"},
        {"uuid", "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"},
    };
}

void core::define_type(std::string_view name, std::string_view pattern)
{
    if (frozen_) {
        throw std::logic_error("router is frozen: cannot define type '" + std::string(name) + "'");
    }
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
        throw std::invalid_argument("type name '" + std::string(name) + "' must be [A-Za-z0-9_]+");
    }
    for (const auto& [existing, p] : types_) {
        if (existing == name) {
            throw std::invalid_argument("type '" + std::string(name) + "' is already defined as '" + p + "'");
        }
    }
    (void)matcher::compile(pattern);  // validate now, not at first use
    types_.emplace_back(std::string(name), std::string(pattern));
}

std::uint64_t core::hash_path(std::string_view s) noexcept
{
    // Eight bytes at a time, multiply-xorshift mixing: cheap for short paths.
    std::uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
    std::size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
        std::uint64_t w;
        std::memcpy(&w, s.data() + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
    }
    if (i < s.size()) {
        // The tail as fixed-size loads (overlapping when possible): a
        // variable-length memcpy into a word stalls store forwarding.
        const char* p = s.data();
        const std::size_t n = s.size();
        std::uint64_t w;
        if (n >= 8) {
            std::memcpy(&w, p + n - 8, 8);
        } else if (n >= 4) {
            std::uint32_t a, b;
            std::memcpy(&a, p, 4);
            std::memcpy(&b, p + n - 4, 4);
            w = (std::uint64_t{a} << 32) | b;
        } else {
            w = (std::uint64_t{static_cast<unsigned char>(p[0])} << 16) |
                (std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
                static_cast<unsigned char>(p[n - 1]);
        }
        h = (h ^ w) * 0x94d049bb133111ebull;
    }
    h ^= h >> 32;  // the table indexes with the low bits
    h *= 0xff51afd7ed558ccdull;
    return h ^ (h >> 33);
}

void core::build_static_table()
{
    std::vector<std::pair<std::string, std::uint32_t>> found;
    // Depth-first along static edges only, from the root.
    std::vector<std::pair<std::uint32_t, std::string>> todo{{0u, std::string()}};
    while (!todo.empty()) {
        auto [n, prefix] = std::move(todo.back());
        todo.pop_back();
        if (n != 0 && nodes_[n].endpoint != npos) {
            found.emplace_back(prefix, n);
        }
        for (const auto& e : nodes_[n].statics) {
            todo.emplace_back(e.child, prefix + '/' + e.segment);
        }
    }
    std::size_t size = 8;
    while (size < found.size() * 2) {
        size *= 2;
    }
    static_table_.assign(found.empty() ? 0 : size, static_slot{});
    static_paths_.clear();
    static_lengths_ = 0;
    for (auto& entry : found) {
        static_paths_.push_back(std::move(entry.first));
    }
    // static_paths_ is complete: pointers into it stay valid.
    for (std::size_t k = 0; k < found.size(); ++k) {
        const std::string& path = static_paths_[k];
        static_lengths_ |= 1ull << std::min<std::size_t>(path.size(), 63);
        const std::uint64_t h = hash_path(path);
        std::size_t i = h & (size - 1);
        while (static_table_[i].node != npos) {
            i = (i + 1) & (size - 1);
        }
        static_table_[i] = {h, found[k].second, static_cast<std::uint32_t>(path.size()), path.data()};
    }
}

std::uint32_t core::find_exact(std::string_view path) const noexcept
{
    const std::uint64_t h = hash_path(path);
    const std::size_t mask = static_table_.size() - 1;
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
        const static_slot& slot = static_table_[i];
        if (slot.node == npos) {
            return npos;
        }
        if (slot.hash == h && slot.size == path.size() &&
            std::memcmp(slot.data, path.data(), path.size()) == 0) {
            return slot.node;
        }
    }
}

void core::freeze()
{
    frozen_ = true;
    build_static_table();
    for (auto& n : nodes_) {
        n.statics.shrink_to_fit();
        n.typed.shrink_to_fit();
    }
    nodes_.shrink_to_fit();
    endpoints_.shrink_to_fit();
}

std::uint32_t core::matcher_for(std::string_view regex, const std::vector<matcher>& fresh) const
{
    for (std::size_t i = 0; i < matchers_.size(); ++i) {
        if (matchers_[i].pattern() == regex) {
            return static_cast<std::uint32_t>(i);
        }
    }
    for (std::size_t i = 0; i < fresh.size(); ++i) {
        if (fresh[i].pattern() == regex) {
            return static_cast<std::uint32_t>(matchers_.size() + i);
        }
    }
    return npos;
}

std::vector<pattern_segment> core::parse(std::string_view pattern, std::vector<std::string>& names,
                                         std::vector<matcher>& fresh)
{
    if (pattern.empty() || pattern[0] != '/') {
        bad_pattern(pattern, "must start with '/'");
    }
    std::vector<pattern_segment> segs;
    std::size_t i = 1;
    for (;;) {
        pattern_segment seg;
        if (!segs.empty() && segs.back().kind == segment_kind::catch_all) {
            bad_pattern(pattern, "a catch-all {name...} must be the last segment");
        }
        if (i < pattern.size() && pattern[i] == '{') {
            // Braces nest so that {n:[0-9]{4}} works.
            std::size_t depth = 0, j = i;
            for (; j < pattern.size(); ++j) {
                depth += pattern[j] == '{';
                depth -= pattern[j] == '}';
                if (depth == 0) {
                    break;
                }
            }
            if (j == pattern.size()) {
                bad_pattern(pattern, "unbalanced '{'");
            }
            std::string_view body = pattern.substr(i + 1, j - i - 1);
            i = j + 1;
            if (i < pattern.size() && pattern[i] != '/') {
                bad_pattern(pattern, "a parameter must be a whole segment");
            }
            std::string_view name = body;
            std::string_view type;
            if (auto colon = body.find(':'); colon != std::string_view::npos) {
                name = body.substr(0, colon);
                type = body.substr(colon + 1);
                if (type.empty()) {
                    bad_pattern(pattern, "empty type after ':'");
                }
                seg.kind = segment_kind::typed;
            } else if (body.size() > 3 && body.substr(body.size() - 3) == "...") {
                name = body.substr(0, body.size() - 3);
                seg.kind = segment_kind::catch_all;
            } else {
                seg.kind = segment_kind::param;
            }
            if (name.empty() || !std::all_of(name.begin(), name.end(), is_name_char)) {
                bad_pattern(pattern, "parameter name '" + std::string(name) + "' must be [A-Za-z0-9_]+");
            }
            if (std::find(names.begin(), names.end(), name) != names.end()) {
                bad_pattern(pattern, "parameter '" + std::string(name) + "' appears twice");
            }
            names.emplace_back(name);
            seg.text = std::string(name);
            if (seg.kind == segment_kind::typed) {
                seg.type = std::string(type);
                std::string_view regex = type;
                for (const auto& [tname, tpattern] : types_) {
                    if (tname == type) {
                        regex = tpattern;
                    }
                }
                seg.matcher = matcher_for(regex, fresh);
                if (seg.matcher == npos) {
                    try {
                        fresh.push_back(matcher::compile(regex));
                    } catch (const std::invalid_argument& e) {
                        bad_pattern(pattern, e.what());
                    }
                    seg.matcher = static_cast<std::uint32_t>(matchers_.size() + fresh.size() - 1);
                }
            }
        } else {
            std::size_t end = std::min(pattern.find('/', i), pattern.size());
            std::string_view lit = pattern.substr(i, end - i);
            if (lit.find_first_of("{}") != std::string_view::npos) {
                bad_pattern(pattern, "a parameter must be a whole segment (found '{' or '}' in '" +
                                         std::string(lit) + "')");
            }
            seg.text = canonical_literal(lit);
            i = end;
        }
        segs.push_back(std::move(seg));
        if (i >= pattern.size()) {
            break;
        }
        ++i;  // the '/'
    }
    if (names.size() > max_params) {
        bad_pattern(pattern, "more than " + std::to_string(max_params) + " parameters");
    }
    return segs;
}

std::uint32_t core::add(std::string_view token, std::string_view pattern, std::string_view name,
                        std::uint32_t group)
{
    if (frozen_) {
        throw std::logic_error("router is frozen: cannot add '" + std::string(token) + ' ' +
                               std::string(pattern) + "'");
    }
    if (token.empty() || !std::all_of(token.begin(), token.end(), is_token_char)) {
        throw std::invalid_argument("route '" + std::string(pattern) + "': invalid method token '" +
                                    std::string(token) + "'");
    }
    route_info info;
    info.method = parse_method(token);
    info.method_token = std::string(token);
    info.pattern = std::string(pattern);
    info.name = std::string(name);
    info.group = group;
    info.id = static_cast<std::uint32_t>(routes_.size());
    std::vector<matcher> fresh;
    info.segments = parse(pattern, info.param_names, fresh);
    const std::string self = info.describe();

    if (!name.empty()) {
        for (const auto& r : routes_) {
            if (r.name == name) {
                throw std::invalid_argument("route name '" + std::string(name) + "' of '" + self +
                                            "' is already used by '" + r.describe() + "'");
            }
        }
    }
    auto matcher_at = [&](std::uint32_t id) -> const matcher& {
        return id < matchers_.size() ? matchers_[id] : fresh[id - matchers_.size()];
    };

    // Check everything against the existing tree before changing it, so a
    // rejected route leaves no trace.
    std::uint32_t n = 0;
    for (const auto& seg : info.segments) {
        const node& cur = nodes_[n];
        std::uint32_t next = npos;
        switch (seg.kind) {
        case segment_kind::literal:
            for (const auto& e : cur.statics) {
                if (e.segment == seg.text) {
                    next = e.child;
                }
            }
            break;
        case segment_kind::param: next = cur.param; break;
        case segment_kind::catch_all: next = cur.catch_all; break;
        case segment_kind::typed:
            for (std::uint32_t child : cur.typed) {
                const node& c = nodes_[child];
                if (c.matcher == seg.matcher) {
                    next = child;
                    break;
                }
                if (matcher_at(c.matcher).overlaps(matcher_at(seg.matcher))) {
                    throw std::invalid_argument("ambiguous routes '" + self + "' and '" +
                                                routes_[c.origin].describe() + "': parameter types '" +
                                                seg.type + "' and '" + matchers_[c.matcher].pattern() +
                                                "' can match the same segment");
                }
            }
            break;
        }
        n = next;
        if (n == npos) {
            break;
        }
    }
    if (n != npos && nodes_[n].endpoint != npos) {
        const endpoint& e = endpoints_[nodes_[n].endpoint];
        std::uint32_t existing = npos;
        if (info.method != method::other) {
            existing = e.routes[static_cast<std::size_t>(info.method)];
        } else {
            for (const auto& [t, r] : e.custom) {
                if (t == token) {
                    existing = r;
                }
            }
        }
        if (existing != npos) {
            throw std::invalid_argument("route '" + self + "' conflicts with '" +
                                        routes_[existing].describe() +
                                        "': same method, and they match the same paths");
        }
    }

    // Commit.
    for (auto& m : fresh) {
        matchers_.push_back(std::move(m));
    }
    const std::uint32_t id = info.id;
    n = 0;
    auto new_node = [&](std::uint32_t matcher_id = npos) {
        nodes_.emplace_back();
        nodes_.back().origin = id;
        nodes_.back().matcher = matcher_id;
        return static_cast<std::uint32_t>(nodes_.size() - 1);
    };
    for (const auto& seg : info.segments) {
        std::uint32_t next = npos;
        switch (seg.kind) {
        case segment_kind::literal: {
            auto& statics = nodes_[n].statics;
            auto it = std::lower_bound(
                statics.begin(), statics.end(), seg.text,
                [](const static_edge& e, const std::string& s) { return less_segment(e.segment, s); });
            if (it != statics.end() && it->segment == seg.text) {
                next = it->child;
            } else {
                std::size_t at = static_cast<std::size_t>(it - statics.begin());
                next = new_node();
                auto& fresh_statics = nodes_[n].statics;  // new_node may have moved nodes_
                fresh_statics.insert(fresh_statics.begin() + static_cast<std::ptrdiff_t>(at),
                                     {seg.text, next});
            }
            break;
        }
        case segment_kind::param:
            if (nodes_[n].param == npos) {
                std::uint32_t c = new_node();
                nodes_[n].param = c;
            }
            next = nodes_[n].param;
            break;
        case segment_kind::catch_all:
            if (nodes_[n].catch_all == npos) {
                std::uint32_t c = new_node();
                nodes_[n].catch_all = c;
            }
            next = nodes_[n].catch_all;
            break;
        case segment_kind::typed:
            for (std::uint32_t child : nodes_[n].typed) {
                if (nodes_[child].matcher == seg.matcher) {
                    next = child;
                }
            }
            if (next == npos) {
                next = new_node(seg.matcher);
                nodes_[n].typed.push_back(next);
            }
            break;
        }
        n = next;
    }
    if (nodes_[n].endpoint == npos) {
        endpoints_.emplace_back();
        endpoints_.back().routes.fill(npos);
        nodes_[n].endpoint = static_cast<std::uint32_t>(endpoints_.size() - 1);
    }
    endpoint& e = endpoints_[nodes_[n].endpoint];
    if (info.method != method::other) {
        e.routes[static_cast<std::size_t>(info.method)] = id;
    } else {
        e.custom.emplace_back(std::string(token), id);
    }
    e.allow.insert(info.method);
    if (info.method == method::get && opts_.head_from_get) {
        e.allow.insert(method::head);
    }
    if (opts_.auto_options) {
        e.allow.insert(method::options);
    }
    routes_.push_back(std::move(info));
    return id;
}

std::uint32_t core::find_static(const node& n, std::string_view seg) const noexcept
{
    const auto& statics = n.statics;
    if (statics.size() <= 8) {
        for (const auto& e : statics) {
            if (e.segment.size() == seg.size() &&
                std::memcmp(e.segment.data(), seg.data(), seg.size()) == 0) {
                return e.child;
            }
        }
        return npos;
    }
    auto it =
        std::lower_bound(statics.begin(), statics.end(), seg,
                         [](const static_edge& e, std::string_view s) { return less_segment(e.segment, s); });
    if (it != statics.end() && it->segment.size() == seg.size() &&
        std::memcmp(it->segment.data(), seg.data(), seg.size()) == 0) {
        return it->child;
    }
    return npos;
}

// Descends from node n at path position pos (a '/', real or virtual, or the
// end). Priority: static, typed, param, catch-all; it recurses only where a
// node offers more than one way on, so all-static paths run as a loop.
std::uint32_t core::walk(std::uint32_t n, std::size_t pos, walk_state& s) const noexcept
{
    for (;;) {
        const node& cur = nodes_[n];
        if (pos == s.end) {
            return cur.endpoint != npos ? n : npos;
        }
        const std::size_t start = pos + 1;
        std::string_view seg;
        std::size_t next;
        if (start > s.size) {
            seg = std::string_view(s.data + s.size, 0);
            next = s.end;
        } else {
            // Segments are short: a plain loop beats a memchr call.
            next = start;
            while (next < s.size && s.data[next] != '/') {
                ++next;
            }
            seg = std::string_view(s.data + start, next - start);
        }
        const bool alternatives = !cur.typed.empty() || cur.param != npos || cur.catch_all != npos;
        std::uint32_t child = cur.statics.empty() ? npos : find_static(cur, seg);
        // A failed branch may have pushed parameters: roll back to here.
        const std::size_t mark = s.out->size_;
        if (child != npos) {
            if (!alternatives) {
                n = child;
                pos = next;
                continue;
            }
            if (auto found = walk(child, next, s); found != npos) {
                return found;
            }
            s.out->size_ = mark;
        }
        if (seg.empty()) {
            // Parameters never match an empty segment; a catch-all may.
        } else {
            for (std::uint32_t t : cur.typed) {
                if (matchers_[nodes_[t].matcher].match(seg)) {
                    s.out->values_[mark] = {seg.data(), seg.size()};
                    s.out->size_ = mark + 1;
                    if (auto found = walk(t, next, s); found != npos) {
                        return found;
                    }
                    s.out->size_ = mark;
                }
            }
            if (cur.param != npos) {
                s.out->values_[mark] = {seg.data(), seg.size()};
                s.out->size_ = mark + 1;
                if (cur.catch_all == npos) {
                    n = cur.param;
                    pos = next;
                    continue;
                }
                if (auto found = walk(cur.param, next, s); found != npos) {
                    return found;
                }
                s.out->size_ = mark;
            }
        }
        if (cur.catch_all != npos) {
            const std::size_t from = std::min(start, s.size);
            s.out->values_[s.out->size_++] = {s.data + from, s.size - from};
            return cur.catch_all;
        }
        return npos;
    }
}

void core::resolve(std::uint32_t n, method m, std::string_view token, raw_match& out) const noexcept
{
    const endpoint& e = endpoints_[nodes_[n].endpoint];
    std::uint32_t r = npos;
    if (m != method::other) {
        r = e.routes[static_cast<std::size_t>(m)];
        if (r == npos && m == method::head && opts_.head_from_get) {
            r = e.routes[static_cast<std::size_t>(method::get)];
        }
    } else {
        for (const auto& [t, id] : e.custom) {
            if (t == token) {
                r = id;
            }
        }
    }
    if (r != npos) {
        out.status = match_status::found;
        out.route = r;
        out.params.names_ = routes_[r].param_names.data();
        return;
    }
    out.params.size_ = 0;
    out.allow = e.allow;
    out.ep = &e;
    out.status = m == method::options && opts_.auto_options ? match_status::auto_options
                                                            : match_status::method_not_allowed;
}

void core::find(method m, std::string_view token, std::string_view path, raw_match& out) const noexcept
{
    out.path = path;
    out.params.size_ = 0;
    if (path.empty() || path[0] != '/') {
        out.status = match_status::not_found;
        return;
    }
    const bool may_be_static = (static_lengths_ >> std::min<std::size_t>(path.size(), 63)) & 1;
    if (may_be_static && !static_table_.empty()) {
        if (std::uint32_t n = find_exact(path); n != npos) {
            resolve(n, m, token, out);
            return;
        }
    }
    walk_state s{path.data(), path.size(), path.size(), &out.params};
    std::uint32_t n = walk(0, 0, s);
    if (n == npos && opts_.slash != trailing_slash::strict) {
        out.params.size_ = 0;
        if (path.size() > 1 && path.back() == '/') {
            s.size = s.end = path.size() - 1;
            out.slash = 2;
        } else {
            s.end = path.size() + 1;
            out.slash = 1;
        }
        n = walk(0, 0, s);
        if (n != npos && opts_.slash == trailing_slash::redirect) {
            out.params.size_ = 0;
            out.status = match_status::redirect;
            return;
        }
    }
    if (n == npos) {
        out.params.size_ = 0;
        out.status = match_status::not_found;
        return;
    }
    resolve(n, m, token, out);
}

result<std::string> core::url_for(std::string_view name,
                                  std::span<const std::pair<std::string_view, std::string_view>> values) const
{
    const route_info* route = nullptr;
    for (const auto& r : routes_) {
        if (r.name == name) {
            route = &r;
            break;
        }
    }
    if (route == nullptr || values.size() != route->param_names.size()) {
        return errc::invalid_argument;
    }
    auto value_of = [&](const std::string& pname) -> const std::string_view* {
        for (const auto& [k, v] : values) {
            if (k == pname) {
                return &v;
            }
        }
        return nullptr;
    };
    std::string out;
    for (const auto& seg : route->segments) {
        out += '/';
        if (seg.kind == segment_kind::literal) {
            out += seg.text;
            continue;
        }
        const std::string_view* v = value_of(seg.text);
        if (v == nullptr || (v->empty() && seg.kind != segment_kind::catch_all)) {
            return errc::invalid_argument;
        }
        const std::size_t at = out.size();
        percent_encode(*v, out, seg.kind == segment_kind::catch_all);
        if (seg.kind == segment_kind::typed &&
            !matchers_[seg.matcher].match(std::string_view(out).substr(at))) {
            return errc::invalid_argument;
        }
    }
    return out;
}

}  // namespace covet::router::detail
