// Token-bucket rate limiting, sharded to keep lock contention low.
#include "service/rate_limiter.hpp"

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

void rate_limiter::evict(shard& s, clock::time_point now) const
{
    // Full buckets carry no information: forgetting them changes no decision.
    for (auto it = s.buckets.begin(); it != s.buckets.end();) {
        refill(it->second, now);
        it = it->second.tokens >= capacity_ ? s.buckets.erase(it) : std::next(it);
    }
    if (s.buckets.size() >= max_per_shard_) {
        // Still full of active clients: drop the one closest to full.
        auto fullest = std::max_element(s.buckets.begin(), s.buckets.end(),
            [](const auto& a, const auto& b) { return a.second.tokens < b.second.tokens; });
        s.buckets.erase(fullest);
    }
}

rate_limiter::decision rate_limiter::take(std::string_view client, clock::time_point now)
{
    shard& s = shards_[std::hash<std::string_view>{}(client) % shards_.size()];
    const std::lock_guard lock(s.mutex);
    auto it = s.buckets.find(std::string(client));
    if (it == s.buckets.end()) {
        if (s.buckets.size() >= max_per_shard_) {
            evict(s, now);
        }
        it = s.buckets.emplace(std::string(client), bucket{capacity_, now}).first;
    } else {
        refill(it->second, now);
    }
    bucket& b = it->second;
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
        n += s.buckets.size();
    }
    return n;
}

} // namespace switchboard
