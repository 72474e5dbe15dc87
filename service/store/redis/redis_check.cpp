// hiredis' blocking API: a one-shot command-line check needs no event loop.
#include "service/store/redis/redis_check.hpp"

#include <hiredis/hiredis.h>

#include <memory>

namespace switchboard {
namespace {

struct context_deleter {
    void operator()(redisContext* c) const { redisFree(c); }
};
struct reply_deleter {
    void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

reply_ptr run(redisContext* c, const std::vector<std::string>& args)
{
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const auto& a : args) {
        argv.push_back(a.data());
        lengths.push_back(a.size());
    }
    return reply_ptr(
        static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lengths.data())));
}

} // namespace

int check_redis_store(const redis_endpoint& e, const std::string& prefix, const std::vector<std::string>& subscribers,
    std::ostream& out, std::ostream& err)
{
    const timeval timeout{5, 0};
    std::unique_ptr<redisContext, context_deleter> c(redisConnectWithTimeout(e.host.c_str(), e.port, timeout));
    if (!c || c->err != 0) {
        err << "store check: cannot connect to Redis at " << e.host << ":" << e.port << ": "
            << (c ? c->errstr : "out of memory") << "\n";
        return 2;
    }
    redisSetTimeout(c.get(), timeout);
    const auto refused = [&](const reply_ptr& r, const char* what) {
        if (!r) {
            err << "store check: " << what << ": " << c->errstr << "\n";
            return true;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            err << "store check: " << what << ": " << std::string(r->str, r->len) << "\n";
            return true;
        }
        return false;
    };
    if (!e.password.empty()) {
        auto r
            = e.username.empty() ? run(c.get(), {"AUTH", e.password}) : run(c.get(), {"AUTH", e.username, e.password});
        if (refused(r, "AUTH")) {
            return 2;
        }
    }
    if (refused(run(c.get(), {"SELECT", std::to_string(e.db)}), "SELECT")) {
        return 2;
    }
    const auto info_of = [&](const char* section) {
        auto r = run(c.get(), {"INFO", section});
        return r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len) : std::string();
    };
    const auto integer = [&](const std::vector<std::string>& args) -> long long {
        auto r = run(c.get(), args);
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
