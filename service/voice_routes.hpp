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

} // namespace switchboard
