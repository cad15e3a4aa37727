// Fuzzes registration and lookup together. Input: lines; "+METHOD pattern"
// registers a route (errors are expected and ignored), "METHOD path" looks a
// path up. The first byte picks the options. Checks: no crash or sanitizer
// report, parameters are views inside the path, found routes capture what
// their pattern declares, and url_for's output finds a route again.
#include <covet/router/router.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

using namespace covet::router;

namespace {

void check(bool ok)
{
    if (!ok) {
        std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0 || size > 8192) {
        return 0;
    }
    std::string_view in(reinterpret_cast<const char*>(data), size);
    options opts;
    opts.slash = static_cast<trailing_slash>(static_cast<unsigned char>(in[0]) % 3);
    opts.head_from_get = (in[0] & 4) != 0;
    opts.auto_options = (in[0] & 8) != 0;
    in.remove_prefix(1);

    router<int> r(opts);
    std::vector<std::string> lookups;
    int routes = 0;
    while (!in.empty()) {
        auto nl = in.find('\n');
        std::string_view line = in.substr(0, nl);
        in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
        bool add = !line.empty() && line[0] == '+';
        line.remove_prefix(add ? 1 : 0);
        auto sp = line.find(' ');
        if (sp == std::string_view::npos) {
            continue;
        }
        std::string_view m = line.substr(0, sp);
        std::string_view rest = line.substr(sp + 1);
        if (add) {
            if (routes >= 64) {
                continue;
            }
            try {
                r.add(m, rest, routes, "r" + std::to_string(routes));
                ++routes;
            } catch (const std::invalid_argument&) {
            }
        } else {
            lookups.emplace_back(line);
        }
    }
    r.freeze();

    for (const auto& l : lookups) {
        auto sp = l.find(' ');
        std::string_view m = std::string_view(l).substr(0, sp);
        std::string_view path = std::string_view(l).substr(sp + 1);
        auto res = r.find(m, path);
        if (res.status() != match_status::found) {
            check(res.handler() == nullptr && res.params().empty());
            if (res.status() == match_status::redirect) {
                check(!res.redirect_location().empty());
            }
            (void)res.allow_header();
            continue;
        }
        const route_info* route = res.route();
        check(route != nullptr && res.handler() != nullptr);
        check(static_cast<std::uint32_t>(*res.handler()) == route->id);
        const auto& p = res.params();
        check(p.size() == route->param_names.size());
        std::vector<std::string> decoded;
        bool all_decoded = true;
        for (std::size_t i = 0; i < p.size(); ++i) {
            check(p.name(i) == route->param_names[i]);
            check(p[i].data() >= path.data() && p[i].data() + p[i].size() <= path.data() + path.size());
            std::string d;
            all_decoded = all_decoded && percent_decode(p[i], d);
            decoded.push_back(std::move(d));
        }
        if (all_decoded && opts.slash == trailing_slash::strict) {
            std::vector<std::pair<std::string_view, std::string_view>> values;
            for (std::size_t i = 0; i < p.size(); ++i) {
                values.emplace_back(p.name(i), decoded[i]);
            }
            if (auto url = r.url_for(route->name, values)) {
                check(r.find(route->method_token, *url).status() != match_status::not_found);
            }
        }
    }
    return 0;
}
