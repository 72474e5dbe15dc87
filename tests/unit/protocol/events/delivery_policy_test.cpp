// protocol/events/delivery_policy.cpp: the webhook delivery retry policy (classification, backoff,
// Retry-After).
#include "protocol/events/delivery_policy.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(delivery_retry_policy)

BOOST_AUTO_TEST_CASE(classification)
{
    using delivery::verdict;
    BOOST_TEST((delivery::classify_status(200) == verdict::delivered));
    BOOST_TEST((delivery::classify_status(204) == verdict::delivered));
    for (unsigned s : {408u, 409u, 429u, 500u, 502u, 503u, 504u}) {
        BOOST_TEST((delivery::classify_status(s) == verdict::retry), s);
    }
    for (unsigned s : {301u, 400u, 401u, 403u, 404u, 410u, 422u}) {
        BOOST_TEST((delivery::classify_status(s) == verdict::give_up), s);
    }
}

BOOST_AUTO_TEST_CASE(exponential_backoff_with_equal_jitter)
{
    const delivery::retry_policy p{.max_attempts = 10, .max_age = 24h, .initial_delay = 1s, .max_delay = 60s};
    BOOST_TEST(delivery::plan_retry(p, 1, 0ms, 0.0, std::nullopt).delay.count() == 500);
    BOOST_TEST(delivery::plan_retry(p, 1, 0ms, 1.0, std::nullopt).delay.count() == 1000);
    BOOST_TEST(delivery::plan_retry(p, 3, 0ms, 1.0, std::nullopt).delay.count() == 4000);
    BOOST_TEST(delivery::plan_retry(p, 9, 0ms, 1.0, std::nullopt).delay.count() == 60000); // capped
    BOOST_TEST(delivery::plan_retry(p, 9, 0ms, 0.0, std::nullopt).delay.count() == 30000);
    BOOST_TEST(delivery::plan_retry(p, 10, 0ms, 0.5, std::nullopt).give_up); // attempts exhausted
}

BOOST_AUTO_TEST_CASE(retry_after_and_max_age)
{
    const delivery::retry_policy p{.max_attempts = 100, .max_age = 10min, .initial_delay = 1s, .max_delay = 60s};
    const auto honoured = delivery::plan_retry(p, 1, 0ms, 0.0, 120s);
    BOOST_TEST(!honoured.give_up);
    BOOST_TEST(honoured.delay.count() == 120000);
    BOOST_TEST(delivery::plan_retry(p, 1, 9min, 0.0, 120s).give_up); // would land past max_age
    BOOST_TEST(delivery::plan_retry(p, 60, 0ms, 0.5, std::nullopt).delay.count() == 45000); // no overflow
}

BOOST_AUTO_TEST_CASE(retry_after_header)
{
    BOOST_TEST(delivery::parse_retry_after("120", 0)->count() == 120000);
    BOOST_TEST(delivery::parse_retry_after(" 5 ", 0)->count() == 5000);
    // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
    BOOST_TEST(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111677)->count() == 100000);
    BOOST_TEST(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111877)->count() == 0);
    BOOST_TEST(!delivery::parse_retry_after("soon", 0));
    BOOST_TEST(!delivery::parse_retry_after("-1", 0));
    BOOST_TEST(!delivery::parse_retry_after("", 0));
    BOOST_TEST(!delivery::parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", 0));
}

BOOST_AUTO_TEST_SUITE_END()
