#include "service/ops/store_monitor.hpp"

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

// Parameters, not lambda captures: the coroutine frame owns them.
task<void> monitor(connection_executor ex, store_health& health, metrics& stats, std::chrono::milliseconds period)
{
    net::steady_timer tick(ex);
    bool was_writable = true;
    for (;;) {
        auto c = co_await health.capacity(unix_ms_now());
        const bool writable = c && c->writable;
        stats.store_writable.Set(writable ? 1 : 0);
        if (writable != was_writable) {
            log::line(writable ? log::level::info : log::level::error,
                writable ? "the store takes writes again" : "the store's write probe failed")
                .emit();
            was_writable = writable;
        }
        if (c) {
            stats.store_size_bytes.Set(static_cast<double>(c->size_bytes));
            stats.store_capacity_bytes.Set(static_cast<double>(c->capacity_bytes));
            stats.store_free_bytes.Set(static_cast<double>(c->free_bytes));
            stats.store_rows_events.Set(static_cast<double>(c->events));
            stats.store_rows_deliveries.Set(static_cast<double>(c->deliveries));
            stats.store_rows_calls.Set(static_cast<double>(c->calls));
            stats.store_rows_messages.Set(static_cast<double>(c->messages));
        }
        tick.expires_after(period);
        auto [ec] = co_await tick.async_wait(use_tuple);
        if (ec) {
            co_return;
        }
    }
}

} // namespace

void start_store_monitor(connection_executor ex, store_health& health, metrics& stats, std::chrono::milliseconds period)
{
    net::co_spawn(ex, monitor(ex, health, stats, period), log::on_failure("store capacity refresh failed"));
}

} // namespace switchboard
