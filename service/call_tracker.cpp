// In-memory call state, bounded (oldest calls forgotten first).
#include "service/call_tracker.hpp"

namespace switchboard {

apply_result call_tracker::record(const call_status_update& u)
{
    const std::lock_guard lock(mutex_);
    auto it = calls_.find(u.call_sid);
    if (it == calls_.end()) {
        if (calls_.size() >= capacity_ && !order_.empty()) {
            calls_.erase(order_.front());
            order_.pop_front();
        }
        it = calls_.emplace(u.call_sid, call_record{}).first;
        order_.push_back(u.call_sid);
    }
    return apply(it->second, u);
}

std::optional<call_record> call_tracker::find(const std::string& call_sid) const
{
    const std::lock_guard lock(mutex_);
    const auto it = calls_.find(call_sid);
    if (it == calls_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::size_t call_tracker::size() const
{
    const std::lock_guard lock(mutex_);
    return calls_.size();
}

} // namespace switchboard
