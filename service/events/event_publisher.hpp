// The one way a webhook handler publishes an event: stamp it (id, time), append it to the
// store (the handler's coroutine waits for the group commit), count it, wake the deliverers.
//
// Callers first: Twilio does not retry a <Gather> action, a recording callback or a <Connect>
// action; it plays "an application error has occurred" to the caller. Those routes publish
// with publish_for_caller(): when the store refuses the event (disk full, Redis unreachable or
// at maxmemory) it is kept in a bounded in-memory spill and stored, oldest first, as soon as
// the store takes writes again; the caller hears the menu either way. Status callbacks and SMS
// webhooks use publish() and answer 503: Twilio retries those.
//
// Retries answered from memory: the de-duplication keys this process stored (or found stored)
// in the last two minutes are kept with their event id, so a webhook Twilio sends again (a
// timeout, a connection override's retry, a caller's repeated key on a slow line) is answered as
// the duplicate it is without a round trip to the store. Only a key the store acknowledged is
// kept: a key not yet stored, refused or spilled still goes to the store, which stays the one
// authority (another replica's keys are found there).
#pragma once

#include "protocol/core/recent_map.hpp"
#include "service/http/http_context.hpp"
#include "service/store/awaitable_store.hpp"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>

#include <boost/asio/steady_timer.hpp>

namespace switchboard {

class delivery_service;
class metrics;

// How much the spill holds (SWITCHBOARD_SPILL_EVENTS; 0: no spill, caller routes answer 503 too).
struct spill_limits {
    std::size_t events = 10'000;
    std::size_t bytes = 32 * 1024 * 1024; // the events' text, estimated
};

class event_publisher {
public:
    event_publisher(event_log& log, metrics& stats, spill_limits limits = {});

    // Set once at start-up, before traffic.
    void deliver_with(delivery_service* deliveries) { deliveries_ = deliveries; }

    // The append's outcome: error store_unavailable when it was not committed (the caller
    // answers 503 so Twilio retries). Logs the event id on the request's log line.
    task<boost::system::result<append_result>> publish(request_context& ctx, append_request req);

    // For the caller-facing routes: publish(), but an event the store refuses is spilled (or,
    // with the spill full, dropped: counted and logged at error) instead of refused.
    enum class caller_outcome { stored, duplicate, spilled, dropped, refused };
    task<caller_outcome> publish_for_caller(request_context& ctx, append_request req);

    // An operational event (subscriber.disabled, subscriber.recovered, delivery.dead_lettered),
    // published by the service itself: stored like a webhook's event, retried while the store
    // refuses it (for up to a minute; then it is logged at error as not stored). Logged.
    task<void> publish_operational(operational_event op);

    // The spill's drainer: every `idle` it stores what is spilled, oldest first, until the store
    // refuses again (then it waits `backoff`). Runs until finish_spill().
    void start_spill(connection_executor ex, std::chrono::milliseconds idle = std::chrono::milliseconds(200),
        std::chrono::milliseconds backoff = std::chrono::milliseconds(1000));
    // At shutdown, after the last request: one more try to store the spill; what the store does
    // not take by `deadline` is dropped (counted, logged at error, one line per event).
    task<void> finish_spill(std::chrono::steady_clock::time_point deadline);
    std::size_t spilled() const;

    // A 503 for an event that could not be stored.
    static http_response refused();

    std::int64_t published() const noexcept { return published_.load(std::memory_order_relaxed); }

    // How many recently stored keys are kept, and for how long.
    static constexpr std::size_t stored_keys_kept = 8192;
    static constexpr std::chrono::minutes stored_keys_age{2};

private:
    struct spilled_event {
        append_request req;
        std::size_t bytes = 0;
        std::string request_id;
    };

    static void stamp(append_request& req); // its id and time
    // The duplicate's answer when this process stored the request's key recently.
    std::optional<append_result> stored_recently(const append_request& req);
    void count_refused(const request_context& ctx, event_type type, boost::system::error_code ec);
    task<boost::system::result<append_result>> append(append_request req);
    void counted(const append_result& r, event_type type);
    task<void> drain_spill(std::chrono::milliseconds idle, std::chrono::milliseconds backoff);
    // Stores spilled events while the store takes them: false when it refused one.
    task<bool> store_spill();
    void drop(const spilled_event& e, std::string_view reason);

    event_log& log_;
    metrics& stats_;
    delivery_service* deliveries_ = nullptr;
    std::atomic<std::int64_t> published_{0};

    std::mutex stored_mutex_; // handlers on any thread
    recent_map<std::string> stored_keys_{stored_keys_kept, stored_keys_age}; // key -> event id

    spill_limits limits_;
    mutable std::mutex spill_mutex_; // handlers on any thread push; the drainer pops
    std::deque<spilled_event> spill_;
    std::size_t spill_bytes_ = 0;
    bool spill_closed_ = false; // after finish_spill: new events are dropped
    // The drainer and finish_spill() run on the control strand: these are theirs. The timer
    // lives in the drainer's frame (an Asio object must not outlive its io_context, which this
    // publisher does); this points at it while the drainer waits.
    net::steady_timer* drain_timer_ = nullptr;
    bool drainer_running_ = false;
    bool drainer_stop_ = false;
};

// "evt_" + 32 lowercase hex digits: 12 of the time in milliseconds, 20 from the DRBG.
std::string new_event_id(std::int64_t unix_ms);

} // namespace switchboard
