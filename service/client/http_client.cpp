// HTTP/1.1 client connections: connect, TLS, exchange, keep-alive pool.
#include "service/client/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <netdb.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

namespace switchboard {
namespace {

using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});

// How long a name's addresses are reused before the next lookup.
constexpr std::chrono::seconds dns_cache_time{30};

// getaddrinfo, blocking: run on a lookup thread only.
std::vector<tcp::endpoint> blocking_resolve(const std::string& host, const std::string& port, std::string& why)
{
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* found = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    std::vector<tcp::endpoint> out;
    if (rc != 0) {
        why = ::gai_strerror(rc);
        return out;
    }
    for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
        if (a->ai_family == AF_INET || a->ai_family == AF_INET6) {
            tcp::endpoint ep;
            std::memcpy(ep.data(), a->ai_addr, a->ai_addrlen);
            ep.resize(a->ai_addrlen);
            out.push_back(ep);
        }
    }
    ::freeaddrinfo(found);
    if (out.empty()) {
        why = "no IPv4 or IPv6 address";
    }
    return out;
}

} // namespace

// One lookup of the origin's name on a detached thread. The thread posts its result to the
// client's strand unless the client has gone (under the mutex); everything else is strand-only.
struct http_client::lookup {
    explicit lookup(connection_executor s) : strand(std::move(s)) { }
    std::mutex mutex;
    bool owner_alive = true;
    connection_executor strand;
    bool done = false;
    std::vector<tcp::endpoint> endpoints;
    std::string error;
    std::vector<net::steady_timer*> waiters;
};

struct http_client::connection {
    explicit connection(const connection_executor& ex) : tcp(ex) { }
    beast::tcp_stream tcp;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream&>> tls;
    // Bounded: a peer's endless chunk extension or trailer fails the read (buffer_overflow)
    // instead of growing it until the deadline. Body bytes go to the body, not here.
    beast::flat_buffer buffer{max_buffered};
    static constexpr std::size_t max_buffered = 64 * 1024;

    // An idle connection the peer has closed (EOF or an alert pending) or that has unread
    // bytes is not worth a request: looked at without blocking before reuse.
    bool looks_alive()
    {
        char b = 0;
        const auto n = ::recv(tcp.socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && buffer.size() == 0;
    }
};

std::optional<http_url> parse_http_url(std::string_view url)
{
    const auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->encoded_host().empty()
        || parsed->has_userinfo()) {
        return std::nullopt;
    }
    http_url u;
    u.origin.https = parsed->scheme() == "https";
    u.origin.host = std::string(parsed->encoded_host());
    if (u.origin.host.size() > 2 && u.origin.host.front() == '[') {
        u.origin.host = u.origin.host.substr(1, u.origin.host.size() - 2);
    }
    // Boost.URL 1.81 reads "http://h:a914/x" as an empty port and the rootless path "a914/x",
    // "http://h:8080a/x" as port 8080 and the path "a/x", and wraps port 99999: a port is 1 to
    // 65535 in digits, and the path is empty or absolute.
    if (parsed->has_port()) {
        const std::string_view port = parsed->port();
        unsigned value = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
            return std::nullopt;
        }
    }
    if (!parsed->encoded_path().empty() && parsed->encoded_path().front() != '/') {
        return std::nullopt;
    }
    u.origin.port = parsed->has_port() ? std::string(parsed->port()) : (u.origin.https ? "443" : "80");
    u.path = std::string(parsed->encoded_path());
    u.has_query = parsed->has_query();
    u.query = std::string(parsed->encoded_query());
    u.has_fragment = parsed->has_fragment();
    return u;
}

std::string_view status_kind(unsigned status) noexcept
{
    if (status >= 200 && status < 300) {
        return "2xx";
    }
    if (status >= 300 && status < 400) {
        return "3xx";
    }
    if (status == 429) {
        return "429";
    }
    if (status >= 500) {
        return "5xx";
    }
    return "4xx";
}

http_client::http_client(connection_executor strand, http_origin origin, std::size_t max_idle, std::size_t body_limit)
    : strand_(std::move(strand)), origin_(std::move(origin)), max_idle_(max_idle), body_limit_(body_limit)
{
    if (origin_.https) {
        tls_ = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
        SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
        tls_->set_default_verify_paths();
        if (!origin_.ca_file.empty()) {
            boost::system::error_code ec;
            tls_->load_verify_file(origin_.ca_file, ec);
            if (ec) {
                throw std::runtime_error("cannot load ca_file '" + origin_.ca_file + "': " + ec.message());
            }
        }
        if (!origin_.client_cert_file.empty()) {
            boost::system::error_code ec;
            tls_->use_certificate_chain_file(origin_.client_cert_file, ec);
            if (ec) {
                throw std::runtime_error(
                    "cannot load client_cert_file '" + origin_.client_cert_file + "': " + ec.message());
            }
            // (OpenSSL also refuses a key that is not the certificate's: "key values mismatch".)
            tls_->use_private_key_file(origin_.client_key_file, net::ssl::context::pem, ec);
            if (ec) {
                throw std::runtime_error(
                    "cannot load client_key_file '" + origin_.client_key_file + "': " + ec.message());
            }
        }
        tls_->set_verify_mode(net::ssl::verify_peer);
    }
    host_header_ = origin_.host.find(':') != std::string::npos ? "[" + origin_.host + "]" : origin_.host;
    if (origin_.port != (origin_.https ? "443" : "80")) {
        host_header_ += ":" + origin_.port;
    }
}

http_client::~http_client()
{
    if (lookup_) {
        const std::lock_guard lock(lookup_->mutex);
        lookup_->owner_alive = false;
    }
}

task<bool> http_client::resolve(
    std::chrono::steady_clock::time_point deadline, std::vector<tcp::endpoint>& out, std::string& why, bool& timed_out)
{
    timed_out = false;
    boost::system::error_code ec;
    const auto literal = net::ip::make_address(origin_.host, ec);
    if (!ec) {
        unsigned short port = 0;
        const auto [end, pec] = std::from_chars(origin_.port.data(), origin_.port.data() + origin_.port.size(), port);
        if (pec != std::errc{} || end != origin_.port.data() + origin_.port.size()) {
            why = "bad port '" + origin_.port + "'";
            co_return false;
        }
        out = {tcp::endpoint(literal, port)};
        co_return true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!cached_.empty() && now < cached_until_) {
        out = cached_;
        co_return true;
    }
    if (!lookup_ || lookup_->done) {
        // One lookup at a time per origin: later requests wait for the one in flight.
        auto st = std::make_shared<lookup>(strand_);
        lookup_ = st;
        std::thread([st, host = origin_.host, port = origin_.port] {
            std::string error;
            auto found = blocking_resolve(host, port, error);
            const std::lock_guard lock(st->mutex);
            if (!st->owner_alive) {
                return;
            }
            net::post(st->strand, [st, found = std::move(found), error = std::move(error)]() mutable {
                st->done = true;
                st->endpoints = std::move(found);
                st->error = std::move(error);
                for (auto* t : st->waiters) {
                    t->cancel();
                }
            });
        }).detach();
    }
    const auto st = lookup_;
    if (!st->done) {
        net::steady_timer wake(strand_);
        wake.expires_at(deadline);
        st->waiters.push_back(&wake);
        co_await wake.async_wait(use_tuple);
        std::erase(st->waiters, &wake);
    }
    if (!st->done) {
        timed_out = true;
        why = "resolve " + origin_.host + ": no answer before the deadline";
        co_return false;
    }
    if (!st->error.empty()) {
        why = "resolve " + origin_.host + ": " + st->error;
        co_return false;
    }
    cached_ = st->endpoints;
    cached_until_ = std::chrono::steady_clock::now() + dns_cache_time;
    out = cached_;
    co_return true;
}

void http_client::close_idle()
{
    idle_.clear();
}

task<http_result> http_client::send(
    http_request& req, std::chrono::steady_clock::time_point deadline, bool replay_if_stale)
{
    req.set(http::field::host, host_header_);
    req.keep_alive(true);
    bool reused = false;
    http_result r = co_await attempt(req, deadline, reused);
    if (reused && r.not_sent && replay_if_stale) {
        // The peer closed a kept-alive connection while it was idle: not an attempt.
        r = co_await attempt(req, deadline, reused);
    }
    co_return r;
}

task<http_result> http_client::attempt(http_request& req, std::chrono::steady_clock::time_point deadline, bool& reused)
{
    http_result r;
    std::unique_ptr<connection> c;
    while (!idle_.empty() && !c) {
        c = std::move(idle_.back());
        idle_.pop_back();
        if (!c->looks_alive()) {
            c.reset();
        }
    }
    reused = c != nullptr;
    const auto fail = [&r](std::string_view kind, std::string what, const boost::system::error_code& ec) {
        r.kind = ec == beast::error::timeout ? std::string_view("timeout") : kind;
        r.error = std::move(what) + ": " + ec.message();
        return std::move(r);
    };
    if (!c) {
        c = std::make_unique<connection>(strand_);
        r.not_sent = true;
        std::vector<tcp::endpoint> endpoints;
        std::string why;
        bool timed_out = false;
        if (!co_await resolve(deadline, endpoints, why, timed_out)) {
            r.kind = timed_out ? std::string_view("timeout") : std::string_view("connect_error");
            r.error = std::move(why);
            co_return r;
        }
        c->tcp.expires_at(deadline);
        auto [cec, ep] = co_await c->tcp.async_connect(endpoints, use_tuple);
        (void)ep;
        if (cec) {
            co_return fail("connect_error", "connect " + origin_.host + ":" + origin_.port, cec);
        }
        c->tcp.socket().set_option(tcp::no_delay(true));
        if (tls_) {
            c->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream&>>(c->tcp, *tls_);
            if (!SSL_set_tlsext_host_name(c->tls->native_handle(), origin_.host.c_str())) {
                co_return fail("tls_error", "SNI",
                    boost::system::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()));
            }
            c->tls->set_verify_callback(net::ssl::host_name_verification(origin_.host));
            auto [hec] = co_await c->tls->async_handshake(net::ssl::stream_base::client, use_tuple);
            if (hec) {
                co_return fail("tls_error", "TLS handshake with " + origin_.host, hec);
            }
        }
        r.not_sent = false;
    }

    c->tcp.expires_at(deadline);
    boost::system::error_code wec;
    if (c->tls) { // (no co_await inside ?: — GCC 12 miscompiles it)
        std::tie(wec, std::ignore) = co_await http::async_write(*c->tls, req, use_tuple);
    } else {
        std::tie(wec, std::ignore) = co_await http::async_write(c->tcp, req, use_tuple);
    }
    if (wec) {
        r.not_sent = reused && wec != beast::error::timeout;
        co_return fail("io_error", "send", wec);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(body_limit_);
    boost::system::error_code rec;
    std::size_t read = 0;
    if (c->tls) {
        std::tie(rec, read) = co_await http::async_read(*c->tls, c->buffer, parser, use_tuple);
    } else {
        std::tie(rec, read) = co_await http::async_read(c->tcp, c->buffer, parser, use_tuple);
    }
    if (rec && !parser.is_header_done()) {
        r.not_sent = reused && read == 0 && c->buffer.size() == 0 && rec != beast::error::timeout;
        co_return fail("io_error", "response", rec);
    }
    r.response = parser.release();
    r.status = r.response.result_int();
    r.kind = status_kind(r.status);
    if (rec) {
        // Headers arrived but the body did not (too large, cut short): the status stands; the
        // connection is not reusable.
        r.error = "response body: " + rec.message();
        co_return r;
    }
    if (r.response.keep_alive() && idle_.size() < max_idle_) {
        c->tcp.expires_never();
        idle_.push_back(std::move(c));
    }
    co_return r;
}

} // namespace switchboard
