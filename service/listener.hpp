// HTTP/1.1 listeners: an accept loop that spawns one coroutine per connection on its own
// strand, plain or TLS, with deadlines, size limits, keep-alive and draining.
#pragma once

#include "service/net.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace prometheus {
class Gauge;
}

namespace switchboard {

class router;
class metrics;
class tls_context_store;
struct config;

// Live connections of one listener, so draining can close the idle ones and, at the deadline,
// the rest. Entries live in the connection coroutines' frames; every access to an entry's
// stream happens on that connection's strand.
class connection_registry {
public:
    struct entry;

    std::uint64_t add(entry& e);
    void remove(std::uint64_t id);
    std::size_t size() const;

    // Closes connections waiting for a next request; busy ones finish their response first.
    void close_idle();
    // Cancels every connection's pending I/O.
    void close_all();

private:
    void for_each(bool idle_only);

    mutable std::mutex mutex_;
    std::uint64_t next_id_ = 1;
    std::unordered_map<std::uint64_t, entry*> entries_;
};

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
