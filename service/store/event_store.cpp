// What every event store shares: subscription filters and delivery state names.
#include "service/store/event_store.hpp"

#include <algorithm>

namespace switchboard {

bool subscription::matches(event_type t) const
{
    for (const auto& f : filters) {
        if (filter_matches(f, t)) {
            return true;
        }
    }
    return false;
}

bool subscription::receives(const call_event& e) const
{
    return matches(e.type) && !(is_operational(e.type) && e.subscriber == name);
}

subscription_set::subscription_set(std::vector<subscription> subs)
    : subs_(std::make_shared<const std::vector<subscription>>(std::move(subs)))
{
}

subscription_set::snapshot subscription_set::current() const
{
    std::lock_guard lock(mutex_);
    return subs_;
}

void subscription_set::replace(std::vector<subscription> subs)
{
    auto next = std::make_shared<const std::vector<subscription>>(std::move(subs));
    std::lock_guard lock(mutex_);
    subs_ = std::move(next);
}

bool subscription_set::knows(std::string_view name) const
{
    const auto subs = current();
    return std::any_of(subs->begin(), subs->end(), [&](const subscription& s) { return s.name == name; });
}

bool subscription_set::per_call(std::string_view name) const
{
    const auto subs = current();
    return std::any_of(subs->begin(), subs->end(), [&](const subscription& s) { return s.name == name && s.per_call; });
}

std::string_view to_string(delivery_state s) noexcept
{
    switch (s) {
    case delivery_state::pending:
        return "pending";
    case delivery_state::in_flight:
        return "in_flight";
    case delivery_state::delivered:
        return "delivered";
    case delivery_state::dead:
        return "dead";
    }
    return "pending";
}

std::optional<delivery_state> parse_delivery_state(std::string_view s) noexcept
{
    for (const auto st :
        {delivery_state::pending, delivery_state::in_flight, delivery_state::delivered, delivery_state::dead}) {
        if (s == to_string(st)) {
            return st;
        }
    }
    return std::nullopt;
}

} // namespace switchboard
