#include <covet/net/impl/stream.hpp>
#include <covet/net/timer.hpp>
#include <covet/net/tls.hpp>

#include <asio/buffer.hpp>
#include <asio/ip/address.hpp>
#include <asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <sstream>

namespace covet::net {

template class basic_stream<asio::ssl::stream<asio::ip::tcp::socket>>;

struct tls_context::state {
    explicit state(asio::ssl::context::method method) : context(method) {}
    asio::ssl::context context;
    std::string alpn_wire;  // length-prefixed protocol list (RFC 7301 wire format)
    bool verify_peer = false;
};

namespace {

std::string alpn_wire_format(const std::vector<std::string>& protocols, std::error_code& ec)
{
    std::string wire;
    for (const auto& p : protocols) {
        if (p.empty() || p.size() > 255) {
            ec = errc::invalid_argument;
            return {};
        }
        wire.push_back(static_cast<char>(p.size()));
        wire += p;
    }
    return wire;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
                unsigned int inlen, void* arg)
{
    const auto* s = static_cast<const std::string*>(arg);
    unsigned char* selected = nullptr;
    // Server preference: the first of our protocols that the client offers.
    if (SSL_select_next_proto(&selected, outlen, reinterpret_cast<const unsigned char*>(s->data()),
                              static_cast<unsigned int>(s->size()), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

void harden(asio::ssl::context& context)
{
    context.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION);
}

std::error_code last_openssl_error()
{
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) {
        return errc::invalid_argument;
    }
    return {static_cast<int>(code), asio::error::get_ssl_category()};
}

result<std::string> read_file(const std::filesystem::path& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return std::make_error_code(std::errc::no_such_file_or_directory);
    }
    std::ostringstream content;
    content << in.rdbuf();
    return content.str();
}

}  // namespace

result<tls_context> tls_context::server(std::string_view certificate_chain_pem,
                                        std::string_view private_key_pem, std::vector<std::string> alpn)
{
    auto s = std::make_shared<state>(asio::ssl::context::tls_server);
    harden(s->context);
    std::error_code ec;
    s->context.use_certificate_chain(asio::buffer(certificate_chain_pem), ec);
    if (ec) {
        return ec;
    }
    s->context.use_private_key(asio::buffer(private_key_pem), asio::ssl::context::pem, ec);
    if (ec) {
        return ec;
    }
    if (SSL_CTX_check_private_key(s->context.native_handle()) != 1) {
        return last_openssl_error();
    }
    s->alpn_wire = alpn_wire_format(alpn, ec);
    if (ec) {
        return ec;
    }
    if (!s->alpn_wire.empty()) {
        SSL_CTX_set_alpn_select_cb(s->context.native_handle(), select_alpn, &s->alpn_wire);
    }
    return tls_context(std::move(s));
}

result<tls_context> tls_context::server_from_files(const std::filesystem::path& certificate_chain,
                                                   const std::filesystem::path& private_key,
                                                   std::vector<std::string> alpn)
{
    auto chain = read_file(certificate_chain);
    if (!chain) {
        return chain.error();
    }
    auto key = read_file(private_key);
    if (!key) {
        return key.error();
    }
    return server(*chain, *key, std::move(alpn));
}

result<tls_context> tls_context::client(tls_client_options options)
{
    auto s = std::make_shared<state>(asio::ssl::context::tls_client);
    harden(s->context);
    std::error_code ec;
    s->verify_peer = options.verify_peer;
    if (options.verify_peer) {
        s->context.set_default_verify_paths(ec);
        if (ec) {
            return ec;
        }
        if (!options.ca_certificates_pem.empty()) {
            s->context.add_certificate_authority(asio::buffer(options.ca_certificates_pem), ec);
            if (ec) {
                return ec;
            }
        }
        s->context.set_verify_mode(asio::ssl::verify_peer, ec);
    } else {
        s->context.set_verify_mode(asio::ssl::verify_none, ec);
    }
    if (ec) {
        return ec;
    }
    s->alpn_wire = alpn_wire_format(options.alpn, ec);
    if (ec) {
        return ec;
    }
    if (!s->alpn_wire.empty() &&
        SSL_CTX_set_alpn_protos(s->context.native_handle(),
                                reinterpret_cast<const unsigned char*>(s->alpn_wire.data()),
                                static_cast<unsigned int>(s->alpn_wire.size())) != 0) {
        return last_openssl_error();
    }
    return tls_context(std::move(s));
}

asio::ssl::context& tls_context::native() noexcept
{
    return state_->context;
}
bool tls_context::verifies_peer() const noexcept
{
    return state_->verify_peer;
}

// ---------------------------------------------------------------------------

tls_stream::tls_stream(asio::ip::tcp::socket socket, tls_context context)
    : detail::tls_context_holder{std::move(context)},
      basic_stream(asio::ssl::stream<asio::ip::tcp::socket>(std::move(socket), context_.native()))
{
}

tls_stream::tls_stream(tcp_stream tcp, tls_context context)
    : tls_stream(std::move(tcp.socket()), std::move(context))
{
    timeouts_ = tcp.timeouts();
}

task<result<void>> tls_stream::handshake_server()
{
    auto r = co_await run_timed(
        [this](auto token) {
            return stream_.async_handshake(asio::ssl::stream_base::server, std::move(token));
        },
        timeouts_.read, read_deadline_);
    if (!r) {
        co_return r.error();
    }
    co_return result<void>{};
}

task<result<void>> tls_stream::handshake_client(std::string server_name)
{
    SSL* ssl = stream_.native_handle();
    std::error_code parse_ec;
    const auto ip = asio::ip::make_address(server_name, parse_ec);
    const bool is_ip = !parse_ec;
    // SNI carries host names only (RFC 6066 section 3).
    if (!is_ip && !server_name.empty() && SSL_set_tlsext_host_name(ssl, server_name.c_str()) != 1) {
        co_return last_openssl_error();
    }
    if (context_.verifies_peer()) {
        X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
        const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, ip.to_string().c_str())
                             : X509_VERIFY_PARAM_set1_host(param, server_name.c_str(), 0);
        if (ok != 1) {
            co_return last_openssl_error();
        }
    }
    auto r = co_await run_timed(
        [this](auto token) {
            return stream_.async_handshake(asio::ssl::stream_base::client, std::move(token));
        },
        timeouts_.read, read_deadline_);
    if (!r) {
        co_return r.error();
    }
    co_return result<void>{};
}

std::string_view tls_stream::alpn_protocol() const noexcept
{
    const unsigned char* data = nullptr;
    unsigned int size = 0;
    SSL_get0_alpn_selected(const_cast<tls_stream*>(this)->stream_.native_handle(), &data, &size);
    if (data == nullptr) {
        return {};
    }
    return {reinterpret_cast<const char*>(data), size};
}

task<result<void>> tls_stream::shutdown()
{
    auto r = co_await run_timed([this](auto token) { return stream_.async_shutdown(std::move(token)); },
                                timeouts_.write, write_deadline_);
    // A peer that closes TCP right after its close_notify is a clean shutdown.
    if (!r && r.error() != errc::end_of_stream) {
        co_return r.error();
    }
    co_return result<void>{};
}

task<result<tls_stream>> connect_tls(std::string host, std::uint16_t port, tls_context context,
                                     connect_options options)
{
    auto tcp = co_await connect(host, port, options);
    if (!tcp) {
        co_return tcp.error();
    }
    tls_stream stream(std::move(*tcp), std::move(context));
    if (options.timeout.count() > 0) {
        stream.set_timeouts({options.timeout, options.timeout});
    }
    auto handshake = co_await stream.handshake_client(host);
    if (!handshake) {
        co_return handshake.error();
    }
    stream.set_timeouts({});
    co_return std::move(stream);
}

// ---------------------------------------------------------------------------

namespace {

template <class T, void (*Free)(T*)>
struct openssl_deleter {
    void operator()(T* p) const noexcept { Free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY, EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509, X509_free>>;
using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO, BIO_free_all>>;
using ext_ptr = std::unique_ptr<X509_EXTENSION, openssl_deleter<X509_EXTENSION, X509_EXTENSION_free>>;

std::string bio_to_string(BIO* bio)
{
    char* data = nullptr;
    const long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

bool add_extension(X509* cert, int nid, const std::string& value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    ext_ptr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

result<self_signed_certificate> make_self_signed_certificate(std::string common_name,
                                                             std::vector<std::string> dns_names,
                                                             std::vector<std::string> ip_addresses,
                                                             std::chrono::hours valid_for)
{
    pkey_ptr key(EVP_EC_gen("P-256"));
    x509_ptr cert(X509_new());
    if (!key || !cert) {
        return last_openssl_error();
    }
    unsigned char serial_bytes[16];
    if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
        return last_openssl_error();
    }
    serial_bytes[0] &= 0x7f;  // positive serial
    BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
    const bool serial_ok = serial != nullptr && BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
    BN_free(serial);
    if (!serial_ok) {
        return last_openssl_error();
    }
    X509_set_version(cert.get(), 2);  // v3
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60 * 60);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()),
                    static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(valid_for).count()));
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                               reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);

    std::string alt_names;
    for (const auto& dns : dns_names) {
        alt_names += (alt_names.empty() ? "DNS:" : ",DNS:") + dns;
    }
    for (const auto& ip : ip_addresses) {
        alt_names += (alt_names.empty() ? "IP:" : ",IP:") + ip;
    }
    // CA:TRUE so that clients can trust the certificate directly as its own anchor.
    if (!add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
        !add_extension(cert.get(), NID_subject_key_identifier, "hash") ||
        (!alt_names.empty() && !add_extension(cert.get(), NID_subject_alt_name, alt_names))) {
        return last_openssl_error();
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
        return last_openssl_error();
    }

    bio_ptr cert_bio(BIO_new(BIO_s_mem()));
    bio_ptr key_bio(BIO_new(BIO_s_mem()));
    if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
        PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
        return last_openssl_error();
    }
    return self_signed_certificate{bio_to_string(cert_bio.get()), bio_to_string(key_bio.get())};
}

}  // namespace covet::net
