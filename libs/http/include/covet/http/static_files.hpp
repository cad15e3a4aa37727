#pragma once
// Serving a directory: sendfile, ETag / Last-Modified with If-None-Match /
// If-Modified-Since (304), byte ranges (206, multipart/byteranges for several, 416) with If-Range,
// content types by extension, index files, and no way out of the root: paths
// are decoded and normalised, ".." is refused, and files are opened with
// openat2(RESOLVE_BENEATH), so a symlink cannot lead outside the root either
// (unless allowed).

#include <covet/base/result.hpp>
#include <covet/http/request.hpp>
#include <covet/http/response.hpp>
#include <covet/net/task.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace covet::http {

struct static_options {
    std::filesystem::path root;
    /// Served for a directory request ("/docs/").
    std::vector<std::string> index_files{"index.html"};
    /// Let symlinks inside the root point outside it.
    bool follow_symlinks_outside_root = false;
    /// Cache-Control value for every file ("" for none).
    std::string cache_control{};
    /// Serve files whose names start with '.'.
    bool serve_dotfiles = false;
    /// Range requests with more range-specs than this are answered with the whole file.
    std::size_t max_ranges = 16;
    /// Several ranges become one multipart/byteranges body held in memory up to
    /// this many bytes of content; past it the whole file is sent instead.
    std::size_t max_multipart_bytes = 1024 * 1024;
};

class static_files {
public:
    /// Opens the root directory; an error if it does not exist or is not a directory.
    static result<static_files> open(static_options options);

    /// Serves req.path() relative to the root.
    task<response> operator()(request& req) const;
    /// Serves `relative_path` (still percent-encoded, e.g. a router's catch-all).
    response serve(const request& req, std::string_view relative_path) const;

    struct state;

private:
    explicit static_files(std::shared_ptr<const state> s) noexcept : state_(std::move(s)) {}
    std::shared_ptr<const state> state_;
};

/// The media type for a file name's extension ("application/octet-stream" if unknown).
std::string_view content_type_for(std::string_view file_name) noexcept;

/// Parses an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"); -1 if malformed.
long long parse_http_date(std::string_view text) noexcept;

}  // namespace covet::http
