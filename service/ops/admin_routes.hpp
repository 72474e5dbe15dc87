// The admin listener's routes: /metrics, /healthz (liveness), /readyz (readiness), the
// subscriber API and the delivery queue under /admin/subscribers (subscriber_routes.cpp: list,
// create, change, pause, resume, secrets, remove; dead letters, replay), the event catalogue
// and POST /admin/store/backup (a consistent copy of the SQLite store while it runs); the
// operator console (console_routes.hpp).
#pragma once

#include "service/app/config.hpp"
#include "service/http/router.hpp"

#include <atomic>

namespace switchboard {

class call_log;
class delivery_queue;
class delivery_service;
class menu_catalog;
class store_health;
class subscriber_registry;

struct admin_deps {
    metrics& stats;
    const std::atomic<bool>& ready;
    delivery_queue& queue;
    delivery_service& deliveries;
    subscriber_registry& registry;
    store_health& health;
    std::string backup_dir; // where POST /admin/store/backup writes; empty: the store is Redis
    call_log& calls; // the console's recent calls
    const menu_catalog& menus; // the console's menu graph
};

void add_admin_routes(router& r, admin_deps deps);
// The subscriber API (subscriber_routes.cpp), added by add_admin_routes.
void add_subscriber_routes(router& r, const admin_deps& deps);

} // namespace switchboard
