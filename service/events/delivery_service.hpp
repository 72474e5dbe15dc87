// Outbound deliveries: for each subscriber delivered to, a dispatcher claims due deliveries from
// the event store and POSTs them (Standard Webhooks signature) over kept-alive HTTP/1.1 or TLS
// connections, at most `concurrency` at a time, then records each outcome under the retry
// policy: delivered, retried later (backoff + jitter, Retry-After honoured) or dead-lettered.
// A subscriber's rate_per_second paces when its deliveries start; a 429 or a Retry-After from
// it holds every delivery to it (not just the one refused) until the retry is due.
#pragma once

#include "service/app/config.hpp"
#include "service/http/net.hpp"
#include "service/store/awaitable_store.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace switchboard {

class metrics;
class redis_client;

// What the deliverers tell the rest of the service (set before start(); each may run on any
// delivery strand).
struct delivery_observer {
    // Every attempt to `subscriber` failed since `failing_since_ms`, for its disable_after: once
    // per worker.
    std::function<void(const std::string& subscriber, std::int64_t failing_since_ms, const std::string& last_error)>
        failing;
    // A delivery was given up.
    std::function<void(const std::string& subscriber, const claimed_delivery& d, const delivery_outcome& o)>
        dead_lettered;
    // A subscriber watched with watch_recovery() delivered again.
    std::function<void(const std::string& subscriber)> recovered;
};

class delivery_service {
public:
    // `redis` (the Redis store's client, before it starts; null on SQLite) shares each
    // subscriber's rate_per_second between the replicas, under `prefix`.
    delivery_service(net::io_context& ioc, delivery_queue& store, metrics& stats, redis_client* redis = nullptr,
        const std::string& prefix = {});
    ~delivery_service();

    // Delivers to exactly these subscribers from now on: one not delivered to yet gets a
    // worker, one whose settings changed gets a new worker, one no longer listed (removed,
    // paused, disabled) stops claiming. A stopped worker's deliveries in flight finish and
    // record their outcome. Thread-safe. Answers the subscribers that got no worker because
    // their TLS settings are unusable (ca_file, client certificate): name and why.
    std::vector<std::pair<std::string, std::string>> apply(const std::vector<subscriber_config>& subs);
    // Before start().
    void observe(delivery_observer o) { observer_ = std::move(o); }
    // The next delivery `subscriber` makes is reported to observer.recovered (it was resumed
    // after being disabled). Thread-safe.
    void watch_recovery(const std::string& subscriber);
    // Spawns the dispatchers and the queue-gauge refresher on the io_context.
    void start();
    // New deliveries were committed for these subscribers: look now instead of at the next poll.
    // Thread-safe and cheap when called often.
    void notify(const std::vector<std::string>& subscribers);
    // Every subscriber delivered to: look now (the store is back).
    void notify_all();
    // Stops claiming; deliveries in flight finish and record their outcome. Thread-safe.
    void stop();
    // Deliveries being attempted now, across subscribers (stopped workers' too). Thread-safe.
    std::size_t in_flight() const;

    struct worker;

private:
    void spawn(const std::shared_ptr<worker>& w);

    net::io_context& ioc_;
    delivery_queue& store_;
    metrics& stats_;
    redis_client* redis_;
    const std::string prefix_;
    connection_executor gauges_; // the queue-gauge refresher's strand
    delivery_observer observer_; // set before start
    mutable std::mutex mutex_;
    bool started_ = false; // under mutex_
    bool stopped_ = false; // under mutex_
    std::vector<std::shared_ptr<worker>> workers_; // under mutex_
    // Stopped workers, until their dispatcher has returned and their last delivery is recorded.
    std::vector<std::shared_ptr<worker>> retired_; // under mutex_
};

} // namespace switchboard
