// A bounded map of what was seen recently: a cache that can only forget, never grow past its
// capacity or answer with something older than its age limit.
//
// First in, first out: when full, the key put first goes (a key put again keeps its place, so
// the order holds every key once and the map never exceeds its capacity). A lookup finds nothing
// for an entry older than max_age or one marked stale. Time comes from the caller (protocol/
// reads no clocks), and the map takes no lock: its owner does.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace switchboard {

template <class Value> class recent_map {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;

    recent_map(std::size_t capacity, duration max_age) : capacity_(capacity), max_age_(max_age) { }

    // The value put for `key` at most max_age before `now` and not marked stale; nullptr if none.
    // The pointer is good until the next put().
    const Value* find(const std::string& key, time_point now) const
    {
        const auto it = entries_.find(key);
        if (it == entries_.end() || it->second.stale || now - it->second.put_at > max_age_) {
            return nullptr;
        }
        return &it->second.value;
    }

    void put(const std::string& key, Value value, time_point now)
    {
        if (capacity_ == 0) {
            return;
        }
        const auto [it, added] = entries_.insert_or_assign(key, entry{std::move(value), now, false});
        (void)it;
        if (added) {
            order_.push_back(key);
            if (order_.size() > capacity_) {
                entries_.erase(order_.front());
                order_.pop_front();
            }
        }
    }

    // Not found again until put anew (the entry keeps its place in the order).
    void mark_stale(const std::string& key)
    {
        if (const auto it = entries_.find(key); it != entries_.end()) {
            it->second.stale = true;
        }
    }

    void clear()
    {
        entries_.clear();
        order_.clear();
    }

    std::size_t size() const noexcept { return entries_.size(); }
    std::size_t capacity() const noexcept { return capacity_; }

private:
    struct entry {
        Value value;
        time_point put_at;
        bool stale = false;
    };
    std::size_t capacity_;
    duration max_age_;
    std::unordered_map<std::string, entry> entries_;
    std::deque<std::string> order_;
};

} // namespace switchboard
