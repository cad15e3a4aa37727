#include <covet/http/detail/serialize.hpp>
#include <covet/http/static_files.hpp>
#include <covet/http/url.hpp>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>
#include <random>
#include <vector>

namespace covet::http {

struct static_files::state {
    static_options options;
    int root_fd = -1;
    ~state()
    {
        if (root_fd >= 0) {
            ::close(root_fd);
        }
    }
};

namespace {

// openat2 with RESOLVE_BENEATH: the kernel refuses any resolution (.., an
// absolute symlink, a symlink to ..) that would leave the root directory.
int open_beneath(int root_fd, const std::string& relative, bool allow_escape)
{
    if (allow_escape) {
        return ::openat(root_fd, relative.c_str(), O_RDONLY | O_CLOEXEC);
    }
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    const long fd = ::syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how));
    return static_cast<int>(fd);
}

// Decodes and normalises the path: no NUL, no "..", no empty or "."
// segments; nullopt if the path must be refused.
std::optional<std::string> normalise(std::string_view encoded, bool serve_dotfiles)
{
    auto decoded = percent_decode(encoded, false);
    if (!decoded || decoded->find('\0') != std::string::npos) {
        return std::nullopt;
    }
    std::string out;
    std::string_view rest = *decoded;
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        const std::string_view segment = rest.substr(0, slash);
        if (segment == "..") {
            return std::nullopt;
        }
        if (!segment.empty() && segment != ".") {
            if (segment.front() == '.' && !serve_dotfiles) {
                return std::nullopt;
            }
            if (!out.empty()) {
                out.push_back('/');
            }
            out.append(segment);
        }
        if (slash == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(slash + 1);
    }
    return out;
}

std::string make_etag(const struct stat& st)
{
    char buffer[64];
    const int n = std::snprintf(buffer, sizeof(buffer), "\"%llx-%llx\"",
                                static_cast<unsigned long long>(st.st_mtim.tv_sec) * 1000000000ull +
                                    static_cast<unsigned long long>(st.st_mtim.tv_nsec),
                                static_cast<unsigned long long>(st.st_size));
    return std::string(buffer, static_cast<std::size_t>(n));
}

// If-None-Match: "*" or a list of entity tags, compared weakly (RFC 9110 13.1.2).
bool etag_matches(std::string_view header, std::string_view etag)
{
    if (header == "*") {
        return true;
    }
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view tag = header.substr(0, comma);
        while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) {
            tag.remove_prefix(1);
        }
        while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) {
            tag.remove_suffix(1);
        }
        if (tag.substr(0, 2) == "W/") {
            tag.remove_prefix(2);
        }
        if (tag == etag) {
            return true;
        }
        if (comma == std::string_view::npos) {
            break;
        }
        header.remove_prefix(comma + 1);
    }
    return false;
}

struct byte_range {
    std::uint64_t first;
    std::uint64_t last;
};

// One range-spec of "bytes=a-b", "bytes=a-" or "bytes=-n". nullopt: the
// spec is malformed (then the whole header is ignored); a range starting past
// the end is unsatisfiable (first > last).
std::optional<byte_range> parse_range_spec(std::string_view spec, std::uint64_t size)
{
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    auto number = [](std::string_view s, std::uint64_t& out) {
        if (s.empty() || s.size() > 19) {
            return false;
        }
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && end == s.data() + s.size();
    };
    const std::string_view a = spec.substr(0, dash);
    const std::string_view b = spec.substr(dash + 1);
    std::uint64_t first = 0;
    std::uint64_t last = 0;
    if (a.empty()) {
        std::uint64_t suffix = 0;
        if (!number(b, suffix)) {
            return std::nullopt;
        }
        if (suffix == 0 || size == 0) {
            return byte_range{1, 0};
        }
        first = suffix >= size ? 0 : size - suffix;
        return byte_range{first, size - 1};
    }
    if (!number(a, first)) {
        return std::nullopt;
    }
    if (b.empty()) {
        last = size == 0 ? 0 : size - 1;
    } else if (!number(b, last) || last < first) {
        return std::nullopt;
    }
    if (first >= size) {
        return byte_range{1, 0};
    }
    return byte_range{first, std::min(last, size - 1)};
}

// The satisfiable ranges of a Range header, sorted, with overlapping ones and
// ones closer than a part's overhead merged (RFC 9110 14.6). nullopt: ignore
// the header (not bytes, malformed, or more than `max_ranges` specs); empty:
// nothing satisfiable (416).
std::optional<std::vector<byte_range>> parse_ranges(std::string_view header, std::uint64_t size,
                                                    std::size_t max_ranges)
{
    if (header.substr(0, 6) != "bytes=") {
        return std::nullopt;
    }
    header.remove_prefix(6);
    std::vector<byte_range> ranges;
    std::size_t specs = 0;
    while (!header.empty()) {
        const auto comma = header.find(',');
        const std::string_view spec = trim_ows(header.substr(0, comma));
        if (!spec.empty()) {
            if (++specs > max_ranges) {
                return std::nullopt;
            }
            const auto range = parse_range_spec(spec, size);
            if (!range) {
                return std::nullopt;
            }
            if (range->first <= range->last) {
                ranges.push_back(*range);
            }
        }
        if (comma == std::string_view::npos) {
            break;
        }
        header.remove_prefix(comma + 1);
    }
    if (specs == 0) {
        return std::nullopt;
    }
    std::sort(ranges.begin(), ranges.end(),
              [](const byte_range& x, const byte_range& y) { return x.first < y.first; });
    constexpr std::uint64_t part_overhead = 80;
    std::vector<byte_range> merged;
    for (const byte_range& r : ranges) {
        if (!merged.empty() && r.first <= merged.back().last + part_overhead) {
            merged.back().last = std::max(merged.back().last, r.last);
        } else {
            merged.push_back(r);
        }
    }
    return merged;
}

// Bytes of content the ranges cover (they are merged, so none is counted twice).
std::uint64_t content_bytes(const std::vector<byte_range>& ranges) noexcept
{
    std::uint64_t total = 0;
    for (const byte_range& r : ranges) {
        total += r.last - r.first + 1;
    }
    return total;
}

// "bytes a-b/size"
std::string content_range(const byte_range& r, std::uint64_t size)
{
    return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" + std::to_string(size);
}

// A multipart/byteranges body (RFC 9110 14.6) read from `fd`; nullopt on a
// read error or a file that shrank.
std::optional<std::string> multipart_body(int fd, const std::vector<byte_range>& ranges, std::uint64_t size,
                                          std::string_view type, std::string_view boundary)
{
    std::string body;
    for (const byte_range& r : ranges) {
        body.append("--").append(boundary).append("\r\nContent-Type: ").append(type);
        body.append("\r\nContent-Range: ").append(content_range(r, size)).append("\r\n\r\n");
        const std::size_t at = body.size();
        const auto length = static_cast<std::size_t>(r.last - r.first + 1);
        body.resize(at + length);
        std::size_t done = 0;
        while (done < length) {
            const ssize_t n =
                ::pread(fd, body.data() + at + done, length - done, static_cast<off_t>(r.first + done));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                return std::nullopt;
            }
            done += static_cast<std::size_t>(n);
        }
        body.append("\r\n");
    }
    body.append("--").append(boundary).append("--\r\n");
    return body;
}

// A boundary no file is likely to contain: 24 random hex digits.
std::string make_boundary()
{
    thread_local std::mt19937_64 random{std::random_device{}()};
    char text[25];
    std::snprintf(text, sizeof(text), "%016llx%08llx", static_cast<unsigned long long>(random()),
                  static_cast<unsigned long long>(random() & 0xffffffffu));
    return std::string("covet-") + text;
}

response not_found()
{
    return response::static_text("Not Found\n", status::not_found);
}

}  // namespace

result<static_files> static_files::open(static_options options)
{
    auto s = std::make_shared<state>();
    s->root_fd = ::open(options.root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->root_fd < 0) {
        return std::error_code(errno, std::system_category());
    }
    s->options = std::move(options);
    return static_files(std::move(s));
}

task<response> static_files::operator()(request& req) const
{
    co_return serve(req, req.path());
}

response static_files::serve(const request& req, std::string_view relative_path) const
{
    const static_options& options = state_->options;
    if (req.method() != method::get && req.method() != method::head) {
        return response::static_text("Method Not Allowed\n", status::method_not_allowed)
            .add_header("Allow", "GET, HEAD");
    }
    auto path = normalise(relative_path, options.serve_dotfiles);
    if (!path) {
        return not_found();  // refuse without telling why
    }
    const bool wants_directory = relative_path.empty() || relative_path.back() == '/';
    int fd = open_beneath(state_->root_fd, path->empty() ? std::string(".") : *path,
                          options.follow_symlinks_outside_root);
    if (fd < 0) {
        return not_found();
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        ::close(fd);
        return not_found();
    }
    std::string file_name = *path;
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        if (!wants_directory) {
            // "/docs" → "/docs/", so relative links in the index resolve.
            return response::redirect(std::string(req.path()) + "/", status::moved_permanently);
        }
        fd = -1;
        for (const auto& index : options.index_files) {
            std::string candidate = path->empty() ? index : *path + "/" + index;
            fd = open_beneath(state_->root_fd, candidate, options.follow_symlinks_outside_root);
            if (fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
                file_name = candidate;
                break;
            }
            if (fd >= 0) {
                ::close(fd);
                fd = -1;
            }
        }
        if (fd < 0) {
            return not_found();
        }
    } else if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return not_found();
    }

    const std::string etag = make_etag(st);
    char last_modified[29];
    detail::format_http_date(static_cast<long long>(st.st_mtim.tv_sec), last_modified);
    const std::string_view last_modified_text(last_modified, sizeof(last_modified));
    const auto size = static_cast<std::uint64_t>(st.st_size);

    auto with_validators = [&](response r) {
        r.add_header("ETag", etag);
        r.add_header("Last-Modified", last_modified_text);
        if (!options.cache_control.empty()) {
            r.add_header("Cache-Control", options.cache_control);
        }
        return r;
    };

    // Conditional GET (RFC 9110 section 13.2.2): If-None-Match wins over If-Modified-Since.
    const std::string_view if_none_match = req.header("if-none-match");
    bool not_modified = false;
    if (!if_none_match.empty()) {
        not_modified = etag_matches(if_none_match, etag);
    } else if (const std::string_view since = req.header("if-modified-since"); !since.empty()) {
        const long long t = parse_http_date(since);
        not_modified = t >= 0 && static_cast<long long>(st.st_mtim.tv_sec) <= t;
    }
    if (not_modified) {
        ::close(fd);
        return with_validators(response(status::not_modified));
    }

    response r = with_validators(response(status::ok));
    r.set_content_type(content_type_for(file_name));
    r.add_header("Accept-Ranges", "bytes");
    std::uint64_t offset = 0;
    std::uint64_t length = size;
    if (const std::string_view range = req.header("range"); !range.empty()) {
        // If-Range: only honour the range if the validator still matches.
        const std::string_view if_range = req.header("if-range");
        const bool range_applies = if_range.empty() || if_range == etag || if_range == last_modified_text;
        if (range_applies) {
            if (auto ranges = parse_ranges(range, size, options.max_ranges)) {
                if (ranges->empty()) {
                    ::close(fd);
                    response unsatisfiable =
                        response::static_text("Range Not Satisfiable\n", status::range_not_satisfiable);
                    unsatisfiable.add_header("Content-Range", "bytes */" + std::to_string(size));
                    return unsatisfiable;
                }
                if (ranges->size() == 1) {
                    const byte_range& only = ranges->front();
                    offset = only.first;
                    length = only.last - only.first + 1;
                    r.set_status(status::partial_content);
                    r.add_header("Content-Range", content_range(only, size));
                } else if (content_bytes(*ranges) <= options.max_multipart_bytes) {
                    // Several parts: read into memory, bounded by max_multipart_bytes
                    // (past it the ranges are ignored and the whole file is sent).
                    const std::string boundary = make_boundary();
                    auto body = multipart_body(fd, *ranges, size, content_type_for(file_name), boundary);
                    ::close(fd);
                    if (!body) {
                        return response::static_text("Internal Server Error\n",
                                                     status::internal_server_error);
                    }
                    response parts = with_validators(response(status::partial_content));
                    parts.add_header("Accept-Ranges", "bytes");
                    parts.add_header("Content-Type", "multipart/byteranges; boundary=" + boundary);
                    parts.set_body(std::move(*body));
                    return parts;
                }
            }
        }
    }
    r.set_file_body(fd, offset, length);
    return r;
}

std::string_view content_type_for(std::string_view file_name) noexcept
{
    const auto dot = file_name.rfind('.');
    const auto slash = file_name.rfind('/');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash)) {
        return "application/octet-stream";
    }
    const std::string_view ext = file_name.substr(dot + 1);
    struct entry {
        std::string_view ext, type;
    };
    static constexpr entry table[] = {
        {"html", "text/html; charset=utf-8"},
        {"htm", "text/html; charset=utf-8"},
        {"css", "text/css; charset=utf-8"},
        {"js", "text/javascript; charset=utf-8"},
        {"mjs", "text/javascript; charset=utf-8"},
        {"json", "application/json"},
        {"txt", "text/plain; charset=utf-8"},
        {"md", "text/markdown; charset=utf-8"},
        {"csv", "text/csv; charset=utf-8"},
        {"xml", "application/xml"},
        {"svg", "image/svg+xml"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"avif", "image/avif"},
        {"ico", "image/x-icon"},
        {"woff", "font/woff"},
        {"woff2", "font/woff2"},
        {"ttf", "font/ttf"},
        {"otf", "font/otf"},
        {"wasm", "application/wasm"},
        {"pdf", "application/pdf"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"mp4", "video/mp4"},
        {"webm", "video/webm"},
        {"mp3", "audio/mpeg"},
        {"ogg", "audio/ogg"},
        {"wav", "audio/wav"},
        {"map", "application/json"},
    };
    for (const auto& e : table) {
        if (e.ext.size() == ext.size() && iequals(e.ext, ext)) {
            return e.type;
        }
    }
    return "application/octet-stream";
}

long long parse_http_date(std::string_view text) noexcept
{
    // "Sun, 06 Nov 1994 08:49:37 GMT"
    if (text.size() != 29 || text[3] != ',' || text[4] != ' ' || text[7] != ' ' || text[11] != ' ' ||
        text[16] != ' ' || text[19] != ':' || text[22] != ':' || text.substr(25) != " GMT") {
        return -1;
    }
    auto digits = [&](std::size_t at, std::size_t n, int& out) {
        out = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (text[i] < '0' || text[i] > '9') {
                return false;
            }
            out = out * 10 + (text[i] - '0');
        }
        return true;
    };
    static constexpr std::string_view months = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const auto month_pos = months.find(text.substr(8, 3));
    int day = 0, year = 0, hour = 0, minute = 0, second = 0;
    if (month_pos == std::string_view::npos || month_pos % 3 != 0 || !digits(5, 2, day) ||
        !digits(12, 4, year) || !digits(17, 2, hour) || !digits(20, 2, minute) || !digits(23, 2, second) ||
        day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
        return -1;
    }
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = static_cast<int>(month_pos / 3);
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return static_cast<long long>(timegm(&tm));
}

}  // namespace covet::http
