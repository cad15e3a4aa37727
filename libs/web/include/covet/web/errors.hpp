#pragma once
// How covet::web answers errors. Every error body is JSON:
//
//  - validation (path, query, header, body; or a thrown web::validation_error):
//    422, FastAPI's shape
//      {"detail":[{"loc":["path","id"],"msg":"Input should be a valid integer","type":"int_parsing"}]}
//  - a thrown covet::http::error{status, detail} and the app's own 404/405:
//    an RFC 9457 problem (application/problem+json) that also has FastAPI's
//    "detail" key:  {"type":"about:blank","title":"Not Found","status":404,"detail":"..."}
//  - any other exception: a 500 problem whose body reveals nothing; the
//    exception is logged (stderr) with the method and path.

#include <covet/http/response.hpp>
#include <covet/http/status.hpp>
#include <covet/json/error.hpp>

#include <exception>
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

/// The response for an exception escaping a handler or middleware (see the
/// top of this header); logs unknown exceptions with the request line.
http::response response_for_exception(std::exception_ptr failure, const http::request& req);

}  // namespace covet::web
