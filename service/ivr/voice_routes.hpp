// The IVR's voice webhooks: incoming call, menu choice, dial, recording and assistant results
// (the IVR of the live menu definition), and /api/voice/health. Menu choices, voicemails and
// assistant hand-offs are published as events: answered only once the event is durable.
#pragma once

#include "service/http/router.hpp"

#include <chrono>

namespace switchboard {

class event_publisher;
class call_log;
class menu_catalog;
class rate_limiter;
class shared_rate_limiter;
class twilio_client;

// What the IVR's sms action may send: once per call and action (Twilio retries and replays of
// the request send nothing more), and a budget per destination number (SMS pumping). Shared by
// the replicas on Redis (the local buckets while it is away).
struct ivr_sms_limits {
    rate_limiter* once = nullptr; // null: no limits
    rate_limiter* per_destination = nullptr; // null: no per-number budget
    shared_rate_limiter* shared_once = nullptr;
    shared_rate_limiter* shared_per_destination = nullptr;
};

struct voice_deps {
    const config& cfg;
    metrics& stats;
    event_publisher& events;
    call_log& calls;
    const menu_catalog& menus;
    twilio_client* twilio; // null: the sms action cannot send (the caller hears its `failed` words)
    std::chrono::steady_clock::time_point started;
    ivr_sms_limits sms_limits = {};
};

void add_voice_routes(router& r, voice_deps deps);

// Shared with the phone API's webhooks (service/phone/phone_routes.cpp).
// An incoming call: the start of the IVR line chosen by the called number.
task<http_response> ivr_incoming_call(request_context& ctx, voice_deps deps);

} // namespace switchboard
