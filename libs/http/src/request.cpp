#include <covet/base/percent.hpp>
#include <covet/http/request.hpp>
#include <covet/http/url.hpp>

#include <algorithm>
#include <cstring>

namespace covet::http {

namespace {

std::string_view trim_spaces(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

}  // namespace

std::string_view request::path() const noexcept
{
    std::string_view t = head_->target;
    if (!t.empty() && t.front() != '/') {
        const auto scheme = t.find("://");
        if (scheme == std::string_view::npos) {
            return t;  // authority or asterisk form
        }
        t.remove_prefix(scheme + 3);
        const auto slash = t.find_first_of("/?");
        if (slash == std::string_view::npos || t[slash] == '?') {
            return "/";
        }
        t.remove_prefix(slash);
    }
    return t.substr(0, t.find('?'));
}

std::string_view request::query_string() const noexcept
{
    const std::string_view t = head_->target;
    const auto q = t.find('?');
    return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::optional<std::string> request::query(std::string_view name) const
{
    auto raw = query_param_raw(query_string(), name);
    if (!raw) {
        return std::nullopt;
    }
    return percent_decode(*raw, true);
}

std::string_view request::header(std::string_view name) const noexcept
{
    for (const auto& h : head_->headers) {
        if (iequals(h.name, name)) {
            return h.value;
        }
    }
    return {};
}

bool request::has_header(std::string_view name) const noexcept
{
    for (const auto& h : head_->headers) {
        if (iequals(h.name, name)) {
            return true;
        }
    }
    return false;
}

std::optional<std::string_view> request::cookie(std::string_view name) const noexcept
{
    // cookie-string = cookie-pair *( ";" SP cookie-pair ), possibly over several fields.
    for (const auto& h : head_->headers) {
        if (!iequals(h.name, "cookie")) {
            continue;
        }
        std::string_view rest = h.value;
        while (!rest.empty()) {
            const auto semi = rest.find(';');
            std::string_view pair = trim_spaces(rest.substr(0, semi));
            const auto eq = pair.find('=');
            if (eq != std::string_view::npos && trim_spaces(pair.substr(0, eq)) == name) {
                std::string_view value = trim_spaces(pair.substr(eq + 1));
                if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
                    value = value.substr(1, value.size() - 2);
                }
                return value;
            }
            if (semi == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(semi + 1);
        }
    }
    return std::nullopt;
}

task<result<std::size_t>> request::read_body(asio::mutable_buffer buffer)
{
    if (source_ != nullptr) {
        co_return co_await source_->read(buffer);
    }
    const std::size_t n = std::min(buffer.size(), body_.size() - body_read_);
    std::memcpy(buffer.data(), body_.data() + body_read_, n);
    body_read_ += n;
    co_return n;
}

task<result<std::string>> request::read_all_body(std::size_t limit)
{
    if (source_ == nullptr) {
        if (body_.size() > limit) {
            co_return errc::limit_exceeded;
        }
        co_return std::string(body_);
    }
    std::string all;
    char chunk[16 * 1024];
    for (;;) {
        auto n = co_await source_->read(asio::buffer(chunk));
        if (!n) {
            co_return n.error();
        }
        if (*n == 0) {
            co_return all;
        }
        if (all.size() + *n > limit) {
            co_return errc::limit_exceeded;
        }
        all.append(chunk, *n);
    }
}

// ---------------------------------------------------------------------------

std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space)
{
    std::string out;
    out.reserve(text.size());
    if (!covet::percent_decode(text, out, plus_as_space)) {
        return std::nullopt;
    }
    return out;
}

std::string percent_encode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    covet::percent_encode(text, out);
    return out;
}

std::optional<std::string_view> query_param_raw(std::string_view query, std::string_view name) noexcept
{
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        const auto eq = pair.find('=');
        const std::string_view key = pair.substr(0, eq);
        if (key == name) {
            return eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
        }
        if (amp == std::string_view::npos) {
            break;
        }
        query.remove_prefix(amp + 1);
    }
    return std::nullopt;
}

}  // namespace covet::http
