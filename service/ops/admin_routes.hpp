// The admin listener's routes: /metrics, /healthz (liveness), /readyz (readiness), and the
// delivery queue API under /admin/subscribers (list, dead letters, replay), and
// POST /admin/store/backup (a consistent copy of the SQLite store while it runs).
#pragma once

#include "service/app/config.hpp"
#include "service/http/router.hpp"

#include <atomic>

namespace switchboard {

class delivery_service;
class delivery_queue;
class store_health;

struct admin_deps {
    metrics& stats;
    const std::atomic<bool>& ready;
    delivery_queue& queue;
    delivery_service& deliveries;
    const std::vector<subscriber_config>& subscribers;
    store_health& health;
    std::string backup_dir; // where POST /admin/store/backup writes; empty: the store is Redis
};

void add_admin_routes(router& r, admin_deps deps);

} // namespace switchboard
