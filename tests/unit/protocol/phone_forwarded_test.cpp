// Phone masking and trusted-proxy resolution.
#include "protocol/forwarded.hpp"
#include "protocol/phone.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(phone_numbers)

BOOST_AUTO_TEST_CASE(e164)
{
    BOOST_TEST(phone::is_e164("+14155551212"));
    BOOST_TEST(phone::is_e164("+442071838750"));
    BOOST_TEST(!phone::is_e164("14155551212"));
    BOOST_TEST(!phone::is_e164("+0123456789"));
    BOOST_TEST(!phone::is_e164("+1234567"));
    BOOST_TEST(!phone::is_e164("+1234567890123456"));
    BOOST_TEST(!phone::is_e164("+1415555121a"));
}

BOOST_AUTO_TEST_CASE(mask_keeps_country_code_and_last_two)
{
    BOOST_TEST(phone::mask("+14155551212") == "+1********12");
    BOOST_TEST(phone::mask("+442071838750") == "+44********50");
    BOOST_TEST(phone::mask("+35312345678") == "+353******78");
    BOOST_TEST(phone::mask("+79161234567") == "+7********67");
    BOOST_TEST(phone::mask("client:alice") == "***ce");
    BOOST_TEST(phone::mask("266696687") == "***87");
    BOOST_TEST(phone::mask("abc") == "***");
    BOOST_TEST(phone::mask("") == "");
}

BOOST_AUTO_TEST_CASE(numbers_inside_messages)
{
    BOOST_TEST(phone::mask_numbers_in("The 'To' number +14155551212 is not a valid phone number.")
        == "The 'To' number +1********12 is not a valid phone number.");
    BOOST_TEST(phone::mask_numbers_in("To 4155551212, from +442071838750.") == "To ********12, from +44********50.");
    // Not E.164 after the '+' (too long): masked as a bare run, the '+' kept.
    BOOST_TEST(phone::mask_numbers_in("+12345678901234567") == "+***************67");
    BOOST_TEST(phone::mask_numbers_in("1234567") == "*****67");
    // Short runs are codes and counts, not numbers.
    BOOST_TEST(phone::mask_numbers_in("error 21211 after 123456 tries: HTTP 400")
        == "error 21211 after 123456 tries: HTTP 400");
    BOOST_TEST(phone::mask_numbers_in("").empty());
    BOOST_TEST(phone::mask_numbers_in("+") == "+");
}

BOOST_AUTO_TEST_SUITE_END()

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
