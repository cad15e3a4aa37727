#pragma once
// Percent-encoding (RFC 3986) for path segments: the router matches raw
// paths and decodes parameters only when asked. The implementation is
// covet::base's, shared with covet::http.

#include <covet/base/percent.hpp>

namespace covet::router {

using covet::is_unreserved;
using covet::percent_decode;
using covet::percent_encode;

}  // namespace covet::router
