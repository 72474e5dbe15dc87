// The rate limit shared by every replica (Redis): the same token bucket as rate_limiter, kept
// in Redis and refilled by Redis' clock, so N replicas allow a client N requests per minute in
// total, not N times that. While Redis is unreachable the caller falls back to its own
// per-replica limiter.
#pragma once

#include "service/client/redis_client.hpp"
#include "service/http/net.hpp"
#include "service/http/rate_limiter.hpp"

#include <functional>
#include <string>

namespace switchboard {

class shared_rate_limiter {
public:
    // Registers its script with the client: construct before the client starts.
    shared_rate_limiter(redis_client& client, std::string prefix, unsigned per_minute);
    // `capacity` per `window` (the budget of rate_limiter's second constructor).
    shared_rate_limiter(redis_client& client, std::string prefix, double capacity, std::chrono::seconds window);

    bool available() const noexcept { return client_.connected(); }
    // The decision, or error store_unavailable; resumes on the caller's executor.
    task<boost::system::result<rate_limiter::decision>> take(std::string client);
    // Up to `wanted` tokens (rate_limiter::take_up_to, shared), or error store_unavailable.
    task<boost::system::result<rate_limiter::grant>> take_up_to(std::string client, std::size_t wanted);

private:
    void ask(const std::string& client, std::size_t wanted,
        std::function<void(boost::system::result<rate_limiter::grant>)> done);

    redis_client& client_;
    std::string prefix_;
    std::string capacity_;
    std::string per_second_;
    std::size_t script_;
};

} // namespace switchboard
