// HTTP/1.1 listeners: an accept loop that spawns one coroutine per connection on its own
// strand, plain or TLS, with deadlines, size limits, keep-alive and draining.
#pragma once

#include "service/http/net.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace prometheus {
class Gauge;
}

namespace switchboard {

class router;
class metrics;
class tls_context_store;
struct config;

// Caps on one listener's connections (0: none).
struct connection_caps {
    std::size_t max_total = 0;
    // Connections per client address (IPv6: per /64) that have not yet sent a validly signed
    // request or a valid token.
    std::size_t max_pending_per_client = 0;
};

// Live connections of one listener: admission against the caps, and draining (close the idle
// ones, and at the deadline the rest). Entries live in the connection coroutines' frames;
// every access to an entry's stream happens on that connection's strand.
class connection_registry {
public:
    struct entry;
    enum class admission { admitted, admitted_evicting, refused_global, refused_client };

    void set_caps(connection_caps caps);
    connection_caps caps() const;

    // Registers `e` unless a cap says no. At the per-client cap the client's longest-waiting
    // silent connection is closed to make room (admitted_evicting); if it has none, refused.
    admission admit(entry& e);
    void remove(entry& e);
    // `e` sent a validly signed request or a valid token: it no longer counts against its
    // client's cap.
    void authenticated(entry& e);
    std::size_t size() const;

    // Closes connections waiting for a next request; busy ones finish their response first.
    void close_idle();
    // Cancels every connection's pending I/O.
    void close_all();

private:
    void for_each(bool idle_only);
    void close_if_idle(std::uint64_t id);
    void forget_pending(entry& e);

    mutable std::mutex mutex_;
    connection_caps caps_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, entry*> entries_;
    // Unauthenticated connections by client, oldest first (a few per client: linear scans).
    std::unordered_map<std::string, std::vector<std::uint64_t>> pending_;
};

// The key a client's connections are counted under: the address, IPv6 by its /64 (one
// subscriber's allocation).
std::string client_key(const net::ip::address& address);

struct listener_deps {
    const char* name; // "public" or "admin": the connections gauge label
    const router& routes;
    metrics& stats;
    const config& cfg;
    connection_registry& connections;
    const std::atomic<bool>& draining;
    tls_context_store* tls = nullptr; // non-null: every connection speaks TLS
};

// Accepts until the acceptor is closed. Never throws for per-connection failures.
net::awaitable<void> accept_loop(net::ip::tcp::acceptor& acceptor, listener_deps deps);

} // namespace switchboard
