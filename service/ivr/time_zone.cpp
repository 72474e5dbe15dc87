// Time zone lookups on date/tz, built with USE_OS_TZDB=1 so it reads the OS zoneinfo files.
#include "service/ivr/time_zone.hpp"

#include <date/tz.h>

namespace switchboard {
namespace {

// No cache of our own: date::get_tzdb() builds the zone list once (a function-local static, so
// thread-safe initialization), locate_zone is then a binary search over that immutable list
// returning a pointer that stays valid for the program's life, and each time_zone loads its
// transitions lazily under std::call_once. All of it is safe to call from several threads.
// locate_zone throws std::runtime_error for an unknown name; a missing or unreadable zoneinfo
// directory throws too, so any exception means "no such zone".
const date::time_zone* find_zone(std::string_view name) noexcept
{
    try {
        return date::locate_zone(name);
    } catch (...) {
        return nullptr;
    }
}

} // namespace

bool time_zone_exists(std::string_view name)
{
    return find_zone(name) != nullptr;
}

std::optional<hours::local_time> local_time_in(std::string_view zone, std::chrono::system_clock::time_point now)
{
    const auto* tz = find_zone(zone);
    if (tz == nullptr) {
        return std::nullopt;
    }
    try {
        const auto local = tz->to_local(date::floor<std::chrono::seconds>(now));
        const auto day = date::floor<date::days>(local);
        const date::year_month_day ymd{day};
        const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(local - day);
        hours::local_time t;
        t.year = static_cast<int>(ymd.year());
        t.month = static_cast<unsigned>(ymd.month());
        t.day = static_cast<unsigned>(ymd.day());
        t.weekday = date::weekday{day}.c_encoding();
        t.minute_of_day = static_cast<unsigned>(minutes.count());
        return t;
    } catch (...) {
        // A zone's transitions are read from its file on first use; an unreadable file throws.
        return std::nullopt;
    }
}

} // namespace switchboard
