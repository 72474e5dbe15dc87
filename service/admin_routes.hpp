// The admin listener's routes: /metrics, /healthz (liveness), /readyz (readiness).
#pragma once

#include "service/router.hpp"

#include <atomic>

namespace switchboard {

void add_admin_routes(router& r, metrics& stats, const std::atomic<bool>& ready);

} // namespace switchboard
