// Token buckets with injected time.
#include "service/http/rate_limiter.hpp"

#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

using namespace switchboard;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(rate_limiting)

BOOST_AUTO_TEST_CASE(burst_then_refill)
{
    rate_limiter limiter(60);
    const auto t0 = rate_limiter::clock::time_point{} + 1h;
    for (int i = 0; i < 60; ++i) {
        BOOST_TEST(limiter.take("1.2.3.4", t0).allowed);
    }
    const auto refused = limiter.take("1.2.3.4", t0);
    BOOST_TEST(!refused.allowed);
    BOOST_TEST(refused.retry_after.count() == 1);
    BOOST_TEST(limiter.take("5.6.7.8", t0).allowed); // another client has its own budget
    BOOST_TEST(!limiter.take("1.2.3.4", t0 + 500ms).allowed);
    BOOST_TEST(limiter.take("1.2.3.4", t0 + 1s).allowed);
    BOOST_TEST(!limiter.take("1.2.3.4", t0 + 1s).allowed);
}

BOOST_AUTO_TEST_CASE(several_tokens_at_once_with_the_wait_in_milliseconds)
{
    rate_limiter pace(5.0, std::chrono::seconds(1)); // 5 a second, a burst of 5
    const auto t0 = rate_limiter::clock::time_point{} + 1h;
    auto g = pace.take_up_to("crm", 3, t0);
    BOOST_TEST(g.granted == 3u);
    g = pace.take_up_to("crm", 8, t0);
    BOOST_TEST(g.granted == 2u); // what is left, not what was asked
    g = pace.take_up_to("crm", 8, t0);
    BOOST_TEST(g.granted == 0u);
    BOOST_TEST(g.wait.count() == 200); // one token every 200 ms
    g = pace.take_up_to("crm", 8, t0 + 150ms);
    BOOST_TEST(g.granted == 0u);
    BOOST_TEST(g.wait.count() == 50);
    g = pace.take_up_to("crm", 8, t0 + 1s);
    BOOST_TEST(g.granted == 5u); // refilled to the burst, never beyond
    BOOST_TEST(pace.take_up_to("other", 1, t0).granted == 1u);
    // Over a long stretch the rate holds: 10 s at 5 a second is 50 (plus the first burst).
    std::size_t total = 0;
    for (int ms = 0; ms <= 10'000; ms += 10) {
        total += pace.take_up_to("steady", 100, t0 + std::chrono::milliseconds(ms)).granted;
    }
    BOOST_TEST(total == 55u);
}

BOOST_AUTO_TEST_CASE(retry_after_reflects_the_rate)
{
    rate_limiter limiter(2); // one request every 30 s
    const auto t0 = rate_limiter::clock::time_point{} + 1h;
    BOOST_TEST(limiter.take("c", t0).allowed);
    BOOST_TEST(limiter.take("c", t0).allowed);
    BOOST_TEST(limiter.take("c", t0).retry_after.count() == 30);
    BOOST_TEST(limiter.take("c", t0 + 20s).retry_after.count() == 10);
}

BOOST_AUTO_TEST_CASE(memory_is_bounded)
{
    rate_limiter limiter(10, 160);
    const auto t0 = rate_limiter::clock::time_point{} + 1h;
    for (int i = 0; i < 10'000; ++i) {
        limiter.take("client-" + std::to_string(i), t0);
    }
    BOOST_TEST(limiter.tracked_clients() <= 160u);
}

BOOST_AUTO_TEST_CASE(a_full_shard_forgets_its_least_recently_used_client)
{
    // Keys that share one of the limiter's 16 shards (it picks std::hash % 16), two buckets each.
    std::vector<std::string> same;
    const std::size_t shard = std::hash<std::string_view>{}("k0") % 16;
    for (int i = 0; same.size() < 3; ++i) {
        std::string k = "k" + std::to_string(i);
        if (std::hash<std::string_view>{}(k) % 16 == shard) {
            same.push_back(std::move(k));
        }
    }
    rate_limiter limiter(2.0, std::chrono::hours(1), 32);
    const auto t0 = rate_limiter::clock::time_point{} + 1h;
    const std::string &a = same[0], &b = same[1], &c = same[2];
    BOOST_TEST(limiter.take(b, t0).allowed);
    BOOST_TEST(limiter.take(b, t0).allowed);
    BOOST_TEST(limiter.take(a, t0 + 1s).allowed); // a has more left than b, but was used later
    BOOST_TEST(limiter.take(c, t0 + 2s).allowed); // the shard is full: b, the least recent, goes
    BOOST_TEST(limiter.tracked_clients() == 2u);
    BOOST_TEST(limiter.take(a, t0 + 3s).allowed); // a is remembered: one left, then refused
    BOOST_TEST(!limiter.take(a, t0 + 3s).allowed);
    // Being refused is use too: a client that keeps knocking stays remembered.
    BOOST_TEST(limiter.take(c, t0 + 4s).allowed);
    BOOST_TEST(!limiter.take(a, t0 + 5s).allowed);
    BOOST_TEST(limiter.take(b, t0 + 6s).allowed); // evicts c, the least recent now
    BOOST_TEST(!limiter.take(a, t0 + 7s).allowed);
}

BOOST_AUTO_TEST_SUITE_END()
