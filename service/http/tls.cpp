// TLS server context construction and reload.
#include "service/http/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/ssl.h>

#include <stdexcept>

namespace switchboard {
namespace {

std::shared_ptr<boost::asio::ssl::context> build(const std::string& cert, const std::string& key)
{
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3
        | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use | SSL_OP_NO_COMPRESSION
        | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
    // TLS 1.2: forward-secret AEAD suites only (Mozilla "intermediate"); TLS 1.3 suites are all AEAD.
    if (SSL_CTX_set_cipher_list(native,
            "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
        != 1) {
        throw std::runtime_error("TLS: cipher list rejected by OpenSSL");
    }
    boost::system::error_code ec;
    ctx->use_certificate_chain_file(cert, ec);
    if (ec) {
        throw std::runtime_error("TLS: cannot load certificate chain '" + cert + "': " + ec.message());
    }
    ctx->use_private_key_file(key, ssl::context::pem, ec);
    if (ec) {
        throw std::runtime_error("TLS: cannot load private key '" + key + "': " + ec.message());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        throw std::runtime_error("TLS: private key '" + key + "' does not match certificate '" + cert + "'");
    }
    return ctx;
}

} // namespace

tls_context_store::tls_context_store(std::string cert_file, std::string key_file)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), current_(build(cert_file_, key_file_))
{
}

tls_context_store::~tls_context_store() = default;

std::shared_ptr<boost::asio::ssl::context> tls_context_store::current() const
{
    const std::lock_guard lock(mutex_);
    return current_;
}

bool tls_context_store::reload(std::string& error)
{
    try {
        auto fresh = build(cert_file_, key_file_);
        const std::lock_guard lock(mutex_);
        current_ = std::move(fresh);
        return true;
    } catch (const std::exception& e) {
        error = e.what();
        return false;
    }
}

} // namespace switchboard
