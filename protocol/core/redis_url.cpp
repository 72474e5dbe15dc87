// Redis URL parsing (the redis:// scheme as Redis clients define it: IANA provisional
// registration, https://www.iana.org/assignments/uri-schemes/prov/redis).
#include "protocol/core/redis_url.hpp"

#include "protocol/core/error.hpp"

#include <boost/url/parse.hpp>

#include <charconv>

namespace switchboard {

boost::system::result<redis_endpoint> parse_redis_url(std::string_view url, std::string* problem)
{
    const auto fail = [problem](std::string why) -> boost::system::result<redis_endpoint> {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return error::invalid_config;
    };
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed) {
        return fail("not a URL; expected redis://[[user]:password@]host[:port][/db]");
    }
    const auto& u = *parsed;
    if (u.scheme() == "rediss") {
        return fail("rediss:// (TLS) is not supported: the Redis client of Debian 12 (hiredis 0.14) has no TLS; "
                    "reach Redis over a private network or a local TLS tunnel (see the README)");
    }
    if (u.scheme() != "redis") {
        return fail("the scheme must be redis://");
    }
    redis_endpoint e;
    e.host = u.host_address();
    if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') {
        e.host = e.host.substr(1, e.host.size() - 2); // without the brackets
    }
    if (e.host.empty()) {
        return fail("the URL names no host");
    }
    if (u.has_port()) {
        const auto p = u.port();
        unsigned n = 0;
        const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
        if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || n == 0 || n > 65535) {
            return fail("the port must be 1-65535");
        }
        e.port = static_cast<std::uint16_t>(n);
    }
    if (u.has_userinfo()) {
        e.username = u.user();
        e.password = u.password();
        if (!u.has_password() && !e.username.empty()) {
            // redis://secret@host: one field is a password (the default user), as redis-cli reads it.
            e.password = std::move(e.username);
            e.username.clear();
            e.lone_userinfo = true;
        }
    }
    std::string_view path = u.encoded_path();
    if (!path.empty() && path.front() == '/') {
        path.remove_prefix(1);
    }
    if (!path.empty()) {
        int db = 0;
        const auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
        if (ec != std::errc{} || end != path.data() + path.size() || db < 0 || db > 1'000'000) {
            return fail("the path must be a database number, e.g. redis://host:6379/0");
        }
        e.db = db;
    }
    if (u.has_query() || u.has_fragment()) {
        return fail("query and fragment are not used; remove them");
    }
    return e;
}

std::string redacted(const redis_endpoint& e)
{
    std::string out = "redis://";
    if (!e.username.empty() || !e.password.empty()) {
        out += e.username;
        if (!e.password.empty()) {
            out += ":***";
        }
        out += '@';
    }
    out += e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
    out += ':' + std::to_string(e.port) + '/' + std::to_string(e.db);
    return out;
}

std::string_view redis_info_field(std::string_view info, std::string_view name) noexcept
{
    for (std::size_t at = info.find(name); at != std::string_view::npos; at = info.find(name, at + 1)) {
        if ((at == 0 || info[at - 1] == '\n') && info.size() > at + name.size() && info[at + name.size()] == ':') {
            const std::size_t from = at + name.size() + 1;
            return info.substr(from, info.find_first_of("\r\n", from) - from);
        }
    }
    return {};
}

} // namespace switchboard
