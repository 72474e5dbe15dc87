// What a Redis append guesses the record is, so that it needs no read in the common case.
#pragma once

#include "protocol/core/recent_map.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace switchboard::redis_detail {

// The records this replica wrote last (call and message hashes with their version), so the
// next write of the same record needs no read: the write script checks the version, and a
// wrong guess (another replica wrote it, retention removed it, the entry is gone) is planned
// again from the record the script's conflict reply carries. A cache of guesses, never of
// truth: bounded, first in first out, and an entry older than `max_age` is not used.
//
// A wrong guess costs more than a read (the event is sent and planned twice), so guessing
// stops while most recent guesses were wrong (several replicas taking a call's callbacks in
// turn): then a write reads first, and one in `probe_every` still guesses, to notice when
// guesses pay again (one replica left, or a load balancer that keeps a call on one replica).
class record_guesses {
public:
    using record = std::unordered_map<std::string, std::string>;
    using clock = std::chrono::steady_clock;

    static constexpr std::size_t capacity = 4096;
    static constexpr std::chrono::minutes max_age{10};
    static constexpr int score_limit = 32; // how many recent outcomes the score remembers, at most
    static constexpr unsigned probe_every = 16;

    // The record as this replica last wrote it; an empty record (version 0: not stored yet)
    // when it has none. `now` for tests.
    record guess(const std::string& key, clock::time_point now = clock::now()) const;
    void remember(const std::string& key, record rec, clock::time_point now = clock::now());
    // A guess found wrong: not used again (the entry keeps its place in the order, so one key
    // is never queued twice).
    void forget(const std::string& key);

    // Whether this write should guess (else read first).
    bool worth_guessing() noexcept;
    // How a guess went: right (stored over the guessed version) or wrong (a conflict).
    void outcome(bool right) noexcept;

    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    recent_map<record> entries_{capacity, max_age};
    // Right guesses minus wrong ones, kept within ±score_limit: below 0, most recent ones were
    // wrong.
    std::atomic<int> score_{0};
    std::atomic<unsigned> skipped_{0};
};

} // namespace switchboard::redis_detail
