// Twilio's event webhooks: voice status callbacks (/api/voice/status), incoming messages
// (/api/sms/incoming) and message status callbacks (/api/sms/status). Each is parsed, published
// as an event (service/events/event_publisher.hpp) and answered once the event is durable; a
// store that cannot commit answers 503, so Twilio retries.
#pragma once

#include "service/http/router.hpp"

#include <string_view>

namespace switchboard {

class event_publisher;
class metrics;

void add_webhook_routes(router& r, metrics& stats, event_publisher& events);

// Shared with the phone API's webhooks (service/phone/phone_routes.cpp).
// A voice status callback: parsed, published, answered 204.
task<http_response> call_status_webhook(request_context& ctx, metrics& stats, event_publisher& events);
// A message status callback: published, answered 204.
task<http_response> sms_status_webhook(request_context& ctx, event_publisher& events);
// An incoming message: published, answered with TwiML (a <Message> when `reply` is not empty).
task<http_response> sms_incoming_webhook(request_context& ctx, event_publisher& events, std::string_view reply);

} // namespace switchboard
