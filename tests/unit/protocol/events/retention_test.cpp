#include "protocol/events/retention.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(retention_rules)

BOOST_AUTO_TEST_CASE(cutoffs_are_now_minus_each_period_and_zero_keeps_forever)
{
    const retention::policy p{10s, 0ms, 100s};
    const auto c = retention::cutoffs_at(p, 1'000'000);
    BOOST_TEST(*c.delivered == 990'000);
    BOOST_TEST(!c.dead);
    BOOST_TEST(*c.log == 900'000);
    const retention::policy defaults;
    BOOST_TEST(defaults.delivered.count() == 30LL * 86'400'000);
    BOOST_TEST(defaults.dead.count() == 30LL * 86'400'000);
    BOOST_TEST(defaults.log.count() == 400LL * 86'400'000);
}

BOOST_AUTO_TEST_CASE(a_pass_has_more_when_any_kind_filled_its_batch)
{
    retention::removed r{1, 2, 0, 0, 0};
    BOOST_TEST(!retention::filled(r, 3));
    BOOST_TEST(retention::filled(r, 2));
    r += retention::removed{0, 0, 0, 0, 5};
    BOOST_TEST(r.messages == 5);
    BOOST_TEST(r.total() == 8);
}

BOOST_AUTO_TEST_CASE(days_as_operators_write_them)
{
    BOOST_TEST(retention::parse_days("30")->count() == 30LL * 86'400'000);
    BOOST_TEST(retention::parse_days("0.5")->count() == 43'200'000);
    BOOST_TEST(retention::parse_days("0")->count() == 0);
    BOOST_TEST(retention::parse_days("36500").has_value());
    for (const char* bad : {"", "-1", "36501", "1e9", "nan", "inf", "30d", " 30", "1,5"}) {
        BOOST_TEST_CONTEXT(bad)
        {
            BOOST_TEST(!retention::parse_days(bad));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
