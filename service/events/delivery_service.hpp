// Outbound deliveries: for each configured subscriber, a dispatcher claims due deliveries from
// the event store and POSTs them (Standard Webhooks signature) over kept-alive HTTP/1.1 or TLS
// connections, at most `concurrency` at a time, then records each outcome under the retry
// policy: delivered, retried later (backoff + jitter, Retry-After honoured) or dead-lettered.
// A subscriber's rate_per_second paces when its deliveries start; a 429 or a Retry-After from
// it holds every delivery to it (not just the one refused) until the retry is due.
#pragma once

#include "service/app/config.hpp"
#include "service/http/net.hpp"
#include "service/store/awaitable_store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace switchboard {

class metrics;
class redis_client;

class delivery_service {
public:
    // Throws std::runtime_error when a subscriber's TLS settings are unusable (ca_file, client
    // certificate). `redis` (the Redis store's client, before it starts; null on SQLite) shares
    // each subscriber's rate_per_second between the replicas, under `prefix`.
    delivery_service(net::io_context& ioc, delivery_queue& store, metrics& stats,
        const std::vector<subscriber_config>& subs, redis_client* redis = nullptr, const std::string& prefix = {});
    ~delivery_service();

    // Spawns the dispatchers and the queue-gauge refresher on the io_context.
    void start();
    // New deliveries were committed for these subscribers: look now instead of at the next poll.
    // Thread-safe and cheap when called often.
    void notify(const std::vector<std::string>& subscribers);
    // Stops claiming; deliveries in flight finish and record their outcome. Thread-safe.
    void stop();
    // Deliveries being attempted now, across subscribers. Thread-safe.
    std::size_t in_flight() const;

    struct worker;

private:
    net::io_context& ioc_;
    delivery_queue& store_;
    metrics& stats_;
    std::vector<std::unique_ptr<worker>> workers_;
};

} // namespace switchboard
