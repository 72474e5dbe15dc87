// Per-client token buckets: N requests per minute with a burst of N. Time is passed in.
#pragma once

#include <array>
#include <chrono>
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
    decision take(std::string_view client, clock::time_point now);

    std::size_t tracked_clients() const;

private:
    struct bucket {
        double tokens;
        clock::time_point updated;
    };
    struct shard {
        mutable std::mutex mutex;
        std::unordered_map<std::string, bucket> buckets;
    };
    void refill(bucket& b, clock::time_point now) const;
    void evict(shard& s, clock::time_point now) const;

    double capacity_;
    double per_second_;
    std::size_t max_per_shard_;
    std::array<shard, 16> shards_;
};

} // namespace switchboard
