// The Redis store's Lua scripts (service/store/redis/redis_scripts.cpp documents the keys they use).
#pragma once

namespace switchboard::redis_scripts {

extern const char* const read;
extern const char* const write;
extern const char* const claim;
extern const char* const complete;
extern const char* const list;
extern const char* const replay;
extern const char* const stats;
extern const char* const calls;
extern const char* const call;
extern const char* const totals;
extern const char* const number;
extern const char* const swap;
extern const char* const capacity;
extern const char* const retain; // in redis_retention.cpp
extern const char* const rate_limit;
// in redis_subscribers.cpp
extern const char* const subscribers;
extern const char* const put_subscriber;
extern const char* const remove_subscriber;
extern const char* const purge_subscriber;

} // namespace switchboard::redis_scripts
