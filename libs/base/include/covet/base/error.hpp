#pragma once
// Error codes shared by every covet library. Library-specific failures get
// their own enum; the conditions that several layers can report (a timeout,
// a cancelled operation, an exceeded limit) live here so that callers can test
// `ec == covet::errc::timed_out` whatever produced it.

#include <string>
#include <system_error>

namespace covet {

enum class errc {
    /// Returned when an operation did not complete before its deadline
    /// (`with_timeout`, per-operation stream timeouts).
    timed_out = 1,
    /// Returned when an operation was cancelled, e.g. by a graceful stop
    /// whose deadline passed.
    cancelled,
    /// Returned when input exceeds a configured limit (sizes, counts).
    limit_exceeded,
    /// Returned when the peer closed the connection cleanly (end of stream).
    end_of_stream,
    /// Returned when an argument or configuration value is invalid.
    invalid_argument,
    /// Returned when the object is shutting down and no longer takes work.
    shutting_down,
    /// Held by a default-constructed result<T> whose T has no default constructor.
    no_result,
};

/// The category of covet::errc; its name() is "covet".
const std::error_category& covet_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept
{
    return {static_cast<int>(e), covet_category()};
}

}  // namespace covet

template <>
struct std::is_error_code_enum<covet::errc> : std::true_type {
};
