// A pipelined Redis connection: Asio owns the socket (on its own thread), hiredis formats the
// commands and parses the replies (RESP2). Commands from any thread are written in order and
// their callbacks run in order, on the client's thread. The client reconnects by itself (with
// backoff) and re-authenticates; while it is down, commands fail at once with
// error::store_unavailable, so callers answer 503 instead of queueing without bound.
#pragma once

#include "protocol/core/redis_url.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace switchboard {

struct redis_reply {
    enum class kind { string, status, error, integer, nil, array };
    kind type = kind::nil;
    std::string str; // string, status, error
    std::int64_t integer = 0;
    std::vector<redis_reply> elements; // array

    bool is_error() const noexcept { return type == kind::error; }
    bool is_nil() const noexcept { return type == kind::nil; }
    // Bulk strings and integers as text; nil as "".
    std::string text() const;
    // Integers, and bulk strings holding one (Lua numbers arrive as integers); `fallback` otherwise.
    std::int64_t number(std::int64_t fallback = 0) const;
};

struct redis_settings {
    redis_endpoint endpoint;
    std::chrono::milliseconds connect_timeout{3'000};
    std::chrono::milliseconds command_timeout{5'000}; // no reply this long: the connection is dropped
};

class redis_client {
public:
    using handler = std::function<void(boost::system::result<redis_reply>)>;

    explicit redis_client(redis_settings settings);
    ~redis_client(); // stop()

    // Lua scripts are loaded (SCRIPT LOAD) on every (re)connection, before commands flow.
    // Register them before start(); the index names the script for eval().
    std::size_t add_script(std::string source);
    // Called on the client's thread when the connection comes up (true) or goes down (false).
    void on_state(std::function<void(bool up, const std::string& why)> observer);

    // Starts the client's thread and the first connection attempt; returns at once.
    void start();
    // Fails what is queued, closes the connection and joins the thread. Idempotent.
    void stop();

    bool connected() const noexcept;

    // Thread-safe. The callback runs exactly once, on the client's thread: the reply (which
    // may be a Redis error reply), or error::store_unavailable when there is no connection or
    // it broke before the reply came.
    void command(const std::vector<std::string>& args, handler done);
    // EVALSHA of a registered script with no KEYS (standalone Redis); EVAL when the server lost
    // its script cache.
    void eval(std::size_t script, std::vector<std::string> args, handler done);

    struct impl;

private:
    std::shared_ptr<impl> impl_;
};

} // namespace switchboard
