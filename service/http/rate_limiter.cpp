// Token-bucket rate limiting, sharded to keep lock contention low.
#include "service/http/rate_limiter.hpp"

#include <algorithm>
#include <cmath>
#include <functional>

namespace switchboard {

rate_limiter::rate_limiter(unsigned per_minute, std::size_t max_clients)
    : rate_limiter(static_cast<double>(per_minute), std::chrono::seconds(60), max_clients)
{
}

rate_limiter::rate_limiter(double capacity, std::chrono::seconds window, std::size_t max_clients)
    : capacity_(capacity)
    , per_second_(capacity / static_cast<double>(std::max<std::int64_t>(1, window.count())))
    , max_per_shard_(std::max<std::size_t>(1, max_clients / 16))
{
}

void rate_limiter::refill(bucket& b, clock::time_point now) const
{
    const double elapsed = std::chrono::duration<double>(now - b.updated).count();
    if (elapsed > 0) {
        b.tokens = std::min(capacity_, b.tokens + elapsed * per_second_);
        b.updated = now;
    }
}

rate_limiter::decision rate_limiter::take(std::string_view client, clock::time_point now)
{
    shard& s = shards_[std::hash<std::string_view>{}(client) % shards_.size()];
    const std::lock_guard lock(s.mutex);
    auto found = s.index.find(client);
    if (found == s.index.end()) {
        if (s.index.size() >= max_per_shard_) {
            // Forget the least recently used client: it has had the longest to refill (and a full
            // bucket carries no information). A refused request counts as use, so a client that
            // keeps knocking stays remembered, and throttled.
            s.index.erase(s.by_use.back().client);
            s.by_use.pop_back();
        }
        s.by_use.push_front(bucket{std::string(client), capacity_, now});
        found = s.index.emplace(s.by_use.front().client, s.by_use.begin()).first;
    } else {
        s.by_use.splice(s.by_use.begin(), s.by_use, found->second);
        refill(*found->second, now);
    }
    bucket& b = *found->second;
    if (b.tokens >= 1.0) {
        b.tokens -= 1.0;
        return {true, std::chrono::seconds{0}};
    }
    // The epsilon keeps float noise (9.9999999 vs 10.0000001) from adding a second.
    const double wait = (1.0 - b.tokens) / per_second_;
    return {false, std::chrono::seconds{static_cast<long>(std::ceil(wait - 1e-6))}};
}

std::size_t rate_limiter::tracked_clients() const
{
    std::size_t n = 0;
    for (const auto& s : shards_) {
        const std::lock_guard lock(s.mutex);
        n += s.index.size();
    }
    return n;
}

} // namespace switchboard
