// `switchboard store check` for the Redis store: connects as the service would (AUTH, SELECT)
// and reports Redis' persistence, memory and the store's records under the key prefix, one fact
// per line. Read-only.
#pragma once

#include "protocol/core/redis_url.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace switchboard {

// 0: reachable, and the store's keys read; 1: reachable but without persistence (appendonly
// no and no RDB saves: a restart of Redis loses the queue); 2: unreachable or refused.
int check_redis_store(const redis_endpoint& endpoint, const std::string& prefix,
    const std::vector<std::string>& subscribers, std::ostream& out, std::ostream& err);

} // namespace switchboard
