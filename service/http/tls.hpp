// The TLS server context: TLS 1.2 minimum, modern AEAD ciphers, certificate and key re-read on
// SIGHUP. Connections keep the context they started with, so a reload drops none.
#pragma once

#include <memory>
#include <mutex>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace switchboard {

class tls_context_store {
public:
    // Throws std::runtime_error with a clear message when the files are unusable.
    tls_context_store(std::string cert_file, std::string key_file);
    ~tls_context_store();

    std::shared_ptr<boost::asio::ssl::context> current() const;

    // Re-reads the files; on failure keeps the current context and returns the reason.
    bool reload(std::string& error);

private:
    std::string cert_file_;
    std::string key_file_;
    mutable std::mutex mutex_;
    std::shared_ptr<boost::asio::ssl::context> current_;
};

} // namespace switchboard
