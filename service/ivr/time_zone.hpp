// IANA time zones from the system database (/usr/share/zoneinfo, via Howard Hinnant's date/tz):
// whether a zone exists, and the wall-clock time in a zone at a given instant.
#pragma once

#include "protocol/ivr/business_hours.hpp"

#include <chrono>
#include <optional>
#include <string_view>

namespace switchboard {

// True when the IANA zone name (or link, e.g. "US/Eastern") is known to the system time zone
// database. Never throws; false also when the database itself cannot be read.
bool time_zone_exists(std::string_view name);

// The wall-clock time in `zone` at `now`; nullopt when the zone is unknown. Never throws.
std::optional<hours::local_time> local_time_in(std::string_view zone, std::chrono::system_clock::time_point now);

} // namespace switchboard
