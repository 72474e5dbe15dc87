// How long the store keeps what it holds, and what a retention pass may remove. Pure: the
// caller passes the time in; each store applies the cutoffs in small batches
// (event_store::retain).
//
//   delivered   an event whose every delivery row is gone, and the delivered rows themselves,
//               `delivered` after the event occurred (resp. after the delivery was made)
//   dead        a dead letter, `dead` after its last attempt (when it died)
//   log         a call record `log` after the call started, a message `log` after it was created
//
// Pending and in-flight deliveries are never removed, nor the events they deliver. A zero
// duration keeps that kind forever. The call and message totals (/api/phone/stats) are running
// counters since the store began: retention does not lower them.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace switchboard::retention {

struct policy {
    std::chrono::milliseconds delivered{std::chrono::hours(24 * 30)};
    std::chrono::milliseconds dead{std::chrono::hours(24 * 30)};
    std::chrono::milliseconds log{std::chrono::hours(24 * 400)};

    bool operator==(const policy&) const = default;
};

// Unix milliseconds: rows strictly older are removed; nullopt keeps that kind.
struct cutoffs {
    std::optional<std::int64_t> delivered;
    std::optional<std::int64_t> dead;
    std::optional<std::int64_t> log;

    bool operator==(const cutoffs&) const = default;
};

cutoffs cutoffs_at(const policy& p, std::int64_t now_ms) noexcept;

// What one pass removed, by kind.
struct removed {
    std::int64_t events = 0;
    std::int64_t delivered = 0; // delivery rows in the delivered state
    std::int64_t dead = 0; // dead letters
    std::int64_t calls = 0;
    std::int64_t messages = 0;

    std::int64_t total() const noexcept { return events + delivered + dead + calls + messages; }
    removed& operator+=(const removed& o) noexcept;
    bool operator==(const removed&) const = default;
};

// One pass removes at most `batch` rows of each kind; `more` says a kind filled its batch, so
// another pass right away would find more.
struct pass {
    removed rows;
    bool more = false;
};

bool filled(const removed& r, std::int64_t batch) noexcept;

// Days as operators write them ("30", "0.5"; 0 keeps forever): nullopt when not a finite
// number from 0 to 36500.
std::optional<std::chrono::milliseconds> parse_days(std::string_view text) noexcept;

} // namespace switchboard::retention
