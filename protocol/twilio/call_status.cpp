// Voice status callback parsing and per-call ordering.
#include "protocol/twilio/call_status.hpp"

#include "protocol/core/error.hpp"

#include <charconv>

namespace switchboard {
namespace {

boost::system::result<std::optional<std::int64_t>> optional_number(const form_params& p, std::string_view name)
{
    const auto v = p.find(name);
    if (!v || v->empty()) {
        return std::optional<std::int64_t>{};
    }
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
    if (ec != std::errc{} || end != v->data() + v->size() || n < 0) {
        return error::invalid_parameter;
    }
    return std::optional<std::int64_t>{n};
}

} // namespace

std::string_view to_string(call_status s) noexcept
{
    switch (s) {
    case call_status::queued:
        return "queued";
    case call_status::initiated:
        return "initiated";
    case call_status::ringing:
        return "ringing";
    case call_status::in_progress:
        return "in-progress";
    case call_status::completed:
        return "completed";
    case call_status::busy:
        return "busy";
    case call_status::no_answer:
        return "no-answer";
    case call_status::canceled:
        return "canceled";
    case call_status::failed:
        return "failed";
    case call_status::other:
        return "other";
    }
    return "other";
}

call_status parse_call_status(std::string_view s) noexcept
{
    for (const auto c : {call_status::queued, call_status::initiated, call_status::ringing, call_status::in_progress,
             call_status::completed, call_status::busy, call_status::no_answer, call_status::canceled,
             call_status::failed}) {
        if (s == to_string(c)) {
            return c;
        }
    }
    return call_status::other;
}

bool is_terminal(call_status s) noexcept
{
    return s == call_status::completed || s == call_status::busy || s == call_status::no_answer
        || s == call_status::canceled || s == call_status::failed;
}

bool is_twilio_sid(std::string_view s, std::string_view prefix) noexcept
{
    if (s.size() != prefix.size() + 32 || s.substr(0, prefix.size()) != prefix) {
        return false;
    }
    for (const char c : s.substr(prefix.size())) {
        const bool hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!hex) {
            return false;
        }
    }
    return true;
}

boost::system::result<call_status_update> parse_call_status_update(const form_params& params, std::string* problem)
{
    const auto fail = [problem](error e, std::string why) -> boost::system::result<call_status_update> {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return e;
    };
    call_status_update u;
    u.call_sid = params.get("CallSid");
    u.raw_status = params.get("CallStatus");
    if (u.call_sid.empty() || u.raw_status.empty()) {
        return fail(error::missing_parameter, "status callback: CallSid and CallStatus are required");
    }
    if (!is_twilio_sid(u.call_sid, "CA")) {
        return fail(error::invalid_parameter, "status callback: CallSid must be CA followed by 32 hex digits");
    }
    u.status = parse_call_status(u.raw_status);
    if (u.status == call_status::other) {
        return fail(error::invalid_parameter,
            "status callback: CallStatus must be one of queued, initiated, ringing, in-progress, completed, busy, "
            "no-answer, canceled, failed");
    }
    u.account_sid = params.get("AccountSid");
    if (!u.account_sid.empty() && !is_twilio_sid(u.account_sid, "AC")) {
        return fail(error::invalid_parameter, "status callback: AccountSid must be AC followed by 32 hex digits");
    }
    u.from = params.get("From");
    u.to = params.get("To");
    u.direction = params.get("Direction");
    u.timestamp = params.get("Timestamp");
    auto seq = optional_number(params, "SequenceNumber");
    auto duration = optional_number(params, "CallDuration");
    if (!seq || !duration) {
        return fail(error::invalid_parameter, "status callback: SequenceNumber and CallDuration must be whole numbers");
    }
    u.sequence_number = *seq;
    u.duration_seconds = *duration;
    return u;
}

apply_result apply(call_progress& r, const call_status_update& u) noexcept
{
    if (is_terminal(r.status)) {
        return apply_result::after_terminal;
    }
    if (u.sequence_number) {
        if (*u.sequence_number <= r.last_sequence) {
            return apply_result::stale;
        }
        r.last_sequence = *u.sequence_number;
    }
    r.status = u.status;
    if (u.duration_seconds) {
        r.duration_seconds = u.duration_seconds;
    }
    return apply_result::applied;
}

} // namespace switchboard
