#pragma once
// Percent-encoding helpers (RFC 3986 section 2.1) and query-string access.

#include <optional>
#include <string>
#include <string_view>

namespace covet::http {

/// Decodes %XX escapes (and '+' as space when `plus_as_space`, as in
/// application/x-www-form-urlencoded queries). nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text, bool plus_as_space = false);

/// Encodes everything but unreserved characters (ALPHA DIGIT - . _ ~).
std::string percent_encode(std::string_view text);

/// The raw (still encoded) value of the first `name` parameter of a query
/// string (`a=1&b=2`); nullopt if absent. A key without '=' has value "".
std::optional<std::string_view> query_param_raw(std::string_view query, std::string_view name) noexcept;

}  // namespace covet::http
