// Voice status callbacks: the parameters Twilio sends, and the per-call ordering rules
// (callbacks arrive out of order: follow SequenceNumber, never leave a terminal status).
#pragma once

#include "protocol/core/form.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

enum class call_status { queued, initiated, ringing, in_progress, completed, busy, no_answer, canceled, failed, other };

std::string_view to_string(call_status s) noexcept;
call_status parse_call_status(std::string_view s) noexcept;
bool is_terminal(call_status s) noexcept;

struct call_status_update {
    std::string call_sid;
    std::string account_sid;
    std::string from;
    std::string to;
    std::string direction;
    std::string raw_status; // as sent, for logs; `status` is `other` for unknown values
    call_status status = call_status::other;
    std::optional<std::int64_t> sequence_number;
    std::optional<std::int64_t> duration_seconds; // CallDuration, on completion
    std::string timestamp; // RFC 2822, as sent
};

// Errors: missing_parameter (CallSid, CallStatus), invalid_parameter (a CallSid or AccountSid
// that is not a Twilio SID, a CallStatus Twilio does not send, a SequenceNumber or CallDuration
// that is not a whole number). `problem`, when given, receives a message naming the field.
boost::system::result<call_status_update> parse_call_status_update(
    const form_params& params, std::string* problem = nullptr);

// "CA" followed by 32 hexadecimal digits (prefix given): the shape of every Twilio SID.
bool is_twilio_sid(std::string_view s, std::string_view prefix) noexcept;

// Where a call's status stands (protocol/events/records.hpp keeps the whole record).
struct call_progress {
    call_status status = call_status::other;
    std::int64_t last_sequence = -1;
    std::optional<std::int64_t> duration_seconds;
};

enum class apply_result { applied, stale, after_terminal };

// Applies `u` to `r` unless it is older than what was applied (SequenceNumber) or `r` is
// already terminal. Updates without a SequenceNumber apply unless the call is terminal.
apply_result apply(call_progress& r, const call_status_update& u) noexcept;

} // namespace switchboard
