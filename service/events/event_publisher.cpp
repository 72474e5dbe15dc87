// Publishing an event from a webhook handler.
#include "service/events/event_publisher.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "service/events/delivery_service.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

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

event_publisher::event_publisher(event_log& log, metrics& stats, spill_limits limits)
    : log_(log), stats_(stats), limits_(limits)
{
}

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});

// What a spilled event holds in memory, roughly: its text and the deque's node.
std::size_t estimated_bytes(const append_request& r)
{
    const call_event& e = r.event;
    std::size_t n = sizeof(append_request) + r.dedupe_key.size();
    for (const std::string* s : {&e.id, &e.call_sid, &e.message_sid, &e.account_sid, &e.from, &e.to, &e.direction,
             &e.status, &e.previous_status, &e.current_status, &e.digits, &e.speech, &e.menu, &e.choice,
             &e.recording_url, &e.recording_sid, &e.body, &e.error_code, &e.assistant, &e.session_id}) {
        n += s->size();
    }
    return n + e.session_status.size() + e.handoff_data.size() + e.error_message.size();
}

} // namespace

task<boost::system::result<append_result>> event_publisher::append(append_request req)
{
    const event_type type = req.event.type;
    std::string key = req.dedupe_key; // the store takes req
    auto r = co_await log_.append(std::move(req));
    if (r) {
        if (!key.empty()) {
            const std::lock_guard lock(stored_mutex_);
            stored_keys_.put(key, r->event_id, std::chrono::steady_clock::now());
        }
        counted(*r, type);
    }
    co_return r;
}

std::optional<append_result> event_publisher::stored_recently(const append_request& req)
{
    if (req.dedupe_key.empty()) {
        return std::nullopt;
    }
    append_result r;
    {
        const std::lock_guard lock(stored_mutex_);
        const std::string* id = stored_keys_.find(req.dedupe_key, std::chrono::steady_clock::now());
        if (id == nullptr) {
            return std::nullopt;
        }
        r.event_id = *id;
    }
    r.duplicate = true;
    counted(r, req.event.type);
    return r;
}

void event_publisher::counted(const append_result& r, event_type type)
{
    if (r.duplicate) {
        stats_.events_duplicate[to_string(type)].Increment();
        return;
    }
    published_.fetch_add(1, std::memory_order_relaxed);
    stats_.events_published[to_string(type)].Increment();
    if (deliveries_ != nullptr && !r.subscribers.empty()) {
        deliveries_->notify(r.subscribers);
    }
}

void event_publisher::stamp(append_request& req)
{
    req.event.occurred_at_ms = unix_ms_now();
    req.event.id = new_event_id(req.event.occurred_at_ms);
}

void event_publisher::count_refused(const request_context& ctx, event_type type, boost::system::error_code ec)
{
    stats_.events_refused.Increment();
    log::line(log::level::error, "event refused: the store could not commit it; answering 503")
        .str("request_id", ctx.request_id)
        .str("type", to_string(type))
        .str("error", ec.message())
        .emit();
}

task<boost::system::result<append_result>> event_publisher::publish(request_context& ctx, append_request req)
{
    if (auto known = stored_recently(req)) {
        ctx.log.event_id = known->event_id;
        co_return *known;
    }
    stamp(req);
    const event_type type = req.event.type;
    auto r = co_await append(std::move(req));
    if (!r) {
        count_refused(ctx, type, r.error());
        co_return r;
    }
    ctx.log.event_id = r->event_id;
    co_return r;
}

task<void> event_publisher::publish_operational(operational_event op)
{
    append_request req{std::move(op.event), std::move(op.dedupe_key)};
    stamp(req);
    const std::string type(to_string(req.event.type));
    const std::string subscriber = req.event.subscriber;
    auto ex = co_await net::this_coro::executor;
    for (int tries = 0; tries < 12; ++tries) {
        auto r = co_await append(req);
        if (r) {
            log::line(log::level::info, "operational event published")
                .str("type", type)
                .str("subscriber", subscriber)
                .str("event_id", r->event_id)
                .emit();
            co_return;
        }
        net::steady_timer pause(ex, std::chrono::seconds(5));
        co_await pause.async_wait(net::as_tuple(net::use_awaitable_t<connection_executor>{}));
    }
    log::line(log::level::error, "operational event not stored: the store refused it for a minute")
        .str("type", type)
        .str("subscriber", subscriber)
        .emit();
}

task<event_publisher::caller_outcome> event_publisher::publish_for_caller(request_context& ctx, append_request req)
{
    if (auto known = stored_recently(req)) {
        ctx.log.event_id = known->event_id;
        co_return caller_outcome::duplicate;
    }
    stamp(req);
    const event_type type = req.event.type;
    append_request kept = req; // what the spill takes if the store refuses (the store moves req)
    auto r = co_await append(std::move(req));
    if (r) {
        ctx.log.event_id = r->event_id;
        co_return r->duplicate ? caller_outcome::duplicate : caller_outcome::stored;
    }
    if (r.error() != error::store_unavailable || limits_.events == 0) {
        count_refused(ctx, type, r.error());
        co_return caller_outcome::refused;
    }
    ctx.log.event_id = kept.event.id;
    spilled_event e{std::move(kept), 0, ctx.request_id};
    e.bytes = estimated_bytes(e.req);
    std::size_t depth = 0;
    bool taken = false;
    bool closed = false;
    {
        std::lock_guard lock(spill_mutex_);
        closed = spill_closed_;
        if (!closed && spill_.size() < limits_.events && spill_bytes_ + e.bytes <= limits_.bytes) {
            spill_bytes_ += e.bytes;
            spill_.push_back(std::move(e));
            taken = true;
        }
        depth = spill_.size();
    }
    if (!taken) {
        drop(e, closed ? "shutdown" : "spill_full");
        co_return caller_outcome::dropped;
    }
    stats_.events_spilled.Increment();
    stats_.events_spill_depth.Set(static_cast<double>(depth));
    log::line(log::level::warn,
        "event spilled: the store refused it; the caller hears the answer and the event is "
        "stored when the store takes writes again")
        .str("request_id", ctx.request_id)
        .str("event_id", ctx.log.event_id)
        .str("type", to_string(type))
        .str("error", r.error().message())
        .num("spilled", static_cast<std::int64_t>(depth))
        .emit();
    co_return caller_outcome::spilled;
}

void event_publisher::drop(const spilled_event& e, std::string_view reason)
{
    stats_.events_dropped[reason].Increment();
    // Enough to find the call and what the caller chose; no phone numbers (they stay out of logs).
    log::line(log::level::error, "caller event lost: it could not be stored")
        .str("reason", reason)
        .str("request_id", e.request_id)
        .str("event_id", e.req.event.id)
        .str("type", to_string(e.req.event.type))
        .str("occurred_at", format_timestamp(e.req.event.occurred_at_ms))
        .str("call_sid", e.req.event.call_sid)
        .str("menu", e.req.event.menu)
        .str("choice", e.req.event.choice)
        .str("digits", e.req.event.digits)
        .str("recording_sid", e.req.event.recording_sid)
        .str("dedupe_key", e.req.dedupe_key)
        .emit();
}

std::size_t event_publisher::spilled() const
{
    std::lock_guard lock(spill_mutex_);
    return spill_.size();
}

void event_publisher::start_spill(
    connection_executor ex, std::chrono::milliseconds idle, std::chrono::milliseconds backoff)
{
    if (limits_.events == 0) {
        return;
    }
    drainer_running_ = true;
    net::co_spawn(ex, drain_spill(idle, backoff), log::on_failure("the event spill's drainer stopped"));
}

task<bool> event_publisher::store_spill()
{
    std::int64_t stored = 0;
    bool ok = true;
    for (;;) {
        append_request req;
        {
            std::lock_guard lock(spill_mutex_);
            if (spill_.empty()) {
                break;
            }
            req = spill_.front().req; // stays spilled until the store has it
        }
        auto r = co_await append(std::move(req));
        if (!r) {
            ok = false;
            break;
        }
        std::size_t depth = 0;
        {
            std::lock_guard lock(spill_mutex_);
            spill_bytes_ -= spill_.front().bytes;
            spill_.pop_front();
            depth = spill_.size();
        }
        stats_.events_spill_depth.Set(static_cast<double>(depth));
        ++stored;
    }
    if (stored > 0) {
        log::line(log::level::info, "spilled events stored")
            .num("stored", stored)
            .num("still_spilled", static_cast<std::int64_t>(spilled()))
            .emit();
    }
    co_return ok;
}

task<void> event_publisher::drain_spill(std::chrono::milliseconds idle, std::chrono::milliseconds backoff)
{
    net::steady_timer timer(co_await net::this_coro::executor);
    bool refused_last = false;
    while (!drainer_stop_) {
        timer.expires_after(refused_last ? backoff : idle);
        drain_timer_ = &timer;
        co_await timer.async_wait(use_tuple); // cancelled by finish_spill
        drain_timer_ = nullptr;
        if (drainer_stop_) {
            break;
        }
        refused_last = false;
        if (spilled() > 0) {
            const bool all_stored = co_await store_spill();
            refused_last = !all_stored;
        }
    }
    drainer_running_ = false;
}

task<void> event_publisher::finish_spill(std::chrono::steady_clock::time_point deadline)
{
    if (!drainer_running_) {
        co_return;
    }
    drainer_stop_ = true;
    if (drain_timer_ != nullptr) {
        drain_timer_->cancel();
    }
    net::steady_timer tick(co_await net::this_coro::executor);
    while (drainer_running_) { // it finishes the append it is in, if any
        tick.expires_after(std::chrono::milliseconds(10));
        co_await tick.async_wait(use_tuple);
    }
    // New requests are over: store what the store takes until the deadline, drop the rest.
    for (;;) {
        if (spilled() == 0) {
            break;
        }
        const bool all_stored = co_await store_spill(); // (no co_await inside || — GCC 12)
        if (all_stored || std::chrono::steady_clock::now() >= deadline) {
            break;
        }
        tick.expires_after(std::chrono::milliseconds(250));
        co_await tick.async_wait(use_tuple);
    }
    std::deque<spilled_event> lost;
    {
        std::lock_guard lock(spill_mutex_);
        spill_closed_ = true;
        lost.swap(spill_);
        spill_bytes_ = 0;
    }
    for (const auto& e : lost) {
        drop(e, "shutdown");
    }
    stats_.events_spill_depth.Set(0);
}

http_response event_publisher::refused()
{
    auto res = json_error(http::status::service_unavailable, "store_unavailable",
        "the event could not be stored durably; it was not accepted (retry later)");
    res.set(http::field::retry_after, "5");
    return res;
}

} // namespace switchboard
