// How fast one subscriber's deliveries may start: its rate_per_second (a token bucket, shared by
// every replica on Redis) and the pauses it asks for (a 429, or Retry-After on a retried
// failure: then no delivery to it starts until the retry is due). Used on the subscriber's
// strand only.
#pragma once

#include "service/app/config.hpp"
#include "service/http/net.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace switchboard {

class rate_limiter;
class redis_client;
class shared_rate_limiter;
struct subscriber_metrics;

class delivery_pace {
public:
    // `redis` (null on SQLite): the client the shared bucket lives in, before it starts.
    delivery_pace(
        const subscriber_config& cfg, subscriber_metrics& stats, redis_client* redis, const std::string& prefix);
    ~delivery_pace();

    // Of `free` concurrency slots, how many deliveries to claim at `now_ms`: none while paused
    // (`next_due` is then when the pause ends), with a rate at most one second's worth (each
    // then waits for its token in wait_turn, holding its slot).
    std::size_t claimable(std::size_t free, std::int64_t now_ms, std::optional<std::int64_t>& next_due) const;

    // Waits until one delivery may start: after a pause the subscriber asked for, and for its
    // token with a rate (without either it returns at once); and no longer once `stopping` is
    // true (at shutdown the deliveries already claimed are finished, not held). The pause is
    // looked at again every second at most, so a later hold_until is seen.
    task<void> wait_turn(const connection_executor& strand, const bool& stopping);

    // The subscriber asked to wait until `until_ms` (after answering `status`): a new pause is
    // logged and counted; a later end extends it.
    void hold_until(std::int64_t until_ms, std::int64_t now_ms, unsigned status);

private:
    const subscriber_config& cfg_;
    subscriber_metrics& stats_;
    double burst_ = 1; // the bucket: rate_per_second a second, a burst of one second's worth
    std::unique_ptr<rate_limiter> local_; // null without a rate; stands in while Redis is away
    std::unique_ptr<shared_rate_limiter> shared_; // Redis: one bucket for every replica
    std::int64_t paused_until_ms_ = 0;
};

} // namespace switchboard
