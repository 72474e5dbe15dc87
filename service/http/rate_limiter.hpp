// Per-client token buckets: N requests per minute with a burst of N. Time is passed in.
#pragma once

#include <array>
#include <chrono>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace switchboard {

class rate_limiter {
public:
    using clock = std::chrono::steady_clock;

    explicit rate_limiter(unsigned per_minute, std::size_t max_clients = 100'000);
    // `capacity` per `window`, with a burst of `capacity` (e.g. 5 SMS per hour per number).
    rate_limiter(double capacity, std::chrono::seconds window, std::size_t max_clients = 100'000);

    struct decision {
        bool allowed;
        std::chrono::seconds retry_after; // when refused: until one request is allowed again
    };
    // `client` is the key as given: the caller aggregates (forwarded::budget_key for addresses).
    decision take(std::string_view client, clock::time_point now);

    // Up to `wanted` tokens at once (deliveries paced per subscriber): how many were taken and,
    // when none was, how long until one is there.
    struct grant {
        std::size_t granted;
        std::chrono::milliseconds wait;
    };
    grant take_up_to(std::string_view client, std::size_t wanted, clock::time_point now);
    // A one-token grant as a decision: the wait in whole seconds, rounded up (Retry-After).
    static decision decided(const grant& g) noexcept;

    std::size_t tracked_clients() const;

private:
    struct bucket {
        std::string client;
        double tokens;
        clock::time_point updated;
    };
    // Buckets in order of last use, most recent first, so a full shard forgets its least
    // recently seen client in O(1) instead of scanning the shard under its lock.
    struct shard {
        mutable std::mutex mutex;
        std::list<bucket> by_use;
        std::unordered_map<std::string_view, std::list<bucket>::iterator> index; // views of bucket::client
    };
    void refill(bucket& b, clock::time_point now) const;
    bucket& find(std::string_view client, clock::time_point now); // under the shard's lock
    shard& shard_of(std::string_view client);

    double capacity_;
    double per_second_;
    std::size_t max_per_shard_;
    std::array<shard, 16> shards_;
};

} // namespace switchboard
