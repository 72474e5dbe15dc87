// protocol/events/subscriber_rules.cpp: which headers a subscriber may add to its deliveries.
#include "protocol/events/subscriber_rules.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using switchboard::subscriber_rules::header_problem;
using switchboard::subscriber_rules::max_header_value;

BOOST_AUTO_TEST_SUITE(subscriber_rules)

BOOST_AUTO_TEST_CASE(ordinary_headers_are_accepted)
{
    BOOST_TEST(!header_problem("Authorization", "Bearer abc.def"));
    BOOST_TEST(!header_problem("X-Api-Key", "k\t 1"));
    BOOST_TEST(!header_problem("x~weird!#$%&'*+-.^_`|", ""));
    BOOST_TEST(!header_problem("X-Long", std::string(max_header_value, 'a')));
}

BOOST_AUTO_TEST_CASE(names_must_be_tokens)
{
    BOOST_TEST(header_problem("", "v").value().find("1 to 64") != std::string::npos);
    BOOST_TEST(header_problem("X Api", "v").has_value());
    BOOST_TEST(header_problem("X-Api:", "v").has_value());
    BOOST_TEST(header_problem("X-\xc3\xa9", "v").has_value());
    BOOST_TEST(header_problem(std::string(65, 'x'), "v").has_value());
    BOOST_TEST(!header_problem(std::string(64, 'x'), "v"));
}

BOOST_AUTO_TEST_CASE(what_switchboard_writes_or_framing_cannot_be_set)
{
    for (const char* name : {"Host", "content-length", "Transfer-Encoding", "CONNECTION", "Webhook-Signature",
             "webhook-id", "webhook-timestamp", "Content-Type", "User-Agent", "TE", "Expect", "Upgrade"}) {
        BOOST_TEST_CONTEXT(name)
        {
            const auto p = header_problem(name, "x");
            BOOST_REQUIRE(p.has_value());
            BOOST_TEST(p->find("written by Switchboard") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(values_cannot_smuggle_lines)
{
    BOOST_TEST(header_problem("X-A", "a\r\nX-Injected: 1").value().find("no CR, LF or NUL") != std::string::npos);
    BOOST_TEST(header_problem("X-A", "a\nb").has_value());
    BOOST_TEST(header_problem("X-A", std::string("a\0b", 3)).has_value());
    BOOST_TEST(header_problem("X-A", "caf\xc3\xa9").has_value());
    BOOST_TEST(header_problem("X-A", " padded").has_value());
    BOOST_TEST(header_problem("X-A", "padded\t").has_value());
    BOOST_TEST(header_problem("X-A", std::string(max_header_value + 1, 'a')).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
