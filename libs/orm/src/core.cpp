// covet::orm core: errors, URL parsing, the driver registry, placeholder numbering.
#include <covet/orm/driver.hpp>
#include <covet/orm/error.hpp>
#include <covet/orm/query.hpp>

#include <cctype>
#include <charconv>
#include <iterator>
#include <mutex>
#include <string>
#include <unordered_map>

namespace covet::orm {

namespace {

class orm_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "covet.orm"; }
    std::string message(int ev) const override
    {
        switch (static_cast<errc>(ev)) {
        case errc::constraint_violation: return "constraint violation";
        case errc::not_found: return "not found";
        case errc::connection_lost: return "connection lost";
        case errc::timeout: return "timeout";
        case errc::serialization_failure: return "serialization failure";
        case errc::query_error: return "query error";
        case errc::invalid_argument: return "invalid argument";
        case errc::shutting_down: return "shutting down";
        }
        return "unknown covet.orm error";
    }
};

std::string percent_decode(std::string_view s)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

struct registry {
    std::mutex mutex;
    std::unordered_map<std::string, driver_factory> drivers;
};

registry& drivers()
{
    static registry r;
    return r;
}

}  // namespace

const std::error_category& orm_category() noexcept
{
    static const orm_category_impl category;
    return category;
}

errc kind_of_sql_state(std::string_view state) noexcept
{
    if (state.size() != 5) {
        return errc::query_error;
    }
    const std::string_view cls = state.substr(0, 2);
    if (cls == "23") {
        return errc::constraint_violation;
    }
    if (state == "40001" || state == "40P01") {
        return errc::serialization_failure;
    }
    if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
        return errc::connection_lost;
    }
    if (state == "57014" || state == "55P03") {
        return errc::timeout;
    }
    if (state == "02000") {
        return errc::not_found;
    }
    return errc::query_error;
}

url url::parse(std::string_view text)
{
    url u;
    const auto colon = text.find(':');
    if (colon == std::string_view::npos || colon == 0) {
        throw error(errc::invalid_argument, "", "covet::orm: a URL needs a scheme: " + std::string(text));
    }
    u.scheme = std::string(text.substr(0, colon));
    for (auto& ch : u.scheme) {
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
    std::string_view rest = text.substr(colon + 1);
    if (u.scheme == "sqlite") {
        if (rest == ":memory:" || rest == "//:memory:") {
            u.memory = true;
            return u;
        }
        if (rest.substr(0, 2) != "//") {
            throw error(
                errc::invalid_argument, "",
                "covet::orm: use sqlite::memory: or sqlite:///absolute/path or sqlite://relative/path");
        }
        rest.remove_prefix(2);
        const auto q = rest.find('?');
        u.database = percent_decode(rest.substr(0, q));
        if (u.database.empty()) {
            throw error(errc::invalid_argument, "", "covet::orm: sqlite URL without a path");
        }
        rest = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
    } else {
        if (rest.substr(0, 2) != "//") {
            throw error(errc::invalid_argument, "",
                        "covet::orm: expected scheme://...: " + std::string(text));
        }
        rest.remove_prefix(2);
        const auto q = rest.find('?');
        std::string_view main = rest.substr(0, q);
        rest = q == std::string_view::npos ? std::string_view{} : rest.substr(q + 1);
        const auto slash = main.find('/');
        std::string_view authority = main.substr(0, slash);
        if (slash != std::string_view::npos) {
            u.database = percent_decode(main.substr(slash + 1));
        }
        const auto at = authority.rfind('@');
        if (at != std::string_view::npos) {
            std::string_view userinfo = authority.substr(0, at);
            authority = authority.substr(at + 1);
            const auto pc = userinfo.find(':');
            u.user = percent_decode(userinfo.substr(0, pc));
            if (pc != std::string_view::npos) {
                u.password = percent_decode(userinfo.substr(pc + 1));
            }
        }
        if (!authority.empty() && authority.front() == '[') {  // [v6]:port
            const auto close = authority.find(']');
            if (close == std::string_view::npos) {
                throw error(errc::invalid_argument, "", "covet::orm: bad IPv6 host in URL");
            }
            u.host = std::string(authority.substr(1, close - 1));
            authority.remove_prefix(close + 1);
            if (!authority.empty() && authority.front() == ':') {
                u.port = std::string(authority.substr(1));
            }
        } else {
            const auto pc = authority.rfind(':');
            u.host = percent_decode(authority.substr(0, pc));
            if (pc != std::string_view::npos) {
                u.port = std::string(authority.substr(pc + 1));
            }
        }
        for (char ch : u.port) {
            if (ch < '0' || ch > '9') {
                throw error(errc::invalid_argument, "", "covet::orm: bad port in URL");
            }
        }
    }
    while (!rest.empty()) {
        const auto amp = rest.find('&');
        std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        std::string key = percent_decode(pair.substr(0, eq));
        std::string val = eq == std::string_view::npos ? std::string{} : percent_decode(pair.substr(eq + 1));
        if (key == "host") {
            u.host = val;  // host=/path/to/socketdir
        } else if (key == "port") {
            u.port = val;
        }
        u.query[std::move(key)] = std::move(val);
    }
    return u;
}

statement_result connection::run_inline(std::string_view, std::span<const value>, row_sink*)
{
    throw error(errc::query_error, "", "covet::orm: this driver does not run statements inline");
}

void register_driver(std::string scheme, driver_factory factory)
{
    auto& r = drivers();
    std::lock_guard lock(r.mutex);
    r.drivers[std::move(scheme)] = std::move(factory);
}

const driver_factory* find_driver(std::string_view scheme)
{
    auto& r = drivers();
    std::lock_guard lock(r.mutex);
    auto it = r.drivers.find(std::string(scheme));
    return it == r.drivers.end() ? nullptr : &it->second;
}

namespace detail {

void append_numbered(std::string& out, std::string_view fragment, std::size_t& next)
{
    std::size_t start = 0;
    for (std::size_t at = fragment.find(param_marker); at != std::string_view::npos;
         at = fragment.find(param_marker, start)) {
        out.append(fragment.substr(start, at - start));
        out += '$';
        char digits[24];
        const auto [end, ec] = std::to_chars(std::begin(digits), std::end(digits), next++);
        (void)ec;  // 24 digits always fit a size_t
        out.append(digits, end);
        start = at + 1;
    }
    out.append(fragment.substr(start));
}

std::string number_params(std::string_view sql, std::size_t first)
{
    std::string out;
    out.reserve(sql.size() + 16);
    append_numbered(out, sql, first);
    return out;
}

}  // namespace detail

}  // namespace covet::orm
