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

rate_limiter::shard& rate_limiter::shard_of(std::string_view client)
{
    return shards_[std::hash<std::string_view>{}(client) % shards_.size()];
}

rate_limiter::bucket& rate_limiter::find(std::string_view client, clock::time_point now)
{
    shard& s = shard_of(client);
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
    return *found->second;
}

rate_limiter::decision rate_limiter::take(std::string_view client, clock::time_point now)
{
    return decided(take_up_to(client, 1, now));
}

rate_limiter::decision rate_limiter::decided(const grant& g) noexcept
{
    // The epsilon keeps float noise (9.9999999 vs 10.0000001) from adding a second.
    return {g.granted >= 1,
        std::chrono::seconds{static_cast<long>(std::ceil(static_cast<double>(g.wait.count()) / 1000.0 - 1e-6))}};
}

rate_limiter::grant rate_limiter::take_up_to(std::string_view client, std::size_t wanted, clock::time_point now)
{
    shard& s = shard_of(client);
    const std::lock_guard lock(s.mutex);
    bucket& b = find(client, now);
    const auto whole = static_cast<std::size_t>(std::floor(b.tokens + 1e-9));
    const std::size_t granted = std::min(wanted, whole);
    if (granted > 0) {
        b.tokens = std::max(0.0, b.tokens - static_cast<double>(granted));
        return {granted, std::chrono::milliseconds{0}};
    }
    const double wait_ms = (1.0 - b.tokens) / per_second_ * 1000.0;
    return {0, std::chrono::milliseconds{static_cast<long>(std::ceil(wait_ms - 1e-6))}};
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
