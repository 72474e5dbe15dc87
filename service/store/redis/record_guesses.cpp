// What a Redis append guesses the record is (record_guesses.hpp).
#include "service/store/redis/record_guesses.hpp"

#include <algorithm>

namespace switchboard::redis_detail {

record_guesses::record record_guesses::guess(const std::string& key, clock::time_point now) const
{
    const std::lock_guard lock(mutex_);
    const record* rec = entries_.find(key, now);
    return rec != nullptr ? *rec : record{};
}

void record_guesses::remember(const std::string& key, record rec, clock::time_point now)
{
    const std::lock_guard lock(mutex_);
    entries_.put(key, std::move(rec), now);
}

void record_guesses::forget(const std::string& key)
{
    const std::lock_guard lock(mutex_);
    entries_.mark_stale(key);
}

bool record_guesses::worth_guessing() noexcept
{
    if (score_.load(std::memory_order_relaxed) >= 0) {
        return true;
    }
    return skipped_.fetch_add(1, std::memory_order_relaxed) % probe_every == probe_every - 1;
}

void record_guesses::outcome(bool right) noexcept
{
    int s = score_.load(std::memory_order_relaxed);
    int next = 0;
    do {
        next = std::clamp(s + (right ? 1 : -1), -score_limit, score_limit);
    } while (!score_.compare_exchange_weak(s, next, std::memory_order_relaxed));
}

std::size_t record_guesses::size() const
{
    const std::lock_guard lock(mutex_);
    return entries_.size();
}

} // namespace switchboard::redis_detail
