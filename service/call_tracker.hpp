// The latest known state of recent calls, fed by status callbacks. This is the hand-off point
// for call events: the durable event store plugs in behind `record`.
#pragma once

#include "protocol/call_status.hpp"

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace switchboard {

class call_tracker {
public:
    explicit call_tracker(std::size_t capacity = 100'000) : capacity_(capacity) { }

    // Applies one status callback under the ordering rules of protocol/call_status.hpp.
    apply_result record(const call_status_update& u);

    std::optional<call_record> find(const std::string& call_sid) const;
    std::size_t size() const;

private:
    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, call_record> calls_;
    std::deque<std::string> order_; // insertion order, oldest first, for eviction
};

} // namespace switchboard
