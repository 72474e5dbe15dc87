// Wall-clock times from the system time zone database, across DST transitions. Expected values
// were cross-checked with Python's zoneinfo.
#include "service/ivr/time_zone.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>

using namespace switchboard;

namespace {

std::chrono::system_clock::time_point unix_time(std::int64_t seconds)
{
    return std::chrono::system_clock::time_point{std::chrono::seconds{seconds}};
}

void check(std::string_view zone, std::int64_t unix_seconds, int year, unsigned month, unsigned day, unsigned weekday,
    unsigned hour, unsigned minute)
{
    BOOST_TEST_CONTEXT(zone << " at " << unix_seconds)
    {
        const auto t = local_time_in(zone, unix_time(unix_seconds));
        BOOST_REQUIRE(t);
        BOOST_TEST(t->year == year);
        BOOST_TEST(t->month == month);
        BOOST_TEST(t->day == day);
        BOOST_TEST(t->weekday == weekday);
        BOOST_TEST(t->minute_of_day == hour * 60 + minute);
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(time_zones)

BOOST_AUTO_TEST_CASE(new_york_spring_forward)
{
    // 2026-03-08 02:00 EST becomes 03:00 EDT (07:00 UTC).
    check("America/New_York", 1772953140, 2026, 3, 8, 0, 1, 59); // 06:59Z -> 01:59 EST
    check("America/New_York", 1772953200, 2026, 3, 8, 0, 3, 0); // 07:00Z -> 03:00 EDT
    check("America/New_York", 1773027000, 2026, 3, 8, 0, 23, 30); // 2026-03-09 03:30Z is still Sunday
}

BOOST_AUTO_TEST_CASE(new_york_fall_back)
{
    // 2026-11-01 02:00 EDT becomes 01:00 EST (06:00 UTC): 01:00-01:59 happens twice.
    check("America/New_York", 1793509140, 2026, 11, 1, 0, 0, 59); // 04:59Z -> 00:59 EDT
    check("America/New_York", 1793511000, 2026, 11, 1, 0, 1, 30); // 05:30Z -> 01:30 EDT
    check("America/New_York", 1793512799, 2026, 11, 1, 0, 1, 59); // 05:59:59Z -> 01:59:59 EDT
    check("America/New_York", 1793512800, 2026, 11, 1, 0, 1, 0); // 06:00Z -> 01:00 EST
    check("America/New_York", 1793514600, 2026, 11, 1, 0, 1, 30); // 06:30Z -> 01:30 EST
}

BOOST_AUTO_TEST_CASE(seoul_has_no_dst)
{
    check("Asia/Seoul", 1782917940, 2026, 7, 1, 3, 23, 59); // 14:59Z -> Wednesday 23:59 KST
    check("Asia/Seoul", 1782918000, 2026, 7, 2, 4, 0, 0); // 15:00Z -> Thursday 00:00 KST
    check("Asia/Seoul", 1768446000, 2026, 1, 15, 4, 12, 0); // winter: still +09:00
}

BOOST_AUTO_TEST_CASE(berlin)
{
    check("Europe/Berlin", 1774745940, 2026, 3, 29, 0, 1, 59); // 00:59Z -> 01:59 CET
    check("Europe/Berlin", 1774746000, 2026, 3, 29, 0, 3, 0); // 01:00Z -> 03:00 CEST
    check("Europe/Berlin", 1792889940, 2026, 10, 25, 0, 2, 59); // 00:59Z -> 02:59 CEST
    check("Europe/Berlin", 1792890000, 2026, 10, 25, 0, 2, 0); // 01:00Z -> 02:00 CET
}

BOOST_AUTO_TEST_CASE(utc)
{
    BOOST_TEST(time_zone_exists("UTC"));
    check("UTC", 1835440496, 2028, 2, 29, 2, 12, 34); // 2028-02-29T12:34:56Z, a Tuesday
    check("UTC", 0, 1970, 1, 1, 4, 0, 0);
    check("UTC", -1, 1969, 12, 31, 3, 23, 59); // before the epoch: floored, not truncated
    const auto t = local_time_in("UTC", unix_time(0) - std::chrono::nanoseconds{1});
    BOOST_REQUIRE(t);
    BOOST_TEST(t->day == 31u);
    BOOST_TEST(t->minute_of_day == 1439u);
}

BOOST_AUTO_TEST_CASE(unknown_zones)
{
    for (const char* zone : {"Mars/Olympus_Mons", "", "america/new_york", "America/New_York ", "../../etc/passwd",
             "EST5EDT,M3.2.0,M11.1.0"}) {
        BOOST_TEST_CONTEXT("zone '" << zone << "'")
        {
            BOOST_TEST(!time_zone_exists(zone));
            BOOST_TEST(!local_time_in(zone, unix_time(1772953200)).has_value());
        }
    }
    for (const char* zone : {"America/New_York", "Asia/Seoul", "Europe/Berlin", "Etc/UTC"}) {
        BOOST_TEST(time_zone_exists(zone), zone);
    }
}

BOOST_AUTO_TEST_CASE(schedule_in_its_zone)
{
    // Weekdays 09:00-17:00 in New York; the same instant is open there and closed in Seoul.
    hours::schedule s;
    s.time_zone = "America/New_York";
    for (unsigned d = 1; d <= 5; ++d) {
        s.weekly[d] = {*hours::parse_interval("09:00-17:00")};
    }
    const auto monday_10am_new_york = unix_time(1773064800); // 2026-03-09T14:00:00Z
    const auto local = local_time_in(s.time_zone, monday_10am_new_york);
    BOOST_REQUIRE(local);
    BOOST_TEST(is_open(s, *local));
    const auto seoul = local_time_in("Asia/Seoul", monday_10am_new_york);
    BOOST_REQUIRE(seoul);
    BOOST_TEST(!is_open(s, *seoul)); // 23:00 Monday in Seoul
}

BOOST_AUTO_TEST_SUITE_END()
