// service/events/delivery_pace.cpp: how many deliveries a subscriber may claim, the pauses it
// asks for, and its rate (one process: the shared bucket is integration_cluster's).
#include "service/events/delivery_pace.hpp"

#include "service/ops/clock.hpp"
#include "service/ops/metrics.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>

using namespace switchboard;

namespace {

subscriber_config subscriber(double rate)
{
    subscriber_config c;
    c.name = "crm";
    c.rate_per_second = rate;
    return c;
}

// Starts `n` deliveries one after the other, each after its wait_turn, on a strand of its own
// io_context; how many started and how long that took.
struct turns {
    int started = 0;
    std::chrono::steady_clock::duration took{};
};
turns run_turns(delivery_pace& pace, int n, bool stopping)
{
    net::io_context ioc;
    const auto strand = net::make_strand(ioc);
    turns out;
    const auto t0 = std::chrono::steady_clock::now();
    net::co_spawn(
        strand,
        [&]() -> task<void> {
            for (int i = 0; i < n; ++i) {
                co_await pace.wait_turn(strand, stopping);
                ++out.started;
            }
        },
        net::detached);
    ioc.run();
    out.took = std::chrono::steady_clock::now() - t0;
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(delivery_pacing)

BOOST_AUTO_TEST_CASE(claims_are_the_free_slots_at_most_a_seconds_worth_and_none_while_held)
{
    metrics stats;
    const auto unlimited = subscriber(0);
    delivery_pace free_pace(unlimited, stats.subscriber("free"), nullptr, "");
    std::optional<std::int64_t> next_due;
    BOOST_TEST(free_pace.claimable(8, 1'000, next_due) == 8u);
    BOOST_TEST(!next_due);

    const auto paced = subscriber(2.5);
    delivery_pace pace(paced, stats.subscriber("crm"), nullptr, "");
    BOOST_TEST(pace.claimable(8, 1'000, next_due) == 3u); // ceil(2.5): one second's worth
    BOOST_TEST(pace.claimable(2, 1'000, next_due) == 2u);

    pace.hold_until(5'000, 1'000, 429);
    BOOST_TEST(pace.claimable(8, 4'999, next_due) == 0u);
    BOOST_TEST(next_due.value() == 5'000);
    pace.hold_until(4'000, 1'500, 429); // an earlier end does not shorten the pause
    pace.hold_until(6'000, 2'000, 503); // a later one extends it: the same pause
    BOOST_TEST(pace.claimable(8, 5'500, next_due) == 0u);
    BOOST_TEST(next_due.value() == 6'000);
    BOOST_TEST(pace.claimable(8, 6'000, next_due) == 3u);
    BOOST_TEST(stats.subscriber("crm").throttled_retry_after.Value() == 1.0); // one pause, counted once
    pace.hold_until(9'000, 7'000, 429); // after it ended: a new one
    BOOST_TEST(stats.subscriber("crm").throttled_retry_after.Value() == 2.0);
}

BOOST_AUTO_TEST_CASE(each_delivery_waits_for_its_token)
{
    metrics stats;
    const auto paced = subscriber(20); // a burst of 20, then one every 50 ms
    delivery_pace pace(paced, stats.subscriber("crm"), nullptr, "");
    const turns t = run_turns(pace, 30, false);
    BOOST_TEST(t.started == 30);
    // 20 at once, then 10 more at 50 ms each: half a second at least (a slow machine takes longer).
    BOOST_TEST(t.took >= std::chrono::milliseconds(480));
    BOOST_TEST(stats.subscriber("crm").throttled_rate.Value() >= 1.0);
    BOOST_TEST(stats.subscriber("crm").throttled_rate.Value() <= 10.0); // once per delivery that waited
}

BOOST_AUTO_TEST_CASE(a_delivery_claimed_before_a_pause_waits_for_it_too)
{
    metrics stats;
    const auto unlimited = subscriber(0); // no rate: only the pause holds it
    delivery_pace pace(unlimited, stats.subscriber("crm"), nullptr, "");
    const std::int64_t now = unix_ms_now();
    pace.hold_until(now + 300, now, 429);
    const turns t = run_turns(pace, 1, false);
    BOOST_TEST(t.started == 1);
    BOOST_TEST(t.took >= std::chrono::milliseconds(280));
}

BOOST_AUTO_TEST_CASE(at_shutdown_claimed_deliveries_go_without_waiting)
{
    metrics stats;
    const auto paced = subscriber(1); // a burst of one, then one a second
    delivery_pace pace(paced, stats.subscriber("crm"), nullptr, "");
    // stopping: at shutdown the claimed deliveries are finished, not held
    BOOST_TEST(run_turns(pace, 5, true).started == 5);
    BOOST_TEST(stats.subscriber("crm").throttled_rate.Value() == 0.0); // none of them waited for a token
}

BOOST_AUTO_TEST_SUITE_END()
