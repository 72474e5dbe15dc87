// The capacity gauges: every `period` (SWITCHBOARD_STORE_PROBE_SECONDS) the store is probed with a write and measured
// (store_health::capacity), and switchboard_store_writable, _size_bytes, _capacity_bytes,
// _free_bytes and _rows{kind} are set. A store that cannot answer leaves the sizes as they were
// and reports not writable.
#pragma once

#include "service/http/net.hpp"

#include <chrono>

namespace switchboard {

class metrics;
class store_health;

// Runs until the io_context stops.
void start_store_monitor(
    connection_executor ex, store_health& health, metrics& stats, std::chrono::milliseconds period);

} // namespace switchboard
