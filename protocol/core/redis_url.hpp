// SWITCHBOARD_STORE=redis://[[user]:password@]host[:port][/db]: where the shared store lives.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace switchboard {

struct redis_endpoint {
    std::string host;
    std::uint16_t port = 6379;
    std::string username; // ACL user; empty: the default user
    std::string password; // empty: no AUTH
    int db = 0; // SELECT index
    // redis://name@host: one field before '@'. Alone it is the default user's password (as
    // redis-cli reads it); with the password given separately it is the ACL user's name.
    bool lone_userinfo = false;

    bool operator==(const redis_endpoint&) const = default;
};

// Errors: invalid_config, with `problem` (when given) naming what is wrong. A rediss:// URL is
// refused: the Redis client library of Debian 12 (hiredis 0.14) has no TLS.
boost::system::result<redis_endpoint> parse_redis_url(std::string_view url, std::string* problem = nullptr);

// The URL without its password, for logs.
std::string redacted(const redis_endpoint& e);

// The value of one "name:value" line of an INFO reply ("used_memory" of INFO memory); empty
// when the reply has no such line.
std::string_view redis_info_field(std::string_view info, std::string_view name) noexcept;

} // namespace switchboard
