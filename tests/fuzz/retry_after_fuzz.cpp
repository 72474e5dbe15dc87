// Retry-After from a subscriber's or Twilio's response (protocol/delivery_policy), and the
// retry plan it feeds. Input: 8 bytes of "now", 8 bytes choosing the attempt, age and jitter,
// then the header value. A delay is never negative, and a retry is planned only within max_age.
#include "protocol/events/delivery_policy.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;
using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 16) {
        return 0;
    }
    const std::string_view in = fuzz::as_text(data, size);
    // A clock within ±17,000 years of 1970: what a host can report, and far beyond any date.
    const std::int64_t now = fuzz::number(in.substr(0, 8)) % (std::int64_t{1} << 39);
    const auto choice = static_cast<std::uint64_t>(fuzz::number(in.substr(8, 8)));
    const std::string_view value = in.substr(16);
    fuzz::total([&] {
        const auto after = delivery::parse_retry_after(value, now);
        if (after) {
            fuzz::check(after->count() >= 0, "a Retry-After is not negative");
        }
        // A subscriber's policy within the ranges config.cpp accepts.
        delivery::retry_policy policy;
        policy.max_attempts = 1 + static_cast<int>(choice % 1000);
        const int attempts = 1 + static_cast<int>((choice >> 10) % 1100);
        const std::chrono::milliseconds age{static_cast<std::int64_t>((choice >> 21) % (31ULL * 86'400'000))};
        const double jitter = static_cast<double>((choice >> 56) & 0xFF) / 255.0;
        const auto step = delivery::plan_retry(policy, attempts, age, jitter, after);
        if (!step.give_up) {
            fuzz::check(step.delay >= 0ms, "a delay is not negative");
            fuzz::check(age + step.delay <= policy.max_age, "a retry is planned within max_age");
            fuzz::check(attempts < policy.max_attempts, "a retry is planned only below max_attempts");
            fuzz::check(!after || step.delay >= *after, "Retry-After is honoured as a minimum");
        }
        (void)delivery::classify_status(static_cast<unsigned>(choice & 0x3FF));
    });
    return 0;
}
