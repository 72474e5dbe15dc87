// Delivery outcome classification, backoff and Retry-After parsing.
#include "protocol/events/delivery_policy.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <ctime>

namespace switchboard::delivery {
namespace {

bool parse_int(std::string_view s, int& out) noexcept
{
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

// IMF-fixdate (RFC 9110 5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT"
std::optional<std::int64_t> parse_imf_fixdate(std::string_view v) noexcept
{
    static constexpr std::array<std::string_view, 12> months
        = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (v.size() != 29 || v[3] != ',' || v[4] != ' ' || v[7] != ' ' || v[11] != ' ' || v[16] != ' ' || v[19] != ':'
        || v[22] != ':' || v.substr(25) != " GMT") {
        return std::nullopt;
    }
    std::tm tm{};
    int day = 0;
    int year = 0;
    int hour = 0;
    int minute = 0;
    int second = 0;
    if (!parse_int(v.substr(5, 2), day) || !parse_int(v.substr(12, 4), year) || !parse_int(v.substr(17, 2), hour)
        || !parse_int(v.substr(20, 2), minute) || !parse_int(v.substr(23, 2), second)) {
        return std::nullopt;
    }
    const auto month = std::find(months.begin(), months.end(), v.substr(8, 3));
    if (month == months.end() || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
        return std::nullopt;
    }
    tm.tm_year = year - 1900;
    tm.tm_mon = static_cast<int>(month - months.begin());
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = minute;
    tm.tm_sec = second;
    return static_cast<std::int64_t>(timegm(&tm));
}

} // namespace

verdict classify_status(unsigned status) noexcept
{
    if (status >= 200 && status < 300) {
        return verdict::delivered;
    }
    if (status == 408 || status == 409 || status == 429 || (status >= 500 && status < 600)) {
        return verdict::retry;
    }
    return verdict::give_up;
}

next_step plan_retry(const retry_policy& policy, int attempts, std::chrono::milliseconds age, double jitter,
    std::optional<std::chrono::milliseconds> retry_after) noexcept
{
    using ms = std::chrono::milliseconds;
    if (attempts >= policy.max_attempts) {
        return {true, ms{0}};
    }
    jitter = std::clamp(jitter, 0.0, 1.0);
    // Doubling stops at max_delay; the shift is bounded so it cannot overflow.
    const int doublings = std::clamp(attempts - 1, 0, 40);
    const double base
        = std::min(static_cast<double>(policy.initial_delay.count()) * static_cast<double>(1ULL << doublings),
            static_cast<double>(policy.max_delay.count()));
    ms delay{static_cast<std::int64_t>(base / 2 + base / 2 * jitter)};
    if (retry_after && *retry_after > delay) {
        delay = *retry_after;
    }
    if (age + delay > policy.max_age) {
        return {true, ms{0}};
    }
    return {false, delay};
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::int64_t now_unix_seconds) noexcept
{
    while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
    }
    while (!value.empty() && value.back() == ' ') {
        value.remove_suffix(1);
    }
    if (value.empty()) {
        return std::nullopt;
    }
    if (value.front() >= '0' && value.front() <= '9') {
        std::int64_t seconds = 0;
        const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
        if (ec != std::errc{} || end != value.data() + value.size()) {
            return std::nullopt;
        }
        return std::chrono::seconds(std::min<std::int64_t>(seconds, 365LL * 24 * 3600));
    }
    const auto at = parse_imf_fixdate(value);
    if (!at) {
        return std::nullopt;
    }
    return std::chrono::seconds(std::max<std::int64_t>(0, *at - now_unix_seconds));
}

} // namespace switchboard::delivery
