// Business hours: interval, date and weekday parsing, and the open/closed check.
#include "protocol/ivr/business_hours.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard::hours;

namespace {

local_time at(int year, unsigned month, unsigned day, unsigned weekday, unsigned hour, unsigned minute)
{
    return local_time{year, month, day, weekday, hour * 60 + minute};
}

// Mon-Fri 09:00-17:00 with a lunch break, Sat 10:00-14:00 and 13:00-15:00 (overlapping), Sun
// closed; open across Friday midnight as "22:00-24:00" fri + "00:00-02:00" sat.
schedule office()
{
    schedule s;
    s.time_zone = "America/New_York";
    for (unsigned d = 1; d <= 5; ++d) {
        s.weekly[d] = {{9 * 60, 12 * 60}, {13 * 60, 17 * 60}};
    }
    s.weekly[5].push_back({22 * 60, 1440});
    s.weekly[6] = {{0, 2 * 60}, {10 * 60, 14 * 60}, {13 * 60, 15 * 60}};
    s.holidays = {"2026-12-25", "2026-07-03", "not-a-date"};
    return s;
}

} // namespace

BOOST_AUTO_TEST_SUITE(business_hours)

BOOST_AUTO_TEST_CASE(intervals_parse)
{
    struct good_case {
        const char* text;
        unsigned from, to;
    };
    for (const auto& c :
        {good_case{"09:00-17:00", 540, 1020}, good_case{"00:00-24:00", 0, 1440}, good_case{"22:00-24:00", 1320, 1440},
            good_case{"00:00-00:01", 0, 1}, good_case{"23:59-24:00", 1439, 1440}, good_case{"12:30-13:45", 750, 825}}) {
        BOOST_TEST_CONTEXT(c.text)
        {
            const auto i = parse_interval(c.text);
            BOOST_REQUIRE(i);
            BOOST_TEST(i->from == c.from);
            BOOST_TEST(i->to == c.to);
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_intervals_are_rejected)
{
    for (const char* text : {"9:00-17:00", "09:00-5:00", "17:00-09:00", "09:00-09:00", "24:00-24:00", "24:00-24:01",
             "12:60-13:00", "12:00-12:60", "00:00-24:01", "00:00-25:00", "23:00-23:60", "09:00 - 17:00", "09:00-17:00 ",
             " 09:00-17:00", "09-17", "0900-1700", "09:00", "09:00-", "09.00-17.00", "+9:00-17:00", "09:0a-17:00",
             "09:00~17:00", "", "99:99-99:99"}) {
        BOOST_TEST(!parse_interval(text).has_value(), "accepted " << text);
    }
}

BOOST_AUTO_TEST_CASE(dates_are_real_calendar_dates)
{
    for (const char* text :
        {"2026-01-01", "2026-12-31", "2028-02-29", "2000-02-29", "2026-02-28", "2026-04-30", "1999-11-30"}) {
        BOOST_TEST(is_valid_date(text), "rejected " << text);
    }
    for (const char* text : {"2026-02-29", "1900-02-29", "2100-02-29", "2026-04-31", "2026-13-01", "2026-00-10",
             "2026-01-00", "2026-01-32", "2026-1-01", "2026-01-1", "26-01-01", "2026/01/01", "2026-01-01T00:00",
             " 2026-01-01", "2026-0a-01", "", "20260101"}) {
        BOOST_TEST(!is_valid_date(text), "accepted " << text);
    }
}

BOOST_AUTO_TEST_CASE(weekday_names)
{
    const char* names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    for (unsigned d = 0; d < 7; ++d) {
        const auto day = parse_weekday(names[d]);
        BOOST_REQUIRE(day);
        BOOST_TEST(*day == d);
    }
    for (const char* bad : {"", "Sun", "MON", "sunday", "su", "thur", "xyz"}) {
        BOOST_TEST(!parse_weekday(bad).has_value(), "accepted " << bad);
    }
}

BOOST_AUTO_TEST_CASE(open_across_weekdays)
{
    const auto s = office();
    // 2026-06-07 is a Sunday; 2026-06-08..12 Monday..Friday; 2026-06-13 Saturday.
    BOOST_TEST(!is_open(s, at(2026, 6, 7, 0, 10, 0)));
    for (unsigned d = 1; d <= 5; ++d) {
        BOOST_TEST_CONTEXT("weekday " << d)
        {
            BOOST_TEST(is_open(s, at(2026, 6, 7 + d, d, 10, 0)));
            BOOST_TEST(!is_open(s, at(2026, 6, 7 + d, d, 12, 30)));
            BOOST_TEST(is_open(s, at(2026, 6, 7 + d, d, 16, 59)));
            BOOST_TEST(!is_open(s, at(2026, 6, 7 + d, d, 20, 0)));
        }
    }
    BOOST_TEST(!is_open(s, at(2026, 6, 11, 4, 23, 0))); // Thursday night: no late hours
    BOOST_TEST(is_open(s, at(2026, 6, 12, 5, 23, 59))); // Friday night ...
    BOOST_TEST(is_open(s, at(2026, 6, 13, 6, 0, 0))); // ... continues past midnight on Saturday
    BOOST_TEST(is_open(s, at(2026, 6, 13, 6, 1, 59)));
    BOOST_TEST(!is_open(s, at(2026, 6, 13, 6, 2, 0)));
    // Overlapping Saturday intervals are their union: 10:00-15:00.
    BOOST_TEST(!is_open(s, at(2026, 6, 13, 6, 9, 59)));
    BOOST_TEST(is_open(s, at(2026, 6, 13, 6, 13, 30)));
    BOOST_TEST(is_open(s, at(2026, 6, 13, 6, 14, 30)));
    BOOST_TEST(!is_open(s, at(2026, 6, 13, 6, 15, 0)));
}

BOOST_AUTO_TEST_CASE(interval_edges)
{
    const auto s = office();
    // Tuesday 2026-06-09: [09:00, 12:00) and [13:00, 17:00).
    BOOST_TEST(!is_open(s, at(2026, 6, 9, 2, 8, 59)));
    BOOST_TEST(is_open(s, at(2026, 6, 9, 2, 9, 0))); // from is inclusive
    BOOST_TEST(is_open(s, at(2026, 6, 9, 2, 11, 59)));
    BOOST_TEST(!is_open(s, at(2026, 6, 9, 2, 12, 0))); // to is exclusive
    BOOST_TEST(!is_open(s, at(2026, 6, 9, 2, 12, 59)));
    BOOST_TEST(is_open(s, at(2026, 6, 9, 2, 13, 0)));
    BOOST_TEST(!is_open(s, at(2026, 6, 9, 2, 17, 0)));

    schedule always;
    always.weekly[3] = {*parse_interval("00:00-24:00")};
    BOOST_TEST(is_open(always, local_time{2026, 6, 10, 3, 0}));
    BOOST_TEST(is_open(always, local_time{2026, 6, 10, 3, 1439}));
    BOOST_TEST(!is_open(always, local_time{2026, 6, 11, 4, 720}));
}

BOOST_AUTO_TEST_CASE(holidays_close_all_day)
{
    const auto s = office();
    BOOST_TEST(!is_open(s, at(2026, 12, 25, 5, 10, 0))); // Friday, Christmas
    BOOST_TEST(!is_open(s, at(2026, 12, 25, 5, 23, 0))); // late Friday hours too
    BOOST_TEST(is_open(s, at(2026, 12, 26, 6, 1, 0))); // the next day's early hours are the next day
    BOOST_TEST(!is_open(s, at(2026, 7, 3, 5, 10, 0)));
    BOOST_TEST(is_open(s, at(2025, 12, 25, 4, 10, 0))); // holidays name a year
    BOOST_TEST(is_open(s, at(2026, 12, 24, 4, 10, 0)));
}

BOOST_AUTO_TEST_CASE(out_of_range_times_are_closed)
{
    auto s = office();
    s.weekly[0] = {{0, 1440}};
    BOOST_TEST(!is_open(s, local_time{2026, 6, 7, 7, 600}));
    BOOST_TEST(!is_open(s, local_time{2026, 6, 7, 99, 600}));
    BOOST_TEST(!is_open(s, local_time{2026, 6, 7, 0, 1440}));
    BOOST_TEST(!is_open(schedule{}, local_time{}));
}

BOOST_AUTO_TEST_SUITE_END()
