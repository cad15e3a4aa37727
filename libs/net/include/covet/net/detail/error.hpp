#pragma once

#include <system_error>

namespace covet::net::detail {

/// Every error leaving covet::net goes through here: end-of-stream codes
/// become covet::errc::end_of_stream, and Asio's system category becomes
/// std::system_category(), so that `ec == std::errc::connection_refused` holds.
std::error_code normalize_error(std::error_code ec) noexcept;

}  // namespace covet::net::detail
