#pragma once
// How covet::web answers errors. Every error body is JSON:
//
//  - validation (path, query, header, body; or a thrown web::validation_error):
//    422, FastAPI's shape
//      {"detail":[{"loc":["path","id"],"msg":"Input should be a valid integer","type":"int_parsing"}]}
//  - a thrown covet::http::error{status, detail} and the app's own 404/405:
//    an RFC 9457 problem (application/problem+json) that also has FastAPI's
//    "detail" key:  {"type":"about:blank","title":"Not Found","status":404,"detail":"..."}
//  - an exception type given to app::map_error<E>(fn): fn's response (the
//    mappings are tried first, in registration order);
//  - any other exception: a 500 problem whose body reveals nothing; the
//    exception is logged (stderr) with the method and path.

#include <covet/http/response.hpp>
#include <covet/http/status.hpp>
#include <covet/json/error.hpp>

#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace covet::http {
class request;
}

namespace covet::web {

/// One validation problem: where (`loc`, from "path"/"query"/"header"/"body"),
/// a human message and a pydantic-style type name.
struct field_error {
    std::vector<json::path_element> loc;
    std::string msg;
    std::string type;
};

/// Thrown (by the app, or by handlers and dependencies) to answer 422 with every problem listed.
class validation_error : public std::runtime_error {
public:
    explicit validation_error(std::vector<field_error> errors);
    const std::vector<field_error>& errors() const noexcept { return errors_; }

private:
    std::vector<field_error> errors_;
};

/// `{"detail":[{"loc":[...],"msg":"...","type":"..."}]}`.
std::string error_body(std::span<const field_error> errors);

/// Converts covet::json parse errors, each loc prefixed with `where` ("body").
std::vector<field_error> from_json_errors(std::span<const json::error> errors,
                                          std::string_view where = "body");

/// A 422 response listing `errors`.
http::response validation_response(std::span<const field_error> errors);

/// An application/problem+json response; `detail` defaults to the reason phrase.
http::response problem(http::status s, std::string_view detail = {});

/// An RFC 9457 extension member of a problem: `"name":"value"`.
struct problem_member {
    std::string_view name;
    std::string_view value;
};
/// A problem with extension members after the standard ones.
http::response problem(http::status s, std::string_view detail, std::span<const problem_member> extensions);

/// One app::map_error() registration, type-erased: `try_map` rethrows the
/// failure, and when it is the mapping's exception type, sets `out` from the
/// mapping function (stored in `fn`) and returns whether it answered.
struct error_mapping {
    using try_map_fn = bool (*)(const void* fn, const std::exception_ptr& failure, const http::request& req,
                                std::optional<http::response>& out);
    try_map_fn try_map = nullptr;
    std::shared_ptr<const void> fn;
};

/// The response for an exception escaping a handler or middleware (see the
/// top of this header); logs unknown exceptions with the request line.
http::response response_for_exception(std::exception_ptr failure, const http::request& req);
/// The same, trying the app's `mappings` first. A mapping that throws is
/// answered like any exception from a handler (e.g. a logged 500).
http::response response_for_exception(std::exception_ptr failure, const http::request& req,
                                      std::span<const error_mapping> mappings);

}  // namespace covet::web
