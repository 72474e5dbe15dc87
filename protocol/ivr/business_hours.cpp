// Business hours: parsing of schedule definitions and the open/closed check.
#include "protocol/ivr/business_hours.hpp"

#include "protocol/core/text.hpp"

#include <algorithm>

namespace switchboard::hours {
namespace {

constexpr unsigned minutes_per_day = 24 * 60;

struct civil_date {
    int year = 0;
    unsigned month = 0, day = 0;
};

using text::is_digit;

// The value of text[pos, pos + n) when all n characters are digits.
std::optional<unsigned> digits(std::string_view text, std::size_t pos, std::size_t n) noexcept
{
    unsigned value = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (!is_digit(text[i])) {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(text[i] - '0');
    }
    return value;
}

bool is_leap_year(int y) noexcept
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int y, unsigned m) noexcept
{
    static constexpr std::array<unsigned, 12> days = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

std::optional<civil_date> parse_date(std::string_view text) noexcept
{
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') {
        return std::nullopt;
    }
    const auto y = digits(text, 0, 4);
    const auto m = digits(text, 5, 2);
    const auto d = digits(text, 8, 2);
    if (!y || !m || !d || *m < 1 || *m > 12 || *d < 1 || *d > days_in_month(static_cast<int>(*y), *m)) {
        return std::nullopt;
    }
    return civil_date{static_cast<int>(*y), *m, *d};
}

// "HH:MM" -> minutes of the day; "24:00" only when it is the end of an interval.
std::optional<unsigned> parse_clock(std::string_view text, bool is_end) noexcept
{
    if (text.size() != 5 || text[2] != ':') {
        return std::nullopt;
    }
    const auto h = digits(text, 0, 2);
    const auto m = digits(text, 3, 2);
    if (!h || !m || *m > 59) {
        return std::nullopt;
    }
    if (*h == 24 && *m == 0 && is_end) {
        return minutes_per_day;
    }
    if (*h > 23) {
        return std::nullopt;
    }
    return *h * 60 + *m;
}

} // namespace

std::optional<interval> parse_interval(std::string_view text)
{
    if (text.size() != 11 || text[5] != '-') {
        return std::nullopt;
    }
    const auto from = parse_clock(text.substr(0, 5), false);
    const auto to = parse_clock(text.substr(6), true);
    if (!from || !to || *from >= *to) {
        return std::nullopt;
    }
    return interval{*from, *to};
}

bool is_valid_date(std::string_view text)
{
    return parse_date(text).has_value();
}

std::optional<unsigned> parse_weekday(std::string_view name)
{
    static constexpr std::array<std::string_view, 7> names = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
    const auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
        return std::nullopt;
    }
    return static_cast<unsigned>(it - names.begin());
}

bool is_open(const schedule& s, const local_time& t) noexcept
{
    if (t.weekday >= s.weekly.size()) {
        return false;
    }
    const bool holiday = std::any_of(s.holidays.begin(), s.holidays.end(), [&](const std::string& h) {
        const auto d = parse_date(h);
        return d && d->year == t.year && d->month == t.month && d->day == t.day;
    });
    if (holiday) {
        return false;
    }
    const auto& day = s.weekly[t.weekday];
    return std::any_of(
        day.begin(), day.end(), [&](const interval& i) { return i.from <= t.minute_of_day && t.minute_of_day < i.to; });
}

} // namespace switchboard::hours
