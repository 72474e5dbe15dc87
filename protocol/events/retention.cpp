#include "protocol/events/retention.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

namespace switchboard::retention {

namespace {

std::optional<std::int64_t> before(std::chrono::milliseconds keep, std::int64_t now_ms) noexcept
{
    if (keep.count() <= 0) {
        return std::nullopt;
    }
    return now_ms - keep.count();
}

} // namespace

cutoffs cutoffs_at(const policy& p, std::int64_t now_ms) noexcept
{
    return {before(p.delivered, now_ms), before(p.dead, now_ms), before(p.log, now_ms)};
}

removed& removed::operator+=(const removed& o) noexcept
{
    events += o.events;
    delivered += o.delivered;
    dead += o.dead;
    calls += o.calls;
    messages += o.messages;
    return *this;
}

bool filled(const removed& r, std::int64_t batch) noexcept
{
    return r.events >= batch || r.delivered >= batch || r.dead >= batch || r.calls >= batch || r.messages >= batch;
}

std::optional<std::chrono::milliseconds> parse_days(std::string_view text) noexcept
{
    double days = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), days);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(days) || days < 0
        || days > 36500) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(std::llround(days * 86'400'000.0));
}

} // namespace switchboard::retention
