#pragma once
// HTTP/2 connections of covet::http::server (internal). nghttp2's server
// session does the framing, HPACK and flow control; this side does the I/O
// and runs every stream's handler as its own coroutine on the connection's
// thread.

#include <covet/http/server.hpp>
#include <covet/net/any_stream.hpp>

#include <asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace covet::http::detail {

/// The connection preface a client sends first (RFC 9113 3.4).
inline constexpr std::string_view h2_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What an HTTP/2 connection uses of its server.
struct h2_server {
    const server_options* options;
    const handler* handle;
    std::atomic<std::uint64_t>* requests;
    bool plain_tcp = false;  ///< no TLS: file bodies can go out with sendfile(2)
};

/// Sends `count` bytes of `fd` from `offset` to the (plain TCP) socket with
/// sendfile(2), waiting for writability when the socket buffer is full;
/// false on an error, a file that shrank, or once `deadline` passed.
task<bool> send_file_range(asio::ip::tcp::socket& socket, int fd, std::uint64_t offset, std::uint64_t count,
                           std::chrono::steady_clock::time_point deadline);

/// A live HTTP/2 connection as the worker sees it: a graceful stop sends GOAWAY.
class h2_stoppable {
public:
    virtual void begin_shutdown() noexcept = 0;

protected:
    ~h2_stoppable() = default;
};

/// The HTTP/1.1 request that asked to upgrade to h2c (RFC 7540 3.2): it is
/// answered as stream 1. Owns copies of what it needs.
struct h2_upgrade_request {
    std::string method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> fields;
    std::string body;
    std::string settings;  ///< decoded HTTP2-Settings payload
};

/// The h2c upgrade of an HTTP/1.1 request (Upgrade: h2c with one valid
/// HTTP2-Settings field), or nullptr when the request does not ask for one.
std::unique_ptr<h2_upgrade_request> h2c_upgrade_request(const request_head& head, std::string_view body);

/// Serves one HTTP/2 connection until it closes. `received` holds the bytes
/// already read (they start with the preface, unless `upgrade` is set). The
/// connection is listed in `registry` while it lives; `stopping` says a
/// graceful stop already began.
task<void> serve_h2(h2_server server, std::list<h2_stoppable*>& registry, bool stopping,
                    net::any_stream stream, std::string received, asio::ip::tcp::endpoint remote,
                    std::unique_ptr<h2_upgrade_request> upgrade = nullptr);

/// Compresses `res` in place when the policy and the client allow it.
task<void> maybe_compress(const compression_options& policy, const request& req, response& res);

/// The response for a handler that threw (shared by HTTP/1.1 and HTTP/2).
response response_for_exception(std::exception_ptr failure, const request& req);

}  // namespace covet::http::detail
