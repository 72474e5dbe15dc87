#include "service/store/redis/redis_blocking.hpp"

namespace switchboard {
namespace {

struct argv {
    explicit argv(const std::vector<std::string>& args)
    {
        for (const auto& a : args) {
            text.push_back(a.data());
            lengths.push_back(a.size());
        }
    }
    std::vector<const char*> text;
    std::vector<std::size_t> lengths;
};

} // namespace

std::optional<blocking_redis> blocking_redis::connect(
    const redis_endpoint& e, const std::string& command, std::ostream& err)
{
    const timeval timeout{5, 0};
    blocking_redis r(redisConnectWithTimeout(e.host.c_str(), e.port, timeout), command);
    if (!r.c_ || r.c_->err != 0) {
        err << command << ": cannot connect to Redis at " << e.host << ":" << e.port << ": "
            << (r.c_ ? r.c_->errstr : "out of memory") << "\n";
        return std::nullopt;
    }
    redisSetTimeout(r.c_.get(), timeout);
    if (!e.password.empty()) {
        auto a = e.username.empty() ? r.run({"AUTH", e.password}) : r.run({"AUTH", e.username, e.password});
        if (r.refused(a, "AUTH", err)) {
            return std::nullopt;
        }
    }
    if (r.refused(r.run({"SELECT", std::to_string(e.db)}), "SELECT", err)) {
        return std::nullopt;
    }
    return r;
}

blocking_redis::reply_ptr blocking_redis::run(const std::vector<std::string>& args)
{
    argv a(args);
    return reply_ptr(static_cast<redisReply*>(
        redisCommandArgv(c_.get(), static_cast<int>(a.text.size()), a.text.data(), a.lengths.data())));
}

void blocking_redis::append(const std::vector<std::string>& args)
{
    argv a(args);
    redisAppendCommandArgv(c_.get(), static_cast<int>(a.text.size()), a.text.data(), a.lengths.data());
}

blocking_redis::reply_ptr blocking_redis::reply()
{
    void* r = nullptr;
    if (redisGetReply(c_.get(), &r) != REDIS_OK) {
        return nullptr;
    }
    return reply_ptr(static_cast<redisReply*>(r));
}

bool blocking_redis::refused(const reply_ptr& r, const std::string& what, std::ostream& err) const
{
    if (!r) {
        err << command_ << ": " << what << ": " << c_->errstr << "\n";
        return true;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        err << command_ << ": " << what << ": " << std::string(r->str, r->len) << "\n";
        return true;
    }
    return false;
}

} // namespace switchboard
