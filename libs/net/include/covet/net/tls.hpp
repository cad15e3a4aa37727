#pragma once
// TLS over TCP with OpenSSL (asio::ssl): server and client contexts with ALPN
// (so that HTTP/2 can negotiate "h2"), a tls_stream with the same read/write
// interface as tcp_stream, and a self-signed certificate generator for tests
// and development servers.

#include <covet/base/result.hpp>
#include <covet/net/stream.hpp>
#include <covet/net/task.hpp>

#include <asio/ip/tcp.hpp>
#include <asio/ssl/context.hpp>
#include <asio/ssl/stream.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace covet::net {

struct tls_client_options {
    /// Verify the server's certificate chain and host name.
    bool verify_peer = true;
    /// Extra trusted certificates (PEM); the system store is always loaded.
    std::string ca_certificates_pem{};
    /// ALPN protocols offered, most preferred first (e.g. {"h2", "http/1.1"}).
    std::vector<std::string> alpn{};
};

/// A shared, immutable TLS configuration (an SSL_CTX plus the ALPN list).
/// Copies share the context; streams keep it alive.
class tls_context {
public:
    /// A server context from a PEM certificate chain and private key. `alpn`
    /// lists the protocols the server speaks, most preferred first; the server
    /// picks its most preferred protocol the client offers. Errors: the
    /// OpenSSL reason (bad PEM, key not matching the certificate).
    static result<tls_context> server(std::string_view certificate_chain_pem,
                                      std::string_view private_key_pem, std::vector<std::string> alpn = {});
    static result<tls_context> server_from_files(const std::filesystem::path& certificate_chain,
                                                 const std::filesystem::path& private_key,
                                                 std::vector<std::string> alpn = {});
    static result<tls_context> client(tls_client_options options = {});

    asio::ssl::context& native() noexcept;
    bool verifies_peer() const noexcept;

private:
    struct state;
    explicit tls_context(std::shared_ptr<state> s) noexcept : state_(std::move(s)) {}
    std::shared_ptr<state> state_;
};

namespace detail {
// Keeps the context alive and constructed before the ssl::stream that uses it.
struct tls_context_holder {
    tls_context context_;
};
}  // namespace detail

class tls_stream : private detail::tls_context_holder,
                   public basic_stream<asio::ssl::stream<asio::ip::tcp::socket>> {
public:
    tls_stream(asio::ip::tcp::socket socket, tls_context context);
    /// Wraps an accepted or connected TCP stream, keeping its timeouts.
    tls_stream(tcp_stream tcp, tls_context context);

    /// Server side of the handshake (bounded by the read timeout, if set).
    task<result<void>> handshake_server();
    /// Client side: sends SNI `server_name` and, when the context verifies
    /// peers, checks the certificate against it.
    task<result<void>> handshake_client(std::string server_name);
    /// The protocol ALPN selected ("" if none).
    std::string_view alpn_protocol() const noexcept;
    /// Sends close_notify and waits for the peer's (bounded by the write timeout).
    task<result<void>> shutdown();
};

extern template class basic_stream<asio::ssl::stream<asio::ip::tcp::socket>>;

/// Connects over TCP and completes the client handshake with SNI `host`.
task<result<tls_stream>> connect_tls(std::string host, std::uint16_t port, tls_context context,
                                     connect_options options = {});

struct self_signed_certificate {
    std::string certificate_pem;
    std::string private_key_pem;
};

/// Generates a P-256 key and a self-signed certificate for `common_name`,
/// valid for `valid_for`, with subjectAltNames for `dns_names` and
/// `ip_addresses`. For tests and development only.
result<self_signed_certificate> make_self_signed_certificate(
    std::string common_name = "localhost", std::vector<std::string> dns_names = {"localhost"},
    std::vector<std::string> ip_addresses = {"127.0.0.1", "::1"},
    std::chrono::hours valid_for = std::chrono::hours(24 * 30));

}  // namespace covet::net
