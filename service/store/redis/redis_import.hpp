// `switchboard store import FILE` into the Redis store: a protocol/events/store_export.hpp file
// (from `store export` of the SQLite store) written under the key prefix in the layout of
// redis_scripts.cpp, so a service started on it goes on where the old store stopped: pending
// deliveries (and those in flight when the copy was taken) are delivered, delivered ones are
// not delivered again, dead letters can be replayed, the call log, numbers and totals are
// there. The file is checked whole (every line, the end line's counts) before anything is
// written; the prefix must hold no store yet.
#pragma once

#include "protocol/core/redis_url.hpp"

#include <ostream>
#include <string>

namespace switchboard {

// 0: imported (a summary on `out`); 1: the file is refused (nothing written); 2: Redis cannot
// be used (unreachable, refused, or the prefix holds a store already).
int import_into_redis(const redis_endpoint& endpoint, const std::string& prefix, const std::string& file,
    std::ostream& out, std::ostream& err);

} // namespace switchboard
