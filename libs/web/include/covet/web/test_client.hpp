#pragma once
// web::test_client: calls an app in-process, without sockets, like FastAPI's
// TestClient. Each call serializes the request to HTTP/1.1, parses it with
// covet::http's request parser (so malformed test requests fail as they would
// on the wire), runs app::dispatch to completion on a private io_context
// (net::block_on) and returns what the server would send: status, headers
// (Content-Type and Content-Length included; Date and Server are the http
// engine's and absent here) and the body (streamed bodies are collected; HEAD
// has none).
//
//   web::test_client client(app);
//   auto r = client.post("/users", R"({"name":"ada"})");
//   CHECK(r.status == 201);
//   auto u = r.json<user>();
//
// Handlers run on the calling thread; services and middleware are the app's.
// Do not call a test_client from inside a running coroutine (block_on nests a
// second io_context on this thread).

#include <covet/json/read.hpp>
#include <covet/web/app.hpp>

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::web {

using header_list = std::vector<std::pair<std::string, std::string>>;

struct test_response {
    int status = 0;
    header_list headers;
    std::string body;

    /// First value of `name` (case-insensitive); "" if absent.
    std::string_view header(std::string_view name) const noexcept;
    bool has_header(std::string_view name) const noexcept;
    /// The body parsed into T; throws std::runtime_error listing the errors.
    template <class T>
    T json() const
    {
        auto parsed = covet::json::parse<T>(body);
        if (!parsed) {
            std::string text = "test_response::json: ";
            for (const auto& e : parsed.errors()) {
                text += e.to_string() + "; ";
            }
            throw std::runtime_error(text);
        }
        return std::move(*parsed);
    }
};

class test_client {
public:
    /// Freezes `a`; the app must outlive the client.
    explicit test_client(web::app& a);

    /// Any request. `target` is the origin form ("/users?page=2"); a Host
    /// header is added unless given; Content-Length is set from `body`.
    test_response request(std::string_view method, std::string_view target, std::string_view body = {},
                          const header_list& headers = {});

    test_response get(std::string_view target, const header_list& headers = {})
    {
        return request("GET", target, {}, headers);
    }
    test_response head(std::string_view target, const header_list& headers = {})
    {
        return request("HEAD", target, {}, headers);
    }
    test_response options(std::string_view target, const header_list& headers = {})
    {
        return request("OPTIONS", target, {}, headers);
    }
    test_response del(std::string_view target, const header_list& headers = {})
    {
        return request("DELETE", target, {}, headers);
    }
    /// POST with Content-Type: application/json unless `headers` has one.
    test_response post(std::string_view target, std::string_view json_body, const header_list& headers = {});
    test_response put(std::string_view target, std::string_view json_body, const header_list& headers = {});
    test_response patch(std::string_view target, std::string_view json_body, const header_list& headers = {});

private:
    test_response with_json(std::string_view method, std::string_view target, std::string_view body,
                            const header_list& headers);
    web::app* app_;
};

}  // namespace covet::web
