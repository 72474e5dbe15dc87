// Events published to subscribers: what happened on the phone line, as one JSON document per
// event (Standard Webhooks payload shape: {"type", "timestamp", "data"}, plus "id").
#pragma once

#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/sms.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

// New types go last: metrics enumerate them in order.
enum class event_type {
    call_status_changed,
    call_menu_selected,
    sms_received,
    sms_status_changed,
    call_voicemail,
    call_assistant_ended,
    // Operational: about the delivery pipeline itself, not the phone line.
    subscriber_disabled,
    subscriber_recovered,
    delivery_dead_lettered,
};
inline constexpr event_type last_event_type = event_type::delivery_dead_lettered;

// "call.status_changed", "call.menu_selected", "sms.received", "sms.status_changed",
// "call.voicemail", "call.assistant_ended", "subscriber.disabled", "subscriber.recovered",
// "delivery.dead_lettered".
std::string_view to_string(event_type t) noexcept;
std::optional<event_type> parse_event_type(std::string_view s) noexcept;
// subscriber.* and delivery.*: a subscriber gets them only by naming them ("*" does not), and
// never one about itself.
bool is_operational(event_type t) noexcept;

// A subscriber's filter entry: "*" (every type that is not operational), an exact type, or a
// prefix wildcard such as "call.*" or "subscriber.*".
bool filter_matches(std::string_view filter, event_type t) noexcept;
bool is_valid_filter(std::string_view filter) noexcept;

struct call_event {
    std::string id; // unique; also the delivery's webhook-id
    event_type type = event_type::call_status_changed;
    std::int64_t occurred_at_ms = 0; // milliseconds since the Unix epoch (UTC)

    std::string call_sid;
    std::string message_sid;
    std::string account_sid;
    std::string from;
    std::string to;
    std::string direction;
    std::string status; // the call or message status this callback reported
    std::string previous_status; // the recorded status before it; empty for the first event
    std::string current_status; // the recorded status after it (never regresses; see call_status)
    std::optional<std::int64_t> sequence_number;
    std::optional<std::int64_t> duration_seconds;
    std::string digits; // call.menu_selected
    std::string speech; // call.menu_selected by voice: what Twilio heard
    std::string menu; // call.menu_selected, call.voicemail: the menu id
    std::string choice; // call.menu_selected: the option's label
    std::optional<std::int64_t> attempt;
    std::string recording_url; // call.voicemail (duration_seconds: its length)
    std::string recording_sid;
    std::string body; // sms.received
    std::optional<std::int64_t> num_media;
    std::string error_code; // sms.status_changed on failure; call.assistant_ended when it failed
    // call.assistant_ended: what Twilio reported when the <Connect> session ended (SessionId,
    // SessionStatus, SessionDuration as duration_seconds, HandoffData, ErrorMessage) and which
    // hand-off it was (conversation_relay or stream).
    std::string assistant;
    std::string session_id;
    std::string session_status;
    std::string handoff_data;
    std::string error_message;
    // Calls and messages placed through the operator API: from their record.
    std::string agent_name;
    std::string call_purpose;
    std::string workflow_id;
    // Operational events: the subscriber concerned; delivery.dead_lettered: the event that could
    // not be delivered (its id and type), after how many attempts, the last answer; and
    // subscriber.disabled: since when every attempt failed (RFC 3339).
    std::string subscriber;
    std::string event_id;
    std::string event_type_name;
    std::optional<std::int64_t> attempts;
    std::optional<std::int64_t> last_status;
    std::string last_error;
    std::string failing_since;
};

// The delivered JSON document. Empty strings and absent numbers are left out of "data".
std::string to_json(const call_event& e);
// Parses what to_json wrote. Error: invalid_parameter.
boost::system::result<call_event> from_json(std::string_view json);

// Events from parsed webhooks; id, occurred_at_ms and the recorded statuses are the caller's.
call_event status_changed_event(const call_status_update& u);
// From a Gather result (Digits or SpeechResult) that matched an option of `menu`.
call_event menu_selected_event(const form_params& params, std::string_view menu, std::string_view choice, int attempt);
// From a Record action callback (RecordingUrl, RecordingSid, RecordingDuration).
call_event voicemail_event(const form_params& params, std::string_view menu);
// From a <Connect action> callback: the assistant session ended.
call_event assistant_ended_event(const form_params& params, std::string_view menu, std::string_view assistant);
call_event sms_received_event(const sms_message& m);
// Operational events, each with its de-duplication key (one event per occurrence).
struct operational_event {
    call_event event;
    std::string dedupe_key;
};
operational_event subscriber_disabled_event(
    std::string_view subscriber, std::int64_t failing_since_ms, std::string_view last_error, std::int64_t now_ms);
operational_event subscriber_recovered_event(std::string_view subscriber, std::int64_t now_ms);
operational_event delivery_dead_lettered_event(std::string_view subscriber, std::string_view event_id,
    std::string_view type, int attempts, int last_status, std::string_view last_error, std::int64_t attempted_at_ms);
call_event sms_status_changed_event(const sms_message& m);

// RFC 3339 UTC with milliseconds: 2026-11-21T15:04:05.123Z
std::string format_timestamp(std::int64_t unix_ms);
// RFC 3339 with seconds, an optional fraction (milliseconds kept) and "Z" or an offset
// (2027-01-31T00:00:00Z, 2027-01-31T09:30:00.250+09:30, what format_timestamp writes):
// milliseconds since the Unix epoch, or nullopt.
std::optional<std::int64_t> parse_timestamp(std::string_view text);

// The key that makes Twilio's retries (and replays) of one callback yield one event: the natural
// key, the call and its SequenceNumber (a message and its status without one); the unsigned
// I-Twilio-Idempotency-Token only when there is no sid.
std::string dedupe_key(std::string_view idempotency_token, std::string_view sid,
    std::optional<std::int64_t> sequence_number, std::string_view status);

} // namespace switchboard
