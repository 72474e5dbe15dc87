// The admin listener's routes: /metrics, /healthz (liveness), /readyz (readiness), the
// subscriber API and the delivery queue under /admin/subscribers (subscriber_routes.cpp: list,
// create, change, pause, resume, secrets, remove; dead letters, replay), the event catalogue
// and POST /admin/store/backup (a consistent copy of the SQLite store while it runs).
#pragma once

#include "service/app/config.hpp"
#include "service/http/router.hpp"

#include <atomic>

namespace switchboard {

class delivery_service;
class subscriber_registry;
class delivery_queue;
class store_health;

struct admin_deps {
    metrics& stats;
    const std::atomic<bool>& ready;
    delivery_queue& queue;
    delivery_service& deliveries;
    subscriber_registry& registry;
    store_health& health;
    std::string backup_dir; // where POST /admin/store/backup writes; empty: the store is Redis
};

void add_admin_routes(router& r, admin_deps deps);
// The subscriber API (subscriber_routes.cpp), added by add_admin_routes.
void add_subscriber_routes(router& r, const admin_deps& deps);

} // namespace switchboard
