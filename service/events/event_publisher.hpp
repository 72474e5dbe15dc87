// The one way a webhook handler publishes an event: stamp it (id, time), append it to the
// store (the handler's coroutine waits for the group commit), count it, wake the deliverers.
#pragma once

#include "service/http/http_context.hpp"
#include "service/store/awaitable_store.hpp"

#include <atomic>

namespace switchboard {

class delivery_service;
class metrics;

class event_publisher {
public:
    event_publisher(event_log& log, metrics& stats) : log_(log), stats_(stats) { }

    // Set once at start-up, before traffic.
    void deliver_with(delivery_service* deliveries) { deliveries_ = deliveries; }

    // The append's outcome: error store_unavailable when it was not committed (the caller
    // answers 503 so Twilio retries). Logs the event id on the request's log line.
    task<boost::system::result<append_result>> publish(request_context& ctx, append_request req);

    // A 503 for an event that could not be stored.
    static http_response refused();

    std::int64_t published() const noexcept { return published_.load(std::memory_order_relaxed); }

private:
    event_log& log_;
    metrics& stats_;
    delivery_service* deliveries_ = nullptr;
    std::atomic<std::int64_t> published_{0};
};

// "evt_" + 32 lowercase hex digits: 12 of the time in milliseconds, 20 from the DRBG.
std::string new_event_id(std::int64_t unix_ms);

} // namespace switchboard
