// The operator console on the admin listener: one page and its script (service/ops/console/,
// compiled in: nothing is read at run time, nothing comes from a CDN), which ask for the admin
// token and use only the admin API; and the admin reads only the console needs: recent calls
// with their events, and the live menu graph.
#pragma once

#include "service/ops/admin_routes.hpp"

#include <string_view>

namespace switchboard {

namespace console {
extern const std::string_view page; // console.html
extern const std::string_view script; // console.js
} // namespace console

// GET /admin/console, /admin/console.js (static, no token: they hold no data), and with the
// admin token GET /admin/calls, /admin/calls/{sid}, /admin/menus/graph.
void add_console_routes(router& r, const admin_deps& deps);

} // namespace switchboard
