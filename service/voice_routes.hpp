// The JobMatch voice webhooks: incoming call, menu choice, status callback, health.
#pragma once

#include "service/router.hpp"

#include <chrono>

namespace switchboard {

class call_tracker;

struct voice_deps {
    metrics& stats;
    call_tracker& calls;
    std::chrono::steady_clock::time_point started;
};

void add_voice_routes(router& r, voice_deps deps);

} // namespace switchboard
