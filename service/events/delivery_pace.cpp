// A subscriber's pace (delivery_pace.hpp).
#include "service/events/delivery_pace.hpp"

#include "service/http/rate_limiter.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"
#include "service/store/redis/shared_rate_limiter.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cmath>

namespace switchboard {

delivery_pace::delivery_pace(
    const subscriber_config& cfg, subscriber_metrics& stats, redis_client* redis, const std::string& prefix)
    : cfg_(cfg), stats_(stats), burst_(std::max(1.0, cfg.rate_per_second))
{
    if (cfg.rate_per_second > 0) {
        local_ = std::make_unique<rate_limiter>(burst_, std::chrono::seconds(1));
        if (redis != nullptr) {
            shared_ = std::make_unique<shared_rate_limiter>(*redis, prefix, burst_, std::chrono::seconds(1));
        }
    }
}

delivery_pace::~delivery_pace() = default;

std::size_t delivery_pace::claimable(std::size_t free, std::int64_t now_ms, std::optional<std::int64_t>& next_due) const
{
    if (now_ms < paused_until_ms_) {
        next_due = paused_until_ms_;
        return 0;
    }
    if (local_) {
        free = std::min(free, static_cast<std::size_t>(std::ceil(burst_)));
    }
    return free;
}

task<void> delivery_pace::wait_turn(const connection_executor& strand, const bool& stopping)
{
    constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});
    bool counted = false;
    while (!stopping) {
        // Claimed before the subscriber asked to wait (a 429 to another delivery): wait too.
        if (const std::int64_t now = unix_ms_now(); now < paused_until_ms_) {
            net::steady_timer t(
                strand, std::chrono::milliseconds(std::min<std::int64_t>(paused_until_ms_ - now, 1000)));
            co_await t.async_wait(use_tuple);
            continue;
        }
        if (!local_) {
            co_return;
        }
        std::optional<rate_limiter::grant> g;
        if (shared_ && shared_->available()) {
            auto r = co_await shared_->take_up_to("subscriber:" + cfg_.name, 1);
            if (r) {
                g = *r;
            }
        }
        if (!g) {
            g = local_->take_up_to(cfg_.name, 1, std::chrono::steady_clock::now());
        }
        if (g->granted > 0) {
            co_return;
        }
        if (!counted) {
            stats_.throttled_rate.Increment();
            counted = true;
        }
        net::steady_timer t(strand, std::max(g->wait, std::chrono::milliseconds(1)));
        co_await t.async_wait(use_tuple);
    }
}

void delivery_pace::hold_until(std::int64_t until_ms, std::int64_t now_ms, unsigned status)
{
    if (until_ms <= paused_until_ms_) {
        return;
    }
    if (now_ms >= paused_until_ms_) { // a new pause, not one extended
        stats_.throttled_retry_after.Increment();
        log::line(log::level::warn, "subscriber asked to slow down; its deliveries wait")
            .str("subscriber", cfg_.name)
            .num("status", static_cast<std::int64_t>(status))
            .num("wait_ms", until_ms - now_ms)
            .emit();
    }
    paused_until_ms_ = until_ms;
}

} // namespace switchboard
