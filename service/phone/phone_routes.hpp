// The operator phone API under /api/phone: bearer-token (JWT) routes that place calls, send
// SMS, buy numbers and read the call log through Twilio's REST API and the event store, and
// the Samsaek line's Twilio webhooks (signed like every other webhook).
#pragma once

#include "service/http/router.hpp"
#include "service/ivr/voice_routes.hpp"

#include <chrono>

namespace switchboard {

class event_publisher;
class call_log;
class idempotency_keys;
class twilio_client;

struct phone_deps {
    const config& cfg;
    metrics& stats;
    call_log& calls;
    idempotency_keys& keys;
    event_publisher& events;
    twilio_client* twilio; // null: TWILIO_ACCOUNT_SID not set (REST endpoints answer 503)
    std::size_t token_keys; // configured JWT keys, for /health
    voice_deps voice; // the IVR, for /webhook/call without a greeting
};

void add_phone_routes(router& r, phone_deps deps);

} // namespace switchboard
