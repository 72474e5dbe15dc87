// The store as the configuration names it, for the service and for the `switchboard store`
// commands that work on it from the command line (check, prune).
#pragma once

#include "service/app/config.hpp"
#include "service/store/event_store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace switchboard {

class redis_store;
class sqlite_store;

struct configured_store {
    std::unique_ptr<event_store> store;
    sqlite_store* sqlite = nullptr; // the same object, when the store is SQLite
    redis_store* redis = nullptr; // the same object, when it is Redis (not started)
};

// Opens the configured store (SQLite: creates and migrates it; throws std::runtime_error with
// an operator-readable message).
configured_store open_configured_store(const config& c);

// `switchboard store …`: args after "store".
int store_command(const std::vector<std::string>& args);

} // namespace switchboard
