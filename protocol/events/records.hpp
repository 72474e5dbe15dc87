// The call and message log: what a record holds, and how each event or operator-API create
// changes it. This is the one home of those rules: both stores read the current record, hand
// it here with what arrived, and persist what comes back (SQLite inside its transaction, Redis
// behind a version check). No store has a rule of its own: status order and terminal
// stickiness (protocol/twilio/call_status.hpp), SequenceNumber, durations, ended times, menu
// selections, which fields a later writer may fill in, the running totals and billed minutes.
#pragma once

#include "protocol/events/call_event.hpp"
#include "protocol/twilio/call_status.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

// One call of the call log.
struct call_record {
    std::string call_sid;
    std::string account_sid;
    std::string from;
    std::string to;
    std::string direction;
    std::string status; // as recorded; empty until a status callback or the create answer gave one
    std::int64_t last_sequence = -1; // the highest SequenceNumber applied
    std::optional<std::int64_t> duration_seconds;
    std::int64_t started_at_ms = 0; // when the record was first written
    std::optional<std::int64_t> ended_at_ms; // when a terminal status was first applied
    std::int64_t updated_at_ms = 0;
    std::vector<std::string> menu_selections; // digits (or the option's label), in order
    std::string agent_name; // the operator API's fields of a call placed through it
    std::string call_purpose;
    std::string workflow_id;

    bool operator==(const call_record&) const = default;
};

// One message of the message log.
struct message_record {
    std::string message_sid;
    std::string account_sid;
    std::string from;
    std::string to;
    std::string direction;
    std::string status;
    std::string body;
    std::optional<std::int64_t> num_media;
    std::string error_code;
    std::int64_t created_at_ms = 0;
    std::int64_t updated_at_ms = 0;
    std::string agent_name;

    bool operator==(const message_record&) const = default;
};

// Placed through the operator API: recorded once Twilio accepted it.
struct outbound_call {
    std::string call_sid;
    std::string account_sid;
    std::string from;
    std::string to;
    std::string status; // Twilio's status in the create answer (queued)
    std::string agent_name;
    std::string call_purpose;
    std::string workflow_id;
    std::int64_t created_at_ms = 0;
};

struct outbound_message {
    std::string message_sid;
    std::string account_sid;
    std::string from;
    std::string to;
    std::string status;
    std::string body;
    std::string agent_name;
    std::int64_t created_at_ms = 0;
};

// The running totals of the log as named counters, so both stores keep them the same way
// (Redis in a hash, SQLite in a table) and read them back through read_totals(). The names:
// "c\n<status>\n<direction>" calls, "t\n…" calls with a duration, "d\n…" their seconds, "b\n…"
// the minutes Twilio bills for them; "sms_sent", "sms_received".
using counters = std::map<std::string, std::int64_t>;

struct call_totals { // one (status, direction) group of the call log
    std::string status;
    std::string direction;
    std::int64_t calls = 0;
    std::int64_t timed = 0; // calls with a duration (ended and reported)
    std::int64_t duration_seconds = 0;
    std::int64_t billed_minutes = 0;

    bool operator==(const call_totals&) const = default;
};

struct phone_totals {
    std::vector<call_totals> calls; // groups with at least one call, by status then direction
    std::int64_t sms_sent = 0;
    std::int64_t sms_received = 0;
    std::int64_t numbers = 0; // bought through the API (the store counts them)
};

// Whole minutes Twilio bills for a call of `seconds` (rounded up; 0 for 0 or less).
std::int64_t billed_minutes(std::int64_t seconds) noexcept;
// The record's billed minutes; nullopt while it has no duration.
std::optional<std::int64_t> billed_minutes(const call_record& r) noexcept;

// What one record contributes to the counters.
counters totals_of(const call_record& r);
counters totals_of(const message_record& r);
// after − before, without zero entries; `before` nullopt for a new record.
counters totals_change(const std::optional<call_record>& before, const call_record& after);
counters totals_change(const std::optional<message_record>& before, const message_record& after);
// The counters as the stats report them. Unknown names are ignored.
phone_totals read_totals(const counters& c);

template <class Record> struct change {
    Record record; // what to store
    counters totals; // what storing it adds to the running totals
    std::optional<apply_result> applied; // status callbacks: how the status rule treated it
};
using call_change = change<call_record>;
using message_change = change<message_record>;

// Which record an event changes, and its key (a SID); none for an event without one.
enum class record_kind { none, call, message };
record_kind record_of(const call_event& e) noexcept;
const std::string& record_key(const call_event& e) noexcept;

// An event applied to its record (`current`: what is stored, nullopt when nothing is). The
// event is completed from the record as delivered: previous_status, current_status and the
// operator API's fields (agent_name, call_purpose, workflow_id). The call overload takes
// call.status_changed, call.menu_selected, call.voicemail and call.assistant_ended; the message
// overload sms.received and sms.status_changed.
call_change updated(const std::optional<call_record>& current, call_event& e);
message_change updated(const std::optional<message_record>& current, call_event& e);
// The operator API's create answer merged into what status callbacks may have written first:
// its own fields win, the callbacks' status and times stay.
call_change updated(const std::optional<call_record>& current, const outbound_call& c);
message_change updated(const std::optional<message_record>& current, const outbound_message& m);

// Menu selections as both stores keep them: comma-separated.
std::string join_selections(const std::vector<std::string>& s);
std::vector<std::string> split_selections(std::string_view s);

} // namespace switchboard
