// When an outbound delivery counts as delivered, when it is retried and how long to wait, and
// when it is given up (dead-lettered). Pure: the caller passes time and jitter in.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace switchboard::delivery {

struct retry_policy {
    int max_attempts = 25;
    std::chrono::milliseconds max_age{std::chrono::hours(24)};
    std::chrono::milliseconds initial_delay{std::chrono::seconds(1)};
    std::chrono::milliseconds max_delay{std::chrono::hours(1)};

    bool operator==(const retry_policy&) const = default;
};

enum class verdict { delivered, retry, give_up };

// 2xx: delivered. 408, 409, 429 and 5xx: retried. Other statuses (4xx, and 1xx/3xx, which a
// webhook endpoint has no business answering): given up at once, because repeating the same
// request cannot change the answer; the event goes to the dead letters, where it can be replayed.
verdict classify_status(unsigned status) noexcept;

struct next_step {
    bool give_up;
    std::chrono::milliseconds delay; // when not given up
};

// After `attempts` failed attempts (>= 1) of a delivery first tried `age` ago: exponential
// backoff initial * 2^(attempts-1), capped at max_delay, with equal jitter (half fixed, half
// scaled by `jitter` in [0, 1]); a Retry-After from the subscriber is honoured as a minimum.
// Given up when max_attempts is reached or the next attempt would come after max_age.
next_step plan_retry(const retry_policy& policy, int attempts, std::chrono::milliseconds age, double jitter,
    std::optional<std::chrono::milliseconds> retry_after) noexcept;

// Retry-After as delta-seconds ("120") or an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"),
// relative to `now_unix_seconds`. Past dates give 0; unparsable values nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::int64_t now_unix_seconds) noexcept;

} // namespace switchboard::delivery
