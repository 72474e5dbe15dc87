// protocol/auth/forwarded.cpp: trusted-proxy networks, the client address behind them, and rate
// limit budget keys.
#include "protocol/auth/forwarded.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(trusted_proxies)

BOOST_AUTO_TEST_CASE(parse_and_match)
{
    std::string bad;
    const auto nets = forwarded::parse_networks("10.0.0.0/8, 127.0.0.1 ,fd00::/8", &bad);
    BOOST_REQUIRE(nets);
    BOOST_TEST(forwarded::contains(*nets, "10.1.2.3"));
    BOOST_TEST(forwarded::contains(*nets, "127.0.0.1"));
    BOOST_TEST(!forwarded::contains(*nets, "127.0.0.2"));
    BOOST_TEST(forwarded::contains(*nets, "fd12::1"));
    BOOST_TEST(forwarded::contains(*nets, "::ffff:10.9.9.9"));
    BOOST_TEST(!forwarded::contains(*nets, "11.0.0.1"));
    BOOST_TEST(!forwarded::parse_networks("10.0.0.0/33", &bad));
    BOOST_TEST(bad == "10.0.0.0/33");
    BOOST_TEST(!forwarded::parse_networks("nope", &bad));
    BOOST_TEST(forwarded::parse_networks("")->empty());
}

BOOST_AUTO_TEST_CASE(client_address)
{
    const auto nets = *forwarded::parse_networks("10.0.0.0/8");
    // Untrusted peer: its X-Forwarded-For is ignored.
    BOOST_TEST(forwarded::client_address(nets, "203.0.113.9", "1.2.3.4") == "203.0.113.9");
    // Trusted peer: the right-most untrusted hop.
    BOOST_TEST(forwarded::client_address(nets, "10.0.0.1", "1.2.3.4, 198.51.100.7, 10.0.0.2") == "198.51.100.7");
    BOOST_TEST(forwarded::client_address(nets, "10.0.0.1", "10.0.0.3, 10.0.0.2") == "10.0.0.3");
    BOOST_TEST(forwarded::client_address(nets, "10.0.0.1", "") == "10.0.0.1");
    BOOST_TEST(forwarded::client_address(nets, "10.0.0.1", "garbage") == "10.0.0.1");
    BOOST_TEST(forwarded::first_value(" https , http") == "https");
}

BOOST_AUTO_TEST_CASE(budget_keys_aggregate_ipv6_to_its_64)
{
    // IPv4, and IPv4 written as IPv4-mapped IPv6, stay per address.
    BOOST_TEST(forwarded::budget_key("198.51.100.7") == "198.51.100.7");
    BOOST_TEST(forwarded::budget_key("::ffff:198.51.100.7") == "198.51.100.7");
    BOOST_TEST(forwarded::budget_key("198.51.100.8") != forwarded::budget_key("198.51.100.7"));
    // A /64 is one subscriber: every address in it shares one budget.
    BOOST_TEST(forwarded::budget_key("2001:db8:1:2::1") == "2001:db8:1:2::/64");
    BOOST_TEST(forwarded::budget_key("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64");
    BOOST_TEST(forwarded::budget_key("[2001:DB8:1:2:a:b:c:d]") == "2001:db8:1:2::/64");
    BOOST_TEST(forwarded::budget_key("2001:db8:1:3::1") == "2001:db8:1:3::/64");
    BOOST_TEST(forwarded::budget_key("::1") == "::/64");
    // Not an address (the peer could not be read): kept as it is.
    BOOST_TEST(forwarded::budget_key("unknown") == "unknown");
}

BOOST_AUTO_TEST_SUITE_END()
