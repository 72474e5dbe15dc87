// Business hours of an IVR menu: a weekly schedule in one time zone plus holiday dates, and the
// pure "is it open at this wall-clock time" check (the caller converts "now" to local time).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::hours {

// A wall-clock time in some zone; service/ivr/time_zone.hpp builds one from a time point.
struct local_time {
    int year = 1970;
    unsigned month = 1, day = 1; // civil date
    unsigned weekday = 4; // 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday)
    unsigned minute_of_day = 0; // 0..1439
};

// Minutes of the day, half-open [from, to); `to` may be 1440 ("24:00").
struct interval {
    unsigned from = 0, to = 0;
};

// Intervals never cross midnight: "open 22:00 to 02:00 Friday night" is written as
// "22:00-24:00" on fri and "00:00-02:00" on sat. Overlapping intervals on one day are allowed and
// mean their union.
struct schedule {
    std::string time_zone; // IANA name, e.g. "America/New_York"
    std::array<std::vector<interval>, 7> weekly; // index = weekday (0 = Sunday)
    std::vector<std::string> holidays; // "YYYY-MM-DD" in the schedule's zone, closed all day
};

// "09:00-17:00" -> {540, 1020}. Strictly HH:MM-HH:MM with two-digit fields: hours 00..23,
// minutes 00..59, "24:00" only as the end, and from < to. nullopt otherwise.
std::optional<interval> parse_interval(std::string_view text);

// Strict YYYY-MM-DD naming a real (proleptic Gregorian) calendar date, leap years included.
bool is_valid_date(std::string_view text);

// "sun", "mon", "tue", "wed", "thu", "fri", "sat" (lowercase) -> 0..6; nullopt otherwise.
std::optional<unsigned> parse_weekday(std::string_view name);

// Open iff t's date is not one of the holidays and t.minute_of_day falls in one of the intervals
// of t.weekday. Holiday entries that are not valid dates never match; a weekday outside 0..6 is
// closed.
bool is_open(const schedule& s, const local_time& t) noexcept;

} // namespace switchboard::hours
