// hiredis' blocking API: a one-shot command-line check needs no event loop.
#include "service/store/redis/redis_check.hpp"

#include "service/store/redis/redis_blocking.hpp"

namespace switchboard {

int check_redis_store(const redis_endpoint& e, const std::string& prefix, const std::vector<std::string>& subscribers,
    std::ostream& out, std::ostream& err)
{
    auto c = blocking_redis::connect(e, "store check", err);
    if (!c) {
        return 2;
    }
    const auto info_of = [&](const char* section) {
        auto r = c->run({"INFO", section});
        return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string();
    };
    const auto integer = [&](const std::vector<std::string>& args) -> long long {
        auto r = c->run(args);
        return r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
    };
    const std::string persistence = info_of("persistence");
    const std::string memory = info_of("memory");
    const std::string server = info_of("server");
    out << "store: redis " << e.host << ":" << e.port << "/" << e.db << " prefix " << prefix << "\n";
    out << "redis version: " << redis_info_field(server, "redis_version") << "\n";
    const bool aof = redis_info_field(persistence, "aof_enabled") == "1";
    const std::string_view last_save = redis_info_field(persistence, "rdb_last_save_time");
    out << "persistence: appendonly " << (aof ? "yes" : "no") << ", last RDB save at " << last_save
        << " (Unix time), changes since " << redis_info_field(persistence, "rdb_changes_since_last_save") << "\n";
    out << "memory: used " << redis_info_field(memory, "used_memory") << " bytes, maxmemory "
        << redis_info_field(memory, "maxmemory") << ", policy " << redis_info_field(memory, "maxmemory_policy") << "\n";
    out << "events: " << integer({"HLEN", prefix + "evid"}) << "\n";
    for (const auto& s : subscribers) {
        out << "deliveries of " << s << ": live " << integer({"ZCARD", prefix + "live:" + s}) << ", dead "
            << integer({"ZCARD", prefix + "dead:" + s}) << ", delivered "
            << integer({"ZCARD", prefix + "delivered:" + s}) << "\n";
    }
    out << "calls: " << integer({"ZCARD", prefix + "calls"}) << "\n";
    out << "messages: " << integer({"ZCARD", prefix + "msgs"}) << "\n";
    out << "numbers: " << integer({"HLEN", prefix + "numbers"}) << "\n";
    if (!aof && last_save.empty()) {
        err << "store check: Redis has no persistence: a restart loses the queue\n";
        return 1;
    }
    if (!aof) {
        err << "store check: appendonly is off: a Redis crash loses what was acknowledged since the last RDB save\n";
        return 1;
    }
    return 0;
}

} // namespace switchboard
