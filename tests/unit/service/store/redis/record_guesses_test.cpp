// service/store/redis/record_guesses.cpp: what a Redis append guesses, how long, how many, and
// when it stops guessing.
#include "service/store/redis/record_guesses.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using switchboard::redis_detail::record_guesses;

BOOST_AUTO_TEST_SUITE(redis_record_guesses)

BOOST_AUTO_TEST_CASE(a_guess_is_the_record_as_last_written_until_found_wrong_or_old)
{
    record_guesses g;
    const auto t0 = record_guesses::clock::now();
    BOOST_TEST(g.guess("call:CA1", t0).empty()); // not seen: a new record
    g.remember("call:CA1", {{"status", "ringing"}, {"ver", "1"}}, t0);
    const auto rec = g.guess("call:CA1", t0 + std::chrono::minutes(9));
    BOOST_TEST(rec.at("status") == "ringing");
    BOOST_TEST(rec.at("ver") == "1");
    BOOST_TEST(g.guess("call:CA1", t0 + std::chrono::minutes(11)).empty()); // too old to trust
    g.forget("call:CA1");
    BOOST_TEST(g.guess("call:CA1", t0).empty()); // found wrong
    g.remember("call:CA1", {{"status", "completed"}, {"ver", "3"}}, t0);
    BOOST_TEST(g.guess("call:CA1", t0).at("ver") == "3");
}

BOOST_AUTO_TEST_CASE(bounded_first_in_first_out_and_a_key_is_queued_once)
{
    record_guesses g;
    const auto t0 = record_guesses::clock::now();
    g.remember("call:first", {{"ver", "1"}}, t0);
    // Found wrong and written again, many times: still one place in the order.
    for (int i = 0; i < 10; ++i) {
        g.forget("call:kept");
        g.remember("call:kept", {{"ver", std::to_string(i + 1)}}, t0);
    }
    for (std::size_t i = 0; i < record_guesses::capacity - 2; ++i) {
        g.remember("call:" + std::to_string(i), {{"ver", "1"}}, t0);
    }
    BOOST_TEST(g.size() == record_guesses::capacity);
    BOOST_TEST(g.guess("call:first", t0).at("ver") == "1");
    g.remember("call:one-more", {{"ver", "1"}}, t0); // the oldest goes
    BOOST_TEST(g.size() == record_guesses::capacity);
    BOOST_TEST(g.guess("call:first", t0).empty());
    BOOST_TEST(g.guess("call:kept", t0).at("ver") == "10");
}

BOOST_AUTO_TEST_CASE(guessing_stops_while_most_guesses_are_wrong_and_probes)
{
    record_guesses g;
    BOOST_TEST(g.worth_guessing()); // a fresh replica guesses
    for (int i = 0; i < 100; ++i) {
        g.outcome(false); // another replica always wrote last
    }
    int guessed = 0;
    for (unsigned i = 0; i < 10 * record_guesses::probe_every; ++i) {
        guessed += g.worth_guessing() ? 1 : 0;
    }
    BOOST_TEST(guessed == 10); // one in probe_every, to notice a change
    // The score remembers at most score_limit outcomes: as many right ones bring guessing back.
    for (int i = 0; i < record_guesses::score_limit; ++i) {
        g.outcome(true);
    }
    BOOST_TEST(g.worth_guessing());
    for (int i = 0; i < record_guesses::score_limit; ++i) {
        g.outcome(true);
    }
    g.outcome(false); // one wrong guess among many right ones changes nothing
    BOOST_TEST(g.worth_guessing());
}

BOOST_AUTO_TEST_SUITE_END()
