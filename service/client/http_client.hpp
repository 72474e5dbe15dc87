// An HTTP/1.1 client for one origin (plain or TLS with verification and SNI): a pool of
// kept-alive connections, one deadline per exchange. Used by the event deliverer and the
// Twilio REST client. Not thread-safe: every call runs on the executor (strand) it was built with.
#pragma once

#include "service/http/net.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace switchboard {

struct http_origin {
    bool https = false;
    std::string host; // for DNS, SNI and certificate verification
    std::string port; // explicit or the scheme's default
    std::string ca_file; // extra trusted CA bundle (PEM) for https; the system store otherwise
    std::string client_cert_file; // mutual TLS: the client's certificate chain (PEM), or empty
    std::string client_key_file; // and its private key (PEM)
};

// An absolute http:// or https:// URL without credentials, split for the client (the one
// parser for subscriber URLs and the Twilio API base URL).
struct http_url {
    http_origin origin; // ca_file left empty
    std::string path; // encoded, as given; may be empty
    std::string query; // encoded, without the '?'
    bool has_query = false;
    bool has_fragment = false;
};
std::optional<http_url> parse_http_url(std::string_view url);

// What one exchange produced.
struct http_result {
    unsigned status = 0; // 0: no HTTP response
    std::string_view kind
        = "io_error"; // metric label: 2xx, 3xx, 4xx, 429, 5xx, timeout, connect_error, tls_error, io_error
    std::string error; // for logs and records when status is 0
    http_response response; // when status != 0
    // Nothing of the request may have been processed: the connection could not be opened, or a
    // reused connection turned out to be closed before any response byte.
    bool not_sent = false;
};

class http_client {
public:
    // Throws std::runtime_error when the TLS settings are unusable (ca_file, the client
    // certificate or its key).
    http_client(connection_executor strand, http_origin origin, std::size_t max_idle, std::size_t body_limit);
    ~http_client();
    http_client(const http_client&) = delete;
    http_client& operator=(const http_client&) = delete;

    // "host[:port]" as the Host header must say it.
    const std::string& host_header() const noexcept { return host_header_; }
    const http_origin& origin() const noexcept { return origin_; }

    // Sends `req` (its Host header is set here) and reads the response, all before `deadline`.
    // A reused connection that the peer had closed while idle is replaced transparently only
    // when `replay_if_stale` (safe for idempotent requests and de-duplicated deliveries).
    task<http_result> send(http_request& req, std::chrono::steady_clock::time_point deadline, bool replay_if_stale);

    // Drops the idle connections (at shutdown).
    void close_idle();

    struct connection;
    struct lookup;

private:
    task<http_result> attempt(http_request& req, std::chrono::steady_clock::time_point deadline, bool& reused);
    // The origin's addresses, by `deadline`: an IP literal at once, a name from the cache or
    // from a lookup on a thread of this origin's own (one at a time), so a slow name delays
    // only its own requests and never past their deadline. False: `why` says what failed.
    task<bool> resolve(std::chrono::steady_clock::time_point deadline, std::vector<net::ip::tcp::endpoint>& out,
        std::string& why, bool& timed_out);

    connection_executor strand_;
    http_origin origin_;
    std::size_t max_idle_;
    std::size_t body_limit_;
    std::unique_ptr<net::ssl::context> tls_;
    std::string host_header_;
    std::vector<std::unique_ptr<connection>> idle_;
    std::shared_ptr<lookup> lookup_; // the newest lookup (in flight or done)
    std::vector<net::ip::tcp::endpoint> cached_;
    std::chrono::steady_clock::time_point cached_until_{};
};

// "2xx", "3xx", "4xx", "429" or "5xx".
std::string_view status_kind(unsigned status) noexcept;

} // namespace switchboard
