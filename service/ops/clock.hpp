// Wall-clock time as the store and the wire formats use it: milliseconds since the Unix epoch.
#pragma once

#include <chrono>
#include <cstdint>

namespace switchboard {

inline std::int64_t unix_ms_now() noexcept
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

} // namespace switchboard
