// A blocking connection to Redis (hiredis' synchronous API) for the one-shot store commands
// (check, import): no event loop, the same AUTH and SELECT as the service's connection.
#pragma once

#include "protocol/core/redis_url.hpp"

#include <hiredis/hiredis.h>

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace switchboard {

class blocking_redis {
public:
    struct reply_deleter {
        void operator()(redisReply* r) const { freeReplyObject(r); }
    };
    using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

    // Connected, authenticated and on the endpoint's database; or nullopt with the reason on
    // `err`, prefixed with `command` ("store check").
    static std::optional<blocking_redis> connect(
        const redis_endpoint& e, const std::string& command, std::ostream& err);

    // One command and its reply (null when the connection failed).
    reply_ptr run(const std::vector<std::string>& args);
    // Pipelining: queue a command; take the replies in order.
    void append(const std::vector<std::string>& args);
    reply_ptr reply();
    // true (and the reason on `err`) when `r` is missing or an error reply.
    bool refused(const reply_ptr& r, const std::string& what, std::ostream& err) const;
    const std::string& command() const { return command_; }

private:
    struct context_deleter {
        void operator()(redisContext* c) const { redisFree(c); }
    };
    blocking_redis(redisContext* c, std::string command) : c_(c), command_(std::move(command)) { }

    std::unique_ptr<redisContext, context_deleter> c_;
    std::string command_;
};

} // namespace switchboard
