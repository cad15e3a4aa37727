#pragma once
// An HTTP/2 test server (same server, a handler with routes for the h2 tests)
// and helpers to run curl and nghttp against it.

#include <covet/http/server.hpp>
#include <covet/http/static_files.hpp>
#include <covet/net/spawn.hpp>
#include <covet/net/timer.hpp>
#include <covet/net/tls.hpp>

#include <doctest/doctest.h>

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>

namespace covet::http::testing {

using namespace std::chrono_literals;

inline std::atomic<int> in_flight{0};
inline std::atomic<int> max_in_flight{0};
inline std::atomic<int> handlers_cancelled{0};
inline std::atomic<int> handlers_started{0};

/// A file of `bytes` pseudo-random bytes, removed on destruction.
struct temp_file {
    explicit temp_file(std::size_t bytes) : size(bytes)
    {
        static std::atomic<int> counter{0};
        path = (std::filesystem::temp_directory_path() /
                ("covet_h2_" + std::to_string(::getpid()) + "_" + std::to_string(counter++)))
                   .string();
        std::string data(bytes, '\0');
        std::mt19937 random(static_cast<unsigned>(bytes));
        for (char& ch : data) {
            ch = static_cast<char>('a' + random() % 26);
        }
        checksum = sum(data);
        std::ofstream(path, std::ios::binary).write(data.data(), static_cast<std::streamsize>(data.size()));
    }
    ~temp_file() { std::filesystem::remove(path); }
    static std::uint64_t sum(std::string_view data)
    {
        std::uint64_t s = 0;
        for (char ch : data) {
            s = s * 31 + static_cast<unsigned char>(ch);
        }
        return s;
    }
    std::string path;
    std::size_t size;
    std::uint64_t checksum = 0;
};

/// Files served at /static/ when a test sets it.
inline std::optional<static_files> test_static_files;

inline task<response> h2_handler(request& req, const std::string& file_path)
{
    const std::string_view path = req.path();
    if (test_static_files && path.starts_with("/static/")) {
        co_return test_static_files->serve(req, path.substr(8));
    }
    if (path == "/hello") {
        auto r = response::static_text("Hello, World!");
        r.add_header("X-Custom", "Value");
        co_return r;
    }
    if (path == "/host") {
        co_return response::text(std::string(req.host()) + " " + std::string(req.method_name()) + " " +
                                 req.query("q").value_or("-"));
    }
    if (path == "/echo") {
        co_return response::text(std::string(req.method_name()) + " " + std::string(req.body()));
    }
    if (path == "/size" || path == "/streamed/size") {
        auto all = co_await req.read_all_body(64 * 1024 * 1024);
        if (!all) {
            co_return response::text("read failed: " + all.error().message(), status::bad_request);
        }
        co_return response::text(std::to_string(all->size()) + " " + std::to_string(temp_file::sum(*all)));
    }
    if (path == "/big") {
        const auto n = std::stoul(req.query("n").value_or("1000"));
        co_return response::text(std::string(n, 'x'));
    }
    if (path == "/file") {
        const int fd = ::open(file_path.c_str(), O_RDONLY | O_CLOEXEC);
        response r;
        r.set_content_type("application/octet-stream");
        r.set_file_body(fd, 0, static_cast<std::uint64_t>(std::filesystem::file_size(file_path)));
        co_return r;
    }
    if (path == "/stream") {
        co_return response::stream(
            [](body_writer& w) -> task<void> {
                for (std::string_view piece : {"one ", "two ", "three"}) {
                    if (!co_await w.write(piece)) {
                        co_return;
                    }
                    co_await net::sleep_for(5ms);
                }
            },
            "text/plain");
    }
    if (path == "/trailers") {
        std::string seen = std::string(req.body());
        for (const header& t : req.trailers()) {
            seen += " " + std::string(t.name) + "=" + std::string(t.value);
        }
        co_return response::text(seen);
    }
    if (path == "/trailers/memory") {
        auto r = response::text("hello");
        r.add_trailer("grpc-status", "0").add_trailer("Grpc-Message", "all good");
        co_return r;
    }
    if (path == "/trailers/empty") {
        response r(status::ok);
        r.add_trailer("x-checksum", "none");
        co_return r;
    }
    if (path == "/trailers/file") {
        const int fd = ::open(file_path.c_str(), O_RDONLY | O_CLOEXEC);
        response r;
        r.set_file_body(fd, 0, static_cast<std::uint64_t>(std::filesystem::file_size(file_path)));
        r.add_trailer("x-file", "yes");
        co_return r;
    }
    if (path == "/trailers/stream") {
        auto r = response::stream(
            [](body_writer& w) -> task<void> {
                for (std::string_view piece : {"one ", "two"}) {
                    if (!co_await w.write(piece)) {
                        co_return;
                    }
                }
                // Known only at the end, like gRPC's status.
                w.add_trailer("grpc-status", "0");
            },
            "text/plain");
        r.add_trailer("x-first", "1");
        co_return r;
    }
    if (path == "/compressible") {
        co_return response::text(std::string(4096, 'z'));
    }
    if (path == "/header-size") {
        co_return response::text(std::to_string(req.header("x-big").size()));
    }
    if (path == "/concurrent") {
        const int now = ++in_flight;
        int seen = max_in_flight.load();
        while (now > seen && !max_in_flight.compare_exchange_weak(seen, now)) {
        }
        co_await net::sleep_for(100ms);
        --in_flight;
        co_return response::static_text("c");
    }
    if (path == "/wait") {
        ++handlers_started;
        // Cancelled by RST_STREAM: the sleep ends early with an error.
        const std::error_code ec = co_await net::sleep_for(10s);
        if (ec) {
            ++handlers_cancelled;
        }
        co_return response::static_text("waited");
    }
    if (path == "/throw") {
        throw std::runtime_error("secret");
    }
    co_return response::static_text("Not Found\n", status::not_found);
}

struct h2_server {
    explicit h2_server(server_options options = {}, bool use_tls = false, std::size_t threads = 1)
        : file(1024 * 1024 + 17), rt(make_runtime_options(threads)), tls(use_tls)
    {
        options.listen.address = "127.0.0.1";
        if (use_tls) {
            auto certificate = net::make_self_signed_certificate();
            REQUIRE(certificate.has_value());
            auto context = net::tls_context::server(certificate->certificate_pem,
                                                    certificate->private_key_pem, {"h2", "http/1.1"});
            REQUIRE(context.has_value());
            options.tls = std::move(*context);
        }
        options.limits.max_body = 16 * 1024 * 1024;
        options.stream_body_if = [](const request& req) { return req.path().starts_with("/streamed/"); };
        std::string file_path = file.path;
        auto s = server::start(rt, options, [file_path](request& req) { return h2_handler(req, file_path); });
        REQUIRE(s.has_value());
        srv.emplace(std::move(*s));
        rt.start();
        max_in_flight = 0;
    }
    ~h2_server()
    {
        rt.request_stop();
        rt.join();
    }
    static net::runtime_options make_runtime_options(std::size_t threads)
    {
        net::runtime_options o;
        o.threads = threads;
        o.offload_threads = 1;
        o.handle_signals = false;
        o.stop_timeout = 3s;
        return o;
    }
    std::uint16_t port() const { return srv->port(); }
    std::string url(std::string_view path) const
    {
        return (tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(port()) +
               std::string(path);
    }

    temp_file file;
    net::runtime rt;
    bool tls;
    std::optional<server> srv;
};

struct command_result {
    int status = -1;
    std::string output;  // stdout
};

/// Runs a shell command (bounded by its own --max-time / -t) and returns its stdout.
inline command_result run_command(const std::string& command)
{
    command_result r;
    FILE* pipe = ::popen(("timeout 60 " + command).c_str(), "r");
    REQUIRE_MESSAGE(pipe != nullptr, command);
    std::array<char, 4096> chunk;
    std::size_t n = 0;
    while ((n = std::fread(chunk.data(), 1, chunk.size(), pipe)) > 0) {
        r.output.append(chunk.data(), n);
    }
    const int rc = ::pclose(pipe);
    r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return r;
}

}  // namespace covet::http::testing

#include <nghttp2/nghttp2.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <functional>
#include <vector>

namespace covet::http::testing {

/// A hand-driven HTTP/2 client over a blocking socket: frames are written as
/// raw bytes (so that abusive sequences can be sent), request headers are
/// encoded with nghttp2's HPACK deflater, received frames are split but their
/// header blocks are not decoded.
struct raw_h2 {
    struct frame {
        std::uint8_t type;
        std::uint8_t flags;
        std::uint32_t stream;
        std::string payload;
    };

    explicit raw_h2(std::uint16_t port)
    {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(fd >= 0);
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_port = htons(port);
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
        timeval timeout{0, 50 * 1000};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        timeval send_timeout{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        REQUIRE(nghttp2_hd_deflate_new(&deflater, 4096) == 0);
    }
    ~raw_h2()
    {
        nghttp2_hd_deflate_del(deflater);
        ::close(fd);
    }
    raw_h2(const raw_h2&) = delete;
    raw_h2& operator=(const raw_h2&) = delete;

    static std::string make_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                                  std::string_view payload)
    {
        std::string f;
        const auto n = payload.size();
        f.push_back(static_cast<char>(n >> 16));
        f.push_back(static_cast<char>(n >> 8));
        f.push_back(static_cast<char>(n));
        f.push_back(static_cast<char>(type));
        f.push_back(static_cast<char>(flags));
        f.push_back(static_cast<char>((stream >> 24) & 0x7f));
        f.push_back(static_cast<char>(stream >> 16));
        f.push_back(static_cast<char>(stream >> 8));
        f.push_back(static_cast<char>(stream));
        f.append(payload);
        return f;
    }
    static std::string u32(std::uint32_t v)
    {
        return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                static_cast<char>(v)};
    }

    /// False once the server closed or reset the connection.
    bool send(std::string_view bytes)
    {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n <= 0) {
                return false;
            }
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }
    /// The preface, empty SETTINGS and a large connection window (responses
    /// to reset streams must not use it all up).
    bool preface()
    {
        return send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + make_frame(4, 0, 0, "") +
                    make_frame(8, 0, 0, u32(1u << 30)));
    }

    std::string header_block(std::string_view method, std::string_view path,
                             std::vector<std::pair<std::string, std::string>> extra = {})
    {
        std::vector<std::pair<std::string, std::string>> fields{{":method", std::string(method)},
                                                                {":scheme", "http"},
                                                                {":path", std::string(path)},
                                                                {":authority", "127.0.0.1"}};
        fields.insert(fields.end(), extra.begin(), extra.end());
        std::vector<nghttp2_nv> nv;
        for (auto& [name, value] : fields) {
            nv.push_back({reinterpret_cast<std::uint8_t*>(name.data()),
                          reinterpret_cast<std::uint8_t*>(value.data()), name.size(), value.size(),
                          NGHTTP2_NV_FLAG_NONE});
        }
        std::string block(nghttp2_hd_deflate_bound(deflater, nv.data(), nv.size()), '\0');
        const auto n = nghttp2_hd_deflate_hd(deflater, reinterpret_cast<std::uint8_t*>(block.data()),
                                             block.size(), nv.data(), nv.size());
        REQUIRE(n >= 0);
        block.resize(static_cast<std::size_t>(n));
        return block;
    }
    /// HEADERS (END_HEADERS, and END_STREAM unless a body follows).
    bool request(std::uint32_t stream, std::string_view path, bool end_stream = true,
                 std::string_view method = "GET")
    {
        return send(make_frame(1, end_stream ? 0x5 : 0x4, stream, header_block(method, path)));
    }
    bool data(std::uint32_t stream, std::string_view bytes, bool end_stream)
    {
        return send(make_frame(0, end_stream ? 0x1 : 0x0, stream, bytes));
    }
    bool reset(std::uint32_t stream, std::uint32_t code = NGHTTP2_CANCEL)
    {
        return send(make_frame(3, 0, stream, u32(code)));
    }

    /// Reads frames until `done` says so, the server closes, or `limit` passes.
    /// SETTINGS are acknowledged. True when `done` was satisfied.
    bool read_until(const std::function<bool(const frame&)>& done, std::chrono::milliseconds limit = 5s)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < deadline) {
            while (buffer.size() >= 9) {
                const std::size_t n = (static_cast<std::uint8_t>(buffer[0]) << 16) |
                                      (static_cast<std::uint8_t>(buffer[1]) << 8) |
                                      static_cast<std::uint8_t>(buffer[2]);
                if (buffer.size() < 9 + n) {
                    break;
                }
                frame f{static_cast<std::uint8_t>(buffer[3]), static_cast<std::uint8_t>(buffer[4]),
                        (static_cast<std::uint32_t>(static_cast<std::uint8_t>(buffer[5]) & 0x7f) << 24) |
                            (static_cast<std::uint32_t>(static_cast<std::uint8_t>(buffer[6])) << 16) |
                            (static_cast<std::uint32_t>(static_cast<std::uint8_t>(buffer[7])) << 8) |
                            static_cast<std::uint32_t>(static_cast<std::uint8_t>(buffer[8])),
                        buffer.substr(9, n)};
                buffer.erase(0, 9 + n);
                if (f.type == 4 && (f.flags & 1) == 0) {
                    (void)send(make_frame(4, 1, 0, ""));
                }
                frames.push_back(f);
                if (done(frames.back())) {
                    return true;
                }
            }
            if (closed) {
                return false;
            }
            char chunk[16384];
            const ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
            if (n > 0) {
                buffer.append(chunk, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                closed = true;
            }
        }
        return false;
    }
    /// The GOAWAY's error code once one arrived (reading up to `limit`), else -1.
    long goaway_code(std::chrono::milliseconds limit = 5s)
    {
        for (const frame& f : frames) {
            if (f.type == 7) {
                return static_cast<long>(static_cast<std::uint8_t>(f.payload[4]) << 24 |
                                         static_cast<std::uint8_t>(f.payload[5]) << 16 |
                                         static_cast<std::uint8_t>(f.payload[6]) << 8 |
                                         static_cast<std::uint8_t>(f.payload[7]));
            }
        }
        if (read_until([](const frame& f) { return f.type == 7; }, limit)) {
            return goaway_code(0ms);
        }
        return -1;
    }
    /// Waits until the server closed the connection.
    bool wait_closed(std::chrono::milliseconds limit = 5s)
    {
        (void)read_until([](const frame&) { return false; }, limit);
        return closed;
    }

    int fd = -1;
    nghttp2_hd_deflater* deflater = nullptr;
    std::string buffer;
    std::vector<frame> frames;
    bool closed = false;
};

}  // namespace covet::http::testing
