// The JobMatch voice webhooks (incoming call, menu choice, status callback, health) and the SMS
// webhooks (incoming message, message status). Status callbacks, menu choices and messages are
// published as events: answered 2xx only once the event is durable.
#pragma once

#include "service/router.hpp"

#include <chrono>

namespace switchboard {

class event_publisher;

struct voice_deps {
    metrics& stats;
    event_publisher& events;
    std::chrono::steady_clock::time_point started;
};

void add_voice_routes(router& r, voice_deps deps);

// Shared with the phone API's webhooks (service/phone_routes.cpp).
// A voice status callback: parsed, published, answered 204.
task<http_response> call_status_webhook(request_context& ctx, metrics& stats, event_publisher& events);
// A message status callback: published, answered 204.
task<http_response> sms_status_webhook(request_context& ctx, event_publisher& events);
// An incoming message: published, answered with TwiML (a <Message> when `reply` is not empty).
task<http_response> sms_incoming_webhook(request_context& ctx, event_publisher& events, std::string_view reply);

} // namespace switchboard
