// protocol/core/recent_map.hpp: bounded, first in first out, too old or stale is not found.
#include "protocol/core/recent_map.hpp"

#include <boost/test/unit_test.hpp>

#include <string>

using switchboard::recent_map;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(core_recent_map)

BOOST_AUTO_TEST_CASE(found_until_too_old_or_stale_and_put_again_after)
{
    recent_map<std::string> m(4, 2min);
    const auto t0 = std::chrono::steady_clock::now();
    BOOST_TEST(m.find("a", t0) == nullptr);
    m.put("a", "1", t0);
    BOOST_REQUIRE(m.find("a", t0 + 2min) != nullptr);
    BOOST_TEST(*m.find("a", t0 + 2min) == "1");
    BOOST_TEST(m.find("a", t0 + 2min + 1ns) == nullptr); // too old
    m.mark_stale("a");
    BOOST_TEST(m.find("a", t0) == nullptr);
    m.mark_stale("absent"); // nothing to mark: nothing added
    BOOST_TEST(m.size() == 1u);
    m.put("a", "2", t0 + 5min); // put again: fresh and not stale
    BOOST_REQUIRE(m.find("a", t0 + 6min) != nullptr);
    BOOST_TEST(*m.find("a", t0 + 6min) == "2");
}

BOOST_AUTO_TEST_CASE(bounded_first_in_first_out_and_a_key_keeps_its_place)
{
    recent_map<int> m(3, 1h);
    const auto t = std::chrono::steady_clock::now();
    m.put("first", 1, t);
    for (int i = 0; i < 10; ++i) {
        m.put("again", i, t); // one place in the order however often it is put
    }
    m.put("third", 3, t);
    BOOST_TEST(m.size() == 3u);
    m.put("fourth", 4, t); // "first" goes
    BOOST_TEST(m.size() == 3u);
    BOOST_TEST(m.find("first", t) == nullptr);
    BOOST_REQUIRE(m.find("again", t) != nullptr);
    BOOST_TEST(*m.find("again", t) == 9);
    m.put("fifth", 5, t); // then "again", the oldest put first
    BOOST_TEST(m.find("again", t) == nullptr);
    BOOST_TEST(m.find("third", t) != nullptr);
    BOOST_TEST(m.find("fifth", t) != nullptr);
    m.clear();
    BOOST_TEST(m.size() == 0u);
    BOOST_TEST(m.find("third", t) == nullptr);
}

BOOST_AUTO_TEST_CASE(capacity_zero_keeps_nothing)
{
    recent_map<int> m(0, 1h);
    const auto t = std::chrono::steady_clock::now();
    m.put("a", 1, t);
    BOOST_TEST(m.size() == 0u);
    BOOST_TEST(m.find("a", t) == nullptr);
}

BOOST_AUTO_TEST_SUITE_END()
