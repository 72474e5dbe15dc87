// protocol/twilio/connection_overrides.cpp: parsing Twilio's connection overrides and appending
// them to a URL.
#include "protocol/twilio/connection_overrides.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <utility>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(connection_overrides_)

namespace co = switchboard::connection_overrides;

BOOST_AUTO_TEST_CASE(parse_is_canonical_and_strict)
{
    std::string problem;
    BOOST_TEST(co::parse("", &problem).value() == "");
    BOOST_TEST(co::parse("none", &problem).value() == "");
    BOOST_TEST(co::parse("#rp=ct,rt,5xx&rc=2&ct=100", &problem).value() == "ct=100&rc=2&rp=ct,rt,5xx");
    BOOST_TEST(co::parse("sni=y&e=frankfurt&tt=15000&rt=15000&ct=10000&rc=5&rp=all", &problem).value()
        == "ct=10000&rt=15000&tt=15000&rc=5&rp=all&e=frankfurt&sni=y");
    BOOST_TEST(co::parse("rc=0&rp=4xx", &problem).value() == "rc=0&rp=4xx");
    const std::pair<std::string_view, std::string_view> refused[] = {
        {"ct=99", "ct (connect timeout in ms) must be a whole number from 100 to 10000, got '99'"},
        {"ct=10001", "ct (connect timeout in ms) must be a whole number from 100 to 10000"},
        {"rt=15001", "rt (read timeout in ms) must be a whole number from 100 to 15000"},
        {"tt=1e3", "tt (total timeout in ms)"},
        {"rc=6", "rc (retry count) must be a whole number from 0 to 5"},
        {"rc=-1", "rc (retry count)"},
        {"rc=", "rc (retry count)"},
        {"rp=ct,,rt", "rp (retry policy) must be a comma list"},
        {"rp=", "rp (retry policy)"},
        {"rp=3xx", "rp (retry policy)"},
        {"e=Frankfurt", "e (edge)"},
        {"e=-x", "e (edge)"},
        {"sni=yes", "sni must be y or n"},
        {"rc=1&rc=2", "connection override rc is given twice"},
        {"rc=1&", "unknown connection override ''"},
        {"x=1", "unknown connection override 'x=1'"},
        {"rc", "unknown connection override 'rc'"},
    };
    for (const auto& [text, why] : refused) {
        problem.clear();
        const auto r = co::parse(text, &problem);
        BOOST_TEST_CONTEXT(text)
        {
            BOOST_TEST(!r);
            BOOST_TEST(problem.find(why) == 0u, problem);
        }
    }
}

BOOST_AUTO_TEST_CASE(apply_keeps_an_explicit_fragment)
{
    BOOST_TEST(co::apply("https://h.example/s", "rc=2") == "https://h.example/s#rc=2");
    BOOST_TEST(co::apply("https://h.example/s?a=1", "rc=2") == "https://h.example/s?a=1#rc=2");
    BOOST_TEST(co::apply("https://h.example/s#ct=500", "rc=2") == "https://h.example/s#ct=500");
    BOOST_TEST(co::apply("https://h.example/s", "") == "https://h.example/s");
}

BOOST_AUTO_TEST_SUITE_END()
