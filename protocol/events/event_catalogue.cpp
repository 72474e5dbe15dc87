// The event catalogue (event_catalogue.hpp) and the JSON Schema generated from it.
#include "protocol/events/event_catalogue.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <array>

namespace switchboard {
namespace {

constexpr event_types status = type_bit(event_type::call_status_changed);
constexpr event_types menu = type_bit(event_type::call_menu_selected);
constexpr event_types voicemail = type_bit(event_type::call_voicemail);
constexpr event_types assistant = type_bit(event_type::call_assistant_ended);
constexpr event_types sms_in = type_bit(event_type::sms_received);
constexpr event_types sms_status = type_bit(event_type::sms_status_changed);
constexpr event_types calls = status | menu | voicemail | assistant;
constexpr event_types sms = sms_in | sms_status;
constexpr event_types every = calls | sms;
constexpr event_types disabled = type_bit(event_type::subscriber_disabled);
constexpr event_types recovered = type_bit(event_type::subscriber_recovered);
constexpr event_types dead = type_bit(event_type::delivery_dead_lettered);
constexpr event_types operational = disabled | recovered | dead;

using e = call_event;

// clang-format off
constexpr std::array fields = {
    event_field{"call_sid", &e::call_sid, nullptr, calls, calls, "Twilio's CallSid (CA + 32 hex digits)"},
    event_field{"message_sid", &e::message_sid, nullptr, sms, sms, "Twilio's MessageSid (SM or MM + 32 hex digits)"},
    event_field{"account_sid", &e::account_sid, nullptr, every, 0, "Twilio's AccountSid"},
    event_field{"from", &e::from, nullptr, every, sms_in, "the caller's or sender's number, as Twilio sent it"},
    event_field{"to", &e::to, nullptr, every, sms_in, "the number called or texted"},
    event_field{"direction", &e::direction, nullptr, calls | sms_in, sms_in,
        "Twilio's Direction (inbound, outbound-api, outbound-dial); \"inbound\" for a received SMS"},
    event_field{"status", &e::status, nullptr, every, status | sms_status,
        "the status this callback reported (CallStatus, MessageStatus or SmsStatus)"},
    event_field{"previous_status", &e::previous_status, nullptr, every, 0,
        "the recorded status before this event; absent for the first event of a call or message"},
    event_field{"current_status", &e::current_status, nullptr, every, 0,
        "the recorded status after this event: it never regresses (a late ringing after completed "
        "leaves completed)"},
    event_field{"sequence_number", nullptr, &e::sequence_number, status, 0,
        "Twilio's SequenceNumber: the callback's place among the call's callbacks"},
    event_field{"duration_seconds", nullptr, &e::duration_seconds, status | voicemail | assistant, 0,
        "CallDuration (status), RecordingDuration (voicemail) or SessionDuration (assistant), in seconds"},
    event_field{"digits", &e::digits, nullptr, menu, 0, "the keys the caller pressed"},
    event_field{"speech", &e::speech, nullptr, menu, 0, "what Twilio heard, when the caller answered by voice"},
    event_field{"menu", &e::menu, nullptr, menu | voicemail | assistant, menu | voicemail | assistant,
        "the id of the menu the caller was in"},
    event_field{"choice", &e::choice, nullptr, menu, 0, "the label of the option chosen"},
    event_field{"attempt", nullptr, &e::attempt, menu, menu, "which try at this menu the choice came on (0 for the first)"},
    event_field{"recording_url", &e::recording_url, nullptr, voicemail, voicemail, "Twilio's RecordingUrl"},
    event_field{"recording_sid", &e::recording_sid, nullptr, voicemail, 0, "Twilio's RecordingSid"},
    event_field{"body", &e::body, nullptr, sms_in, 0, "the message text"},
    event_field{"num_media", nullptr, &e::num_media, sms_in, 0, "how many media items the message has"},
    event_field{"error_code", &e::error_code, nullptr, sms_status | assistant, 0,
        "Twilio's ErrorCode, when the message or the assistant session failed"},
    event_field{"assistant", &e::assistant, nullptr, assistant, 0,
        "the hand-off the menu made: conversation_relay or stream (absent when the action URL "
        "names no assistant option)"},
    event_field{"session_id", &e::session_id, nullptr, assistant, 0, "Twilio's SessionId"},
    event_field{"session_status", &e::session_status, nullptr, assistant, 0, "Twilio's SessionStatus"},
    event_field{"handoff_data", &e::handoff_data, nullptr, assistant, 0,
        "Twilio's HandoffData: what the assistant handed back, as it sent it"},
    event_field{"error_message", &e::error_message, nullptr, assistant, 0, "Twilio's ErrorMessage"},
    event_field{"agent_name", &e::agent_name, nullptr, every, 0,
        "calls and messages placed through the operator API: the agent who placed them"},
    event_field{"call_purpose", &e::call_purpose, nullptr, calls, 0, "calls placed through the operator API: their purpose"},
    event_field{"workflow_id", &e::workflow_id, nullptr, calls, 0, "calls placed through the operator API: their workflow"},
    event_field{"subscriber", &e::subscriber, nullptr, operational, operational, "the subscriber concerned (never the receiver)"},
    event_field{"event_id", &e::event_id, nullptr, dead, dead, "the id of the event that could not be delivered"},
    event_field{"event_type", &e::event_type_name, nullptr, dead, dead, "its type"},
    event_field{"attempts", nullptr, &e::attempts, dead, dead, "how many attempts were made"},
    event_field{"last_status", nullptr, &e::last_status, dead, 0, "the HTTP status of the last attempt (absent for a transport error)"},
    event_field{"last_error", &e::last_error, nullptr, disabled | dead, 0, "why the last attempt failed"},
    event_field{"failing_since", &e::failing_since, nullptr, disabled, disabled,
        "since when every delivery attempt to the subscriber failed (RFC 3339)"},
};

constexpr std::array<event_type_info, 9> types = {{
    {event_type::call_status_changed,
        "A call status callback from Twilio (initiated, ringing, in-progress, completed, busy, "
        "no-answer, canceled, failed), with the call's recorded status before and after it."},
    {event_type::call_menu_selected, "The caller chose an option of a menu, by keys or by voice."},
    {event_type::sms_received, "An SMS or MMS arrived at one of the account's numbers."},
    {event_type::sms_status_changed, "A message status callback from Twilio (queued, sent, delivered, failed, ...)."},
    {event_type::call_voicemail, "The caller left a voicemail: the recording is at Twilio."},
    {event_type::call_assistant_ended,
        "A <Connect> hand-off (ConversationRelay or a media stream) ended and the call came back."},
    {event_type::subscriber_disabled,
        "Operational: a subscriber was disabled because every delivery attempt to it failed for its "
        "disable_after_seconds; its events keep queueing until it is resumed."},
    {event_type::subscriber_recovered,
        "Operational: a subscriber that had been disabled was resumed and took a delivery again."},
    {event_type::delivery_dead_lettered,
        "Operational: a delivery to a subscriber was given up (its retries ran out or its answer is not retried)."},
}};
// clang-format on

static_assert(types.size() == static_cast<std::size_t>(last_event_type) + 1, "every event type is in the catalogue");

boost::json::object schema_of(event_type t)
{
    const event_types bit = type_bit(t);
    boost::json::object properties;
    boost::json::array required;
    for (const event_field& f : fields) {
        if ((f.carried_by & bit) == 0) {
            continue;
        }
        boost::json::object p;
        if (f.text != nullptr) {
            p["type"] = "string";
            if ((f.required_by & bit) != 0) {
                p["minLength"] = 1; // empty text is left out
            }
        } else {
            p["type"] = "integer";
        }
        p["description"] = f.description;
        properties[f.name] = std::move(p);
        if ((f.required_by & bit) != 0) {
            required.emplace_back(f.name);
        }
    }
    boost::json::object data{{"type", "object"}, {"additionalProperties", false}};
    data["required"] = std::move(required);
    data["properties"] = std::move(properties);

    boost::json::object top;
    top["$schema"] = "https://json-schema.org/draft/2020-12/schema";
    top["$id"] = "urn:switchboard:event:" + std::string(to_string(t));
    top["title"] = to_string(t);
    for (const auto& info : types) {
        if (info.type == t) {
            top["description"] = info.description;
        }
    }
    top["type"] = "object";
    top["additionalProperties"] = false;
    top["required"] = {"id", "type", "timestamp", "occurred_at_ms", "data"};
    top["properties"] = {
        {"id",
            {{"type", "string"}, {"pattern", "^evt_[0-9a-f]{32}$"},
                {"description", "unique; the delivery's webhook-id (the same on every retry)"}}},
        {"type", {{"const", to_string(t)}}},
        {"timestamp",
            {{"type", "string"}, {"format", "date-time"},
                {"description", "when Switchboard accepted the webhook: RFC 3339 UTC with milliseconds"}}},
        {"occurred_at_ms",
            {{"type", "integer"}, {"description", "the same instant in milliseconds since the Unix epoch"}}},
        {"data", std::move(data)},
    };
    return top;
}

} // namespace

std::span<const event_field> event_fields() noexcept
{
    return fields;
}

std::span<const event_type_info> event_type_infos() noexcept
{
    return types;
}

std::string event_schema_json(event_type t)
{
    return boost::json::serialize(schema_of(t));
}

std::string event_catalogue_json()
{
    boost::json::array list;
    for (const auto& info : types) {
        list.push_back(
            {{"type", to_string(info.type)}, {"description", info.description}, {"schema", schema_of(info.type)}});
    }
    return boost::json::serialize(boost::json::object{{"event_types", std::move(list)}});
}

} // namespace switchboard
