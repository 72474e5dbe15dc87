#include "service/ops/retention_job.hpp"

#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"
#include "service/store/awaitable_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace switchboard {

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});

void count(metrics& stats, const retention::removed& r)
{
    stats.retention_removed["events"].Increment(static_cast<double>(r.events));
    stats.retention_removed["delivered"].Increment(static_cast<double>(r.delivered));
    stats.retention_removed["dead"].Increment(static_cast<double>(r.dead));
    stats.retention_removed["calls"].Increment(static_cast<double>(r.calls));
    stats.retention_removed["messages"].Increment(static_cast<double>(r.messages));
}

// Parameters, not lambda captures: the coroutine frame owns them.
task<void> run_retention(connection_executor ex, store_health& health, metrics& stats, retention_schedule schedule)
{
    net::steady_timer tick(ex);
    for (;;) {
        const auto started = std::chrono::steady_clock::now();
        const retention::cutoffs cut = retention::cutoffs_at(schedule.policy, unix_ms_now());
        retention::removed run;
        int passes = 0;
        bool finished = false;
        for (;;) {
            auto pass = co_await health.retain(cut, schedule.batch);
            ++passes;
            if (!pass) {
                stats.retention_failures.Increment();
                log::line(log::level::warn, "retention pass failed: trying again at the next interval")
                    .str("error", pass.error().message())
                    .emit();
                break;
            }
            count(stats, pass->rows);
            run += pass->rows;
            if (!pass->more) {
                finished = true;
                break;
            }
            tick.expires_after(schedule.pause);
            if (auto [ec] = co_await tick.async_wait(use_tuple); ec) {
                co_return;
            }
        }
        if (finished) {
            stats.retention_last_run.Set(static_cast<double>(unix_ms_now()) / 1000.0);
        }
        if (run.total() > 0) {
            log::line(log::level::info, "retention removed old records")
                .num("events", run.events)
                .num("delivered", run.delivered)
                .num("dead", run.dead)
                .num("calls", run.calls)
                .num("messages", run.messages)
                .num("passes", passes)
                .real("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count())
                .emit();
        }
        tick.expires_after(schedule.interval);
        if (auto [ec] = co_await tick.async_wait(use_tuple); ec) {
            co_return;
        }
    }
}

} // namespace

void start_retention(connection_executor ex, store_health& health, metrics& stats, retention_schedule schedule)
{
    if (schedule.policy.delivered.count() <= 0 && schedule.policy.dead.count() <= 0
        && schedule.policy.log.count() <= 0) {
        return;
    }
    net::co_spawn(ex, run_retention(ex, health, stats, schedule), log::on_failure("retention stopped"));
}

} // namespace switchboard
