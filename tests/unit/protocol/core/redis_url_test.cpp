// SWITCHBOARD_STORE URLs: what redis:// forms mean, and the messages for the ones refused.
#include "protocol/core/redis_url.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(redis_url)

BOOST_AUTO_TEST_CASE(forms_redis_clients_accept)
{
    auto e = parse_redis_url("redis://cache.internal");
    BOOST_REQUIRE(e);
    BOOST_TEST(e->host == "cache.internal");
    BOOST_TEST(e->port == 6379);
    BOOST_TEST(e->db == 0);
    BOOST_TEST(e->username.empty());
    BOOST_TEST(e->password.empty());

    e = parse_redis_url("redis://switchboard:s%40cret%2F1@10.0.0.7:6380/3");
    BOOST_REQUIRE(e);
    BOOST_TEST(e->username == "switchboard");
    BOOST_TEST(e->password == "s@cret/1"); // percent-decoded
    BOOST_TEST(e->host == "10.0.0.7");
    BOOST_TEST(e->port == 6380);
    BOOST_TEST(e->db == 3);

    e = parse_redis_url("redis://:only-a-password@redis:6379/0"); // the default user
    BOOST_REQUIRE(e);
    BOOST_TEST(e->username.empty());
    BOOST_TEST(e->password == "only-a-password");

    e = parse_redis_url("redis://legacy-password@redis"); // one field: a password, as redis-cli reads it
    BOOST_REQUIRE(e);
    BOOST_TEST(e->username.empty());
    BOOST_TEST(e->password == "legacy-password");
    BOOST_TEST(e->lone_userinfo); // config.cpp: a user name when the password comes from elsewhere

    e = parse_redis_url("redis://[::1]:7000/");
    BOOST_REQUIRE(e);
    BOOST_TEST(e->host == "::1");
    BOOST_TEST(e->port == 7000);
}

BOOST_AUTO_TEST_CASE(refused_with_a_reason)
{
    const std::pair<const char*, const char*> cases[] = {
        {"rediss://redis:6380", "rediss:// (TLS) is not supported"},
        {"http://redis:6379", "the scheme must be redis://"},
        {"redis://", "names no host"},
        {"redis://redis:0", "port must be 1-65535"},
        {"redis://redis:65536", "port must be 1-65535"},
        {"redis://redis:6379/one", "database number"},
        {"redis://redis:6379/-1", "database number"},
        {"redis://redis:6379/0?timeout=1", "query and fragment"},
        {"not a url", "not a URL"},
    };
    for (const auto& [url, why] : cases) {
        std::string problem;
        BOOST_TEST(!parse_redis_url(url, &problem), url);
        BOOST_TEST(problem.find(why) != std::string::npos, url << ": " << problem);
    }
}

BOOST_AUTO_TEST_CASE(redacted_never_shows_the_password)
{
    auto e = parse_redis_url("redis://switchboard:hunter2@redis:6379/2");
    BOOST_REQUIRE(e);
    BOOST_TEST(redacted(*e) == "redis://switchboard:***@redis:6379/2");
    e = parse_redis_url("redis://[::1]");
    BOOST_REQUIRE(e);
    BOOST_TEST(redacted(*e) == "redis://[::1]:6379/0");
}

BOOST_AUTO_TEST_CASE(info_fields)
{
    const std::string_view info = "# Memory\r\nused_memory:1024\r\nused_memory_human:1.00K\r\nmaxmemory:0\r\n";
    BOOST_TEST(redis_info_field(info, "used_memory") == "1024");
    BOOST_TEST(redis_info_field(info, "used_memory_human") == "1.00K");
    BOOST_TEST(redis_info_field(info, "maxmemory") == "0");
    BOOST_TEST(redis_info_field(info, "memory").empty(), "a name inside another is not a field");
    BOOST_TEST(redis_info_field(info, "maxmemory_policy").empty());
    BOOST_TEST(redis_info_field("aof_enabled:1", "aof_enabled") == "1");
}

BOOST_AUTO_TEST_SUITE_END()
