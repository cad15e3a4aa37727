#include "http_test_support.hpp"

#include <covet/http/static_files.hpp>

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace covet::http;
using namespace covet::http::testing;
namespace fs = std::filesystem;

namespace {

struct static_site {
    static_site()
    {
        std::random_device rd;
        base = fs::temp_directory_path() / ("covet-static-" + std::to_string(rd()));
        root = base / "www";
        fs::create_directories(root / "sub");
        fs::create_directories(root / "noindex");
        write(root / "index.html", "<h1>home</h1>");
        write(root / "a.txt", "0123456789");
        write(root / "sub" / "index.html", "<h1>sub</h1>");
        write(root / "sub" / "style.css", "body{}");
        write(root / ".secret", "do not serve");
        write(base / "outside.txt", "outside the root");
        big.resize(2 * 1024 * 1024 + 17);
        for (std::size_t i = 0; i < big.size(); ++i) {
            big[i] = static_cast<char>('A' + (i * 31) % 26);
        }
        write(root / "big.bin", big);
        fs::create_symlink(base / "outside.txt", root / "escape.txt");
        fs::create_symlink("a.txt", root / "alias.txt");

        auto files = static_files::open({.root = root, .cache_control = "public, max-age=60"});
        REQUIRE(files.has_value());
        handler.emplace(*files);
        server_options options;
        options.listen.address = "127.0.0.1";
        auto s = server::start(rt, options, [this](request& req) { return (*handler)(req); });
        REQUIRE(s.has_value());
        srv.emplace(std::move(*s));
        rt.start();
    }
    ~static_site()
    {
        rt.request_stop();
        rt.join();
        std::error_code ec;
        fs::remove_all(base, ec);
    }
    static void write(const fs::path& p, const std::string& content)
    {
        std::ofstream(p, std::ios::binary) << content;
    }
    wire_response get(const std::string& target, const std::string& extra = "")
    {
        auto r = exchange(srv->port(), "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n");
        REQUIRE(r.responses.size() == 1);
        return r.responses[0];
    }

    fs::path base, root;
    std::string big;
    covet::net::runtime rt{test_server::make_runtime_options(1)};
    std::optional<static_files> handler;
    std::optional<server> srv;
};

}  // namespace

TEST_CASE_FIXTURE(static_site, "files are served with type, validators and Accept-Ranges")
{
    auto r = get("/a.txt");
    CHECK(r.status == 200);
    CHECK(r.body == "0123456789");
    CHECK(r.headers.at("content-type") == "text/plain; charset=utf-8");
    CHECK(r.headers.at("content-length") == "10");
    CHECK(r.headers.at("accept-ranges") == "bytes");
    CHECK(r.headers.at("cache-control") == "public, max-age=60");
    CHECK(r.headers.at("etag").front() == '"');
    CHECK(parse_http_date(r.headers.at("last-modified")) > 0);
    CHECK(get("/sub/style.css").headers.at("content-type") == "text/css; charset=utf-8");
}

TEST_CASE_FIXTURE(static_site, "a 2 MiB file goes out intact through sendfile")
{
    auto r = get("/big.bin");
    CHECK(r.status == 200);
    CHECK(r.headers.at("content-type") == "application/octet-stream");
    CHECK(r.body.size() == big.size());
    CHECK(r.body == big);
}

TEST_CASE_FIXTURE(static_site, "HEAD carries the length without the body")
{
    auto r = exchange(srv->port(), {"HEAD /a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}, 1, true,
                      {}, 5s, true);
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0].headers.at("content-length") == "10");
    CHECK(r.bytes.substr(r.bytes.size() - 4) == "\r\n\r\n");
}

TEST_CASE_FIXTURE(static_site, "conditional requests answer 304")
{
    auto first = get("/a.txt");
    const std::string etag = first.headers.at("etag");
    const std::string modified = first.headers.at("last-modified");
    auto by_etag = get("/a.txt", "If-None-Match: " + etag + "\r\n");
    CHECK(by_etag.status == 304);
    CHECK(by_etag.body.empty());
    CHECK(by_etag.headers.at("etag") == etag);
    CHECK(get("/a.txt", "If-None-Match: \"other\", W/" + etag + "\r\n").status == 304);
    CHECK(get("/a.txt", "If-None-Match: *\r\n").status == 304);
    CHECK(get("/a.txt", "If-None-Match: \"other\"\r\n").status == 200);
    CHECK(get("/a.txt", "If-Modified-Since: " + modified + "\r\n").status == 304);
    CHECK(get("/a.txt", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n").status == 200);
    // If-None-Match takes precedence over If-Modified-Since.
    CHECK(get("/a.txt", "If-None-Match: \"other\"\r\nIf-Modified-Since: " + modified + "\r\n").status == 200);
}

TEST_CASE_FIXTURE(static_site, "byte ranges")
{
    auto r = get("/a.txt", "Range: bytes=2-5\r\n");
    CHECK(r.status == 206);
    CHECK(r.body == "2345");
    CHECK(r.headers.at("content-range") == "bytes 2-5/10");
    CHECK(get("/a.txt", "Range: bytes=7-\r\n").body == "789");
    CHECK(get("/a.txt", "Range: bytes=-3\r\n").body == "789");
    CHECK(get("/a.txt", "Range: bytes=-30\r\n").body == "0123456789");
    CHECK(get("/a.txt", "Range: bytes=8-100\r\n").body == "89");
    auto unsatisfiable = get("/a.txt", "Range: bytes=10-\r\n");
    CHECK(unsatisfiable.status == 416);
    CHECK(unsatisfiable.headers.at("content-range") == "bytes */10");
    CHECK(get("/a.txt", "Range: bytes=5-2\r\n").status == 200);  // malformed: ignored
    CHECK(get("/a.txt", "Range: lines=1-2\r\n").status == 200);
    auto stale = get("/a.txt", "Range: bytes=0-1\r\nIf-Range: \"old\"\r\n");
    CHECK(stale.status == 200);
    CHECK(stale.body == "0123456789");
    const std::string etag = get("/a.txt").headers.at("etag");
    CHECK(get("/a.txt", "Range: bytes=0-1\r\nIf-Range: " + etag + "\r\n").status == 206);
    auto big_range = get("/big.bin", "Range: bytes=1048576-1048675\r\n");
    CHECK(big_range.body == big.substr(1048576, 100));
}

TEST_CASE_FIXTURE(static_site, "several byte ranges: multipart/byteranges, merged, limited")
{
    // Far-apart ranges of the big file: two parts, in file order.
    auto r = get("/big.bin", "Range: bytes=1000-1009, 0-4\r\n");
    REQUIRE(r.status == 206);
    const std::string type = r.headers.at("content-type");
    REQUIRE(type.rfind("multipart/byteranges; boundary=", 0) == 0);
    const std::string boundary = type.substr(type.find('=') + 1);
    const std::string expected =
        "--" + boundary + "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-4/" +
        std::to_string(big.size()) + "\r\n\r\n" + big.substr(0, 5) + "\r\n--" + boundary +
        "\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 1000-1009/" +
        std::to_string(big.size()) + "\r\n\r\n" + big.substr(1000, 10) + "\r\n--" + boundary + "--\r\n";
    CHECK(r.body == expected);
    CHECK(r.headers.count("content-range") == 0);
    CHECK(r.headers.count("etag") == 1);

    // Overlapping or nearby ranges are merged into one plain 206.
    auto merged = get("/a.txt", "Range: bytes=0-1,4-5\r\n");
    CHECK(merged.status == 206);
    CHECK(merged.body == "012345");
    CHECK(merged.headers.at("content-range") == "bytes 0-5/10");
    // Unsatisfiable specs in a list are dropped; all of them: 416.
    auto one_left = get("/a.txt", "Range: bytes=20-30,-2\r\n");
    CHECK(one_left.status == 206);
    CHECK(one_left.body == "89");
    CHECK(get("/a.txt", "Range: bytes=20-30,40-\r\n").status == 416);
    // One malformed spec, or too many specs: the header is ignored.
    CHECK(get("/a.txt", "Range: bytes=0-1,x-2\r\n").status == 200);
    std::string many = "Range: bytes=0-0";
    for (int i = 1; i <= 16; ++i) {
        many += "," + std::to_string(i * 200) + "-" + std::to_string(i * 200);
    }
    auto too_many = get("/big.bin", many + "\r\n");
    CHECK(too_many.status == 200);
    CHECK(too_many.body.size() == big.size());
    // More content than max_multipart_bytes: the whole file.
    auto huge = get("/big.bin", "Range: bytes=0-600000,1200000-2000000\r\n");
    CHECK(huge.status == 200);
    CHECK(huge.body.size() == big.size());
}

TEST_CASE_FIXTURE(static_site, "directories: index files and the trailing-slash redirect")
{
    CHECK(get("/").body == "<h1>home</h1>");
    auto redirect = get("/sub");
    CHECK(redirect.status == 301);
    CHECK(redirect.headers.at("location") == "/sub/");
    CHECK(get("/sub/").body == "<h1>sub</h1>");
    CHECK(get("/noindex/").status == 404);
}

TEST_CASE_FIXTURE(static_site, "nothing outside the root, no dotfiles, no NUL")
{
    for (const char* target :
         {"/../outside.txt", "/%2e%2e/outside.txt", "/sub/../../outside.txt",
          "/sub/%2E%2E/%2E%2E/outside.txt", "/.secret", "/sub/../.secret", "/a.txt%00.png", "/escape.txt",
          "/%2fetc/passwd", "//etc/passwd", "/missing.txt", "/%zz"}) {
        CAPTURE(target);
        auto r = get(target);
        CHECK(r.status == 404);
        CHECK(r.body.find("outside") == std::string::npos);
        CHECK(r.body.find("do not serve") == std::string::npos);
    }
    // A symlink that stays inside the root is fine.
    CHECK(get("/alias.txt").body == "0123456789");
}

TEST_CASE_FIXTURE(static_site, "only GET and HEAD")
{
    auto r = exchange(srv->port(), "POST /a.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
    REQUIRE(r.responses.size() == 1);
    CHECK(r.responses[0].status == 405);
    CHECK(r.responses[0].headers.at("allow") == "GET, HEAD");
}

TEST_CASE("a missing root is an error at startup")
{
    auto files = static_files::open({.root = "/definitely/not/here"});
    CHECK(!files.has_value());
}

TEST_CASE("content types and HTTP dates")
{
    CHECK(content_type_for("x/y.JSON") == "application/json");
    CHECK(content_type_for("archive.tar.gz") == "application/gzip");
    CHECK(content_type_for("noext") == "application/octet-stream");
    CHECK(content_type_for("dir.v2/noext") == "application/octet-stream");
    CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
    CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == -1);
    CHECK(parse_http_date("Sun, 06 Foo 1994 08:49:37 GMT") == -1);
    char out[29];
    detail::format_http_date(784111777, out);
    CHECK(std::string_view(out, 29) == "Sun, 06 Nov 1994 08:49:37 GMT");
}
