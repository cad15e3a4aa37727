#pragma once
// covet::http::error: thrown by a handler to answer with a given status. The
// server turns it into that response (the detail becomes the body); any
// other exception becomes a logged 500 whose body reveals nothing.

#include <covet/http/status.hpp>

#include <stdexcept>
#include <string>

namespace covet::http {

class error : public std::runtime_error {
public:
    explicit error(http::status code, std::string detail = {})
        : std::runtime_error(detail.empty() ? std::string(reason_phrase(code)) : detail),
          status_(code),
          detail_(std::move(detail))
    {
    }

    http::status status() const noexcept { return status_; }
    /// Sent as the response body (text/plain); the reason phrase when empty.
    const std::string& detail() const noexcept { return detail_; }

private:
    http::status status_;
    std::string detail_;
};

}  // namespace covet::http
