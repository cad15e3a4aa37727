#include <covet/http/error.hpp>
#include <covet/http/request.hpp>
#include <covet/json/writer.hpp>
#include <covet/web/errors.hpp>

#include <cstdio>
#include <variant>

namespace covet::web {

validation_error::validation_error(std::vector<field_error> errors)
    : std::runtime_error("request validation failed"), errors_(std::move(errors))
{
}

std::string error_body(std::span<const field_error> errors)
{
    json::writer w;
    w.raw(R"({"detail":[)");
    bool first = true;
    for (const auto& e : errors) {
        json::write_error_item(w, first, {}, e.loc, e.msg, e.type);
        first = false;
    }
    w.raw("]}");
    return w.str();
}

std::vector<field_error> from_json_errors(std::span<const json::error> errors, std::string_view where)
{
    std::vector<field_error> out;
    out.reserve(errors.size());
    for (const auto& e : errors) {
        field_error f;
        if (!where.empty()) {
            f.loc.emplace_back(std::string(where));
        }
        f.loc.insert(f.loc.end(), e.loc.begin(), e.loc.end());
        f.msg = e.message;
        f.type = std::string(json::kind_name(e.kind));
        out.push_back(std::move(f));
    }
    return out;
}

http::response validation_response(std::span<const field_error> errors)
{
    return http::response::json_bytes(error_body(errors), http::status::unprocessable_content);
}

http::response problem(http::status s, std::string_view detail)
{
    return problem(s, detail, {});
}

http::response problem(http::status s, std::string_view detail, std::span<const problem_member> extensions)
{
    const std::string_view title = http::reason_phrase(s);
    json::writer w;
    w.raw(R"({"type":"about:blank","title":)");
    w.string(title);
    w.raw(R"(,"status":)");
    w.number(static_cast<unsigned>(s));
    w.raw(R"(,"detail":)");
    w.string(detail.empty() ? title : detail);
    for (const auto& m : extensions) {
        w.put(',');
        w.string(m.name);
        w.put(':');
        w.string(m.value);
    }
    w.put('}');
    http::response r = http::response::json_bytes(w.str(), s);
    r.set_content_type("application/problem+json");
    return r;
}

http::response response_for_exception(std::exception_ptr failure, const http::request& req)
{
    try {
        std::rethrow_exception(failure);
    } catch (const validation_error& e) {
        return validation_response(e.errors());
    } catch (const http::error& e) {
        return problem(e.status(), e.detail());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "covet.web: %.*s %.*s: unhandled exception: %s\n",
                     static_cast<int>(req.method_name().size()), req.method_name().data(),
                     static_cast<int>(req.path().size()), req.path().data(), e.what());
    } catch (...) {
        std::fprintf(stderr, "covet.web: %.*s %.*s: unhandled non-standard exception\n",
                     static_cast<int>(req.method_name().size()), req.method_name().data(),
                     static_cast<int>(req.path().size()), req.path().data());
    }
    return problem(http::status::internal_server_error);
}

http::response response_for_exception(std::exception_ptr failure, const http::request& req,
                                      std::span<const error_mapping> mappings)
{
    try {
        for (const auto& m : mappings) {
            std::optional<http::response> out;
            if (m.try_map(m.fn.get(), failure, req, out)) {
                return std::move(*out);
            }
        }
    } catch (...) {
        failure = std::current_exception();  // the mapping itself failed
    }
    return response_for_exception(std::move(failure), req);
}

}  // namespace covet::web
