// Retention, continuously: every `interval` (SWITCHBOARD_RETENTION_INTERVAL_SECONDS) a run
// computes the cutoffs from the policy (protocol/events/retention.hpp) and the clock, and asks
// the store for passes of at most `batch` rows of each kind until one comes back short, pausing
// between passes so the webhooks' appends keep the store. Counted in
// switchboard_retention_removed_total{kind}; a failed pass ends the run (counted, logged at
// warn) and the next interval tries again.
#pragma once

#include "protocol/events/retention.hpp"
#include "service/http/net.hpp"

#include <chrono>
#include <cstddef>

namespace switchboard {

class metrics;
class store_health;

struct retention_schedule {
    retention::policy policy;
    std::chrono::milliseconds interval{60'000};
    std::size_t batch = 500;
    std::chrono::milliseconds pause{20}; // between passes of one run
};

// Runs until the io_context stops; does nothing when the policy keeps everything.
void start_retention(connection_executor ex, store_health& health, metrics& stats, retention_schedule schedule);

} // namespace switchboard
