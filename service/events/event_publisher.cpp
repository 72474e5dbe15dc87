// Publishing an event from a webhook handler.
#include "service/events/event_publisher.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "service/events/delivery_service.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"

#include <algorithm>

namespace switchboard {

std::string new_event_id(std::int64_t unix_ms)
{
    // Time first (48 bits of milliseconds), then 80 random bits: ids sort by creation time, so
    // the store's id index grows at its end instead of at random pages.
    unsigned char bytes[16];
    for (int i = 0; i < 6; ++i) {
        bytes[i] = static_cast<unsigned char>(static_cast<std::uint64_t>(unix_ms) >> (8 * (5 - i)));
    }
    const std::string random = crypto::random_bytes(10);
    std::copy(random.begin(), random.end(), bytes + 6);
    return "evt_" + crypto::hex_lower(bytes, sizeof bytes);
}

task<boost::system::result<append_result>> event_publisher::publish(request_context& ctx, append_request req)
{
    req.event.occurred_at_ms = unix_ms_now();
    req.event.id = new_event_id(req.event.occurred_at_ms);
    const event_type type = req.event.type;
    auto r = co_await log_.append(std::move(req));
    if (!r) {
        stats_.events_refused.Increment();
        log::line(log::level::error, "event refused: the store could not commit it; answering 503")
            .str("request_id", ctx.request_id)
            .str("type", to_string(type))
            .str("error", r.error().message())
            .emit();
        co_return r;
    }
    ctx.log.event_id = r->event_id;
    if (r->duplicate) {
        stats_.events_duplicate[to_string(type)].Increment();
    } else {
        published_.fetch_add(1, std::memory_order_relaxed);
        stats_.events_published[to_string(type)].Increment();
        if (deliveries_ != nullptr && !r->subscribers.empty()) {
            deliveries_->notify(r->subscribers);
        }
    }
    co_return r;
}

http_response event_publisher::refused()
{
    auto res = json_error(http::status::service_unavailable, "store_unavailable",
        "the event could not be stored durably; it was not accepted (retry later)");
    res.set(http::field::retry_after, "5");
    return res;
}

} // namespace switchboard
