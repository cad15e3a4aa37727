#pragma once
// Path parameters of a lookup: raw string_views into the looked-up path in a
// fixed inline array (no allocation), decoded only on demand.

#include <covet/base/result.hpp>
#include <covet/router/percent.hpp>
#include <covet/router/types.hpp>

#include <charconv>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace covet::router {

namespace detail {
class core;
}  // namespace detail

/// The parameters a route captured. Values are views into the path passed to
/// find(): valid while that buffer is (for covet::http, until the handler's
/// task completes). They are raw, still percent-encoded; use decoded().
class params {
public:
    /// Number of captured parameters.
    std::size_t size() const noexcept { return size_; }
    /// True when the route captured nothing.
    bool empty() const noexcept { return size_ == 0; }

    /// Raw value of the i-th parameter (precondition i < size()).
    std::string_view operator[](std::size_t i) const noexcept { return {values_[i].data, values_[i].size}; }

    /// Name of the i-th parameter (precondition i < size()).
    std::string_view name(std::size_t i) const noexcept { return names_[i]; }

    /// Raw value of the parameter called `name`, if the route has it.
    std::optional<std::string_view> get(std::string_view name) const noexcept
    {
        for (std::size_t i = 0; i < size_; ++i) {
            if (names_[i] == name) {
                return (*this)[i];
            }
        }
        return std::nullopt;
    }

    /// Percent-decoded value of `name`: errc::invalid_argument when the route
    /// has no such parameter or its encoding is malformed.
    result<std::string> decoded(std::string_view name) const
    {
        auto raw = get(name);
        std::string out;
        if (!raw || !percent_decode(*raw, out)) {
            return errc::invalid_argument;
        }
        return out;
    }

    /// The parameter converted to an integer type (std::from_chars, whole
    /// value): errc::invalid_argument when absent, not a number or out of range.
    template <class Int>
    requires std::is_integral_v<Int> result<Int> as(std::string_view name)
    const noexcept
    {
        auto raw = get(name);
        Int v{};
        if (!raw || raw->empty()) {
            return errc::invalid_argument;
        }
        auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), v);
        if (ec != std::errc{} || end != raw->data() + raw->size()) {
            return errc::invalid_argument;
        }
        return v;
    }

private:
    friend class detail::core;

    // Plain struct so that the array is not zero-filled on every lookup.
    struct slot {
        const char* data;
        std::size_t size;
    };
    slot values_[max_params];
    const std::string* names_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace covet::router
