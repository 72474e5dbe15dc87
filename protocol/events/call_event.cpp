// Event names, filters, JSON encoding and de-duplication keys.
#include "protocol/events/call_event.hpp"

#include "protocol/core/error.hpp"
#include "protocol/core/text.hpp"
#include "protocol/events/event_catalogue.hpp"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <date/date.h>

#include <array>
#include <cstdio>
#include <ctime>

namespace switchboard {
namespace {

constexpr std::array<std::pair<event_type, std::string_view>, 9> names = {{
    {event_type::call_status_changed, "call.status_changed"},
    {event_type::call_menu_selected, "call.menu_selected"},
    {event_type::sms_received, "sms.received"},
    {event_type::sms_status_changed, "sms.status_changed"},
    {event_type::call_voicemail, "call.voicemail"},
    {event_type::call_assistant_ended, "call.assistant_ended"},
    {event_type::subscriber_disabled, "subscriber.disabled"},
    {event_type::subscriber_recovered, "subscriber.recovered"},
    {event_type::delivery_dead_lettered, "delivery.dead_lettered"},
}};

void put(boost::json::object& o, std::string_view key, const std::string& value)
{
    if (!value.empty()) {
        o[key] = value;
    }
}

void put(boost::json::object& o, std::string_view key, const std::optional<std::int64_t>& value)
{
    if (value) {
        o[key] = *value;
    }
}

std::string string_member(const boost::json::object& o, std::string_view key)
{
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// A whole number member; nullopt when absent or not an integer. `out_of_range` is set for an
// integer above INT64_MAX (Boost.JSON holds those as uint64), which to_json never writes.
std::optional<std::int64_t> number(const boost::json::object& o, std::string_view key, bool& out_of_range)
{
    const auto* v = o.if_contains(key);
    if (v != nullptr && v->is_int64()) {
        return v->as_int64();
    }
    if (v != nullptr && v->is_uint64()) {
        out_of_range = true;
    }
    return std::nullopt;
}

} // namespace

std::string_view to_string(event_type t) noexcept
{
    for (const auto& [type, name] : names) {
        if (type == t) {
            return name;
        }
    }
    return "unknown";
}

std::optional<event_type> parse_event_type(std::string_view s) noexcept
{
    for (const auto& [type, name] : names) {
        if (name == s) {
            return type;
        }
    }
    return std::nullopt;
}

bool is_operational(event_type t) noexcept
{
    return t == event_type::subscriber_disabled || t == event_type::subscriber_recovered
        || t == event_type::delivery_dead_lettered;
}

bool filter_matches(std::string_view filter, event_type t) noexcept
{
    const std::string_view name = to_string(t);
    if (filter == "*") {
        return !is_operational(t); // opted into by name or prefix only
    }
    if (filter == name) {
        return true;
    }
    if (filter.size() >= 2 && filter.substr(filter.size() - 2) == ".*") {
        const std::string_view prefix = filter.substr(0, filter.size() - 1); // keeps the '.'
        return name.substr(0, prefix.size()) == prefix;
    }
    return false;
}

bool is_valid_filter(std::string_view filter) noexcept
{
    if (filter == "*" || parse_event_type(filter)) {
        return true;
    }
    for (const auto& [type, name] : names) {
        (void)name;
        if (filter.size() >= 2 && filter.substr(filter.size() - 2) == ".*" && filter_matches(filter, type)) {
            return true;
        }
    }
    return false;
}

operational_event subscriber_disabled_event(
    std::string_view subscriber, std::int64_t failing_since_ms, std::string_view last_error, std::int64_t now_ms)
{
    operational_event out;
    out.event.type = event_type::subscriber_disabled;
    out.event.subscriber = subscriber;
    out.event.failing_since = format_timestamp(failing_since_ms);
    out.event.last_error = last_error;
    out.dedupe_key = "op:disabled:" + std::string(subscriber) + ":" + std::to_string(now_ms);
    return out;
}

operational_event subscriber_recovered_event(std::string_view subscriber, std::int64_t now_ms)
{
    operational_event out;
    out.event.type = event_type::subscriber_recovered;
    out.event.subscriber = subscriber;
    out.dedupe_key = "op:recovered:" + std::string(subscriber) + ":" + std::to_string(now_ms);
    return out;
}

operational_event delivery_dead_lettered_event(std::string_view subscriber, std::string_view event_id,
    std::string_view type, int attempts, int last_status, std::string_view last_error, std::int64_t attempted_at_ms)
{
    operational_event out;
    out.event.type = event_type::delivery_dead_lettered;
    out.event.subscriber = subscriber;
    out.event.event_id = event_id;
    out.event.event_type_name = type;
    out.event.attempts = attempts;
    if (last_status != 0) {
        out.event.last_status = last_status;
    }
    out.event.last_error = last_error;
    // One per dead-lettering: a replayed event that dies again is another occurrence.
    out.dedupe_key
        = "op:dead:" + std::string(subscriber) + ":" + std::string(event_id) + ":" + std::to_string(attempted_at_ms);
    return out;
}

call_event status_changed_event(const call_status_update& u)
{
    call_event e;
    e.type = event_type::call_status_changed;
    e.call_sid = u.call_sid;
    e.account_sid = u.account_sid;
    e.from = u.from;
    e.to = u.to;
    e.direction = u.direction;
    e.status = u.raw_status;
    e.sequence_number = u.sequence_number;
    e.duration_seconds = u.duration_seconds;
    return e;
}

namespace {

call_event call_webhook_event(event_type type, const form_params& params)
{
    call_event e;
    e.type = type;
    e.call_sid = params.get("CallSid");
    e.account_sid = params.get("AccountSid");
    e.from = params.get("From");
    e.to = params.get("To");
    e.direction = params.get("Direction");
    e.status = params.get("CallStatus");
    return e;
}

} // namespace

call_event menu_selected_event(const form_params& params, std::string_view menu, std::string_view choice, int attempt)
{
    call_event e = call_webhook_event(event_type::call_menu_selected, params);
    e.digits = params.get("Digits");
    if (e.digits.empty()) {
        e.speech = params.get("SpeechResult");
    }
    e.menu = menu;
    e.choice = choice;
    e.attempt = attempt;
    return e;
}

namespace {

// A whole number of seconds as Twilio sends it; nullopt for anything else.
std::optional<std::int64_t> seconds_of(std::string_view d)
{
    const auto seconds = text::to_integer<std::int64_t>(d);
    return seconds && *seconds >= 0 ? seconds : std::nullopt;
}

} // namespace

call_event voicemail_event(const form_params& params, std::string_view menu)
{
    call_event e = call_webhook_event(event_type::call_voicemail, params);
    e.menu = menu;
    e.recording_url = params.get("RecordingUrl");
    e.recording_sid = params.get("RecordingSid");
    e.duration_seconds = seconds_of(params.get("RecordingDuration"));
    return e;
}

call_event assistant_ended_event(const form_params& params, std::string_view menu, std::string_view assistant)
{
    call_event e = call_webhook_event(event_type::call_assistant_ended, params);
    e.menu = menu;
    e.assistant = assistant;
    e.session_id = params.get("SessionId");
    e.session_status = params.get("SessionStatus");
    e.duration_seconds = seconds_of(params.get("SessionDuration"));
    e.handoff_data = params.get("HandoffData");
    e.error_code = params.get("ErrorCode");
    e.error_message = params.get("ErrorMessage");
    return e;
}

namespace {

call_event sms_event(event_type type, const sms_message& m)
{
    call_event e;
    e.type = type;
    e.message_sid = m.message_sid;
    e.account_sid = m.account_sid;
    e.from = m.from;
    e.to = m.to;
    e.status = m.status;
    return e;
}

} // namespace

call_event sms_received_event(const sms_message& m)
{
    call_event e = sms_event(event_type::sms_received, m);
    e.direction = "inbound";
    e.body = m.body;
    e.num_media = m.num_media;
    return e;
}

call_event sms_status_changed_event(const sms_message& m)
{
    call_event e = sms_event(event_type::sms_status_changed, m);
    e.error_code = m.error_code;
    return e;
}

std::string format_timestamp(std::int64_t unix_ms)
{
    // Floor division without overflow (unix_ms - 999 overflows near INT64_MIN).
    std::int64_t whole = unix_ms / 1000;
    std::int64_t ms = unix_ms % 1000;
    if (ms < 0) {
        ms += 1000;
        --whole;
    }
    const auto seconds = static_cast<std::time_t>(whole);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<std::int64_t> parse_timestamp(std::string_view view)
{
    std::string text(view); // sscanf needs the terminator
    // A fraction of a second (time-secfrac: what format_timestamp writes) to milliseconds; the
    // rest of it is cut.
    std::int64_t fraction_ms = 0;
    if (text.size() > 20 && text[19] == '.') {
        std::size_t end = 20;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') {
            ++end;
        }
        if (end == 20 || end - 20 > 9) {
            return std::nullopt;
        }
        for (std::size_t i = 20, scale = 100; i < end && i < 23; ++i, scale /= 10) {
            fraction_ms += static_cast<std::int64_t>(text[i] - '0') * static_cast<std::int64_t>(scale);
        }
        text.erase(19, end - 19);
    }
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, oh = 0, om = 0;
    char sign = 0;
    int used = 0;
    const bool zulu = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &y, &mo, &d, &h, &mi, &sec, &used) == 6
        && used == static_cast<int>(text.size());
    if (!zulu
        && !(std::sscanf(
                 text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &sign, &oh, &om, &used)
                == 9
            && used == static_cast<int>(text.size()) && (sign == '+' || sign == '-'))) {
        return std::nullopt;
    }
    const date::year_month_day day{
        date::year{y}, date::month{static_cast<unsigned>(mo)}, date::day{static_cast<unsigned>(d)}};
    if (!day.ok() || h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59 || text.size() < 20 || text[4] != '-') {
        return std::nullopt;
    }
    const std::int64_t offset_s = (sign == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    const std::int64_t days = date::sys_days{day}.time_since_epoch().count();
    return ((days * 86400) + h * 3600 + mi * 60 + sec - offset_s) * 1000 + fraction_ms;
}

std::string to_json(const call_event& e)
{
    boost::json::object data;
    for (const event_field& f : event_fields()) { // the catalogue decides what "data" holds
        if (f.text != nullptr) {
            put(data, f.name, e.*f.text);
        } else {
            put(data, f.name, e.*f.number);
        }
    }
    boost::json::object doc;
    doc["id"] = e.id;
    doc["type"] = to_string(e.type);
    doc["timestamp"] = format_timestamp(e.occurred_at_ms);
    doc["occurred_at_ms"] = e.occurred_at_ms;
    doc["data"] = std::move(data);
    return boost::json::serialize(doc);
}

boost::system::result<call_event> from_json(std::string_view json)
{
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(json, ec);
    if (ec || !doc.is_object()) {
        return error::invalid_parameter;
    }
    const auto& o = doc.as_object();
    bool out_of_range = false;
    const auto type = parse_event_type(string_member(o, "type"));
    const auto at = number(o, "occurred_at_ms", out_of_range);
    const auto* data = o.if_contains("data");
    if (!type || !at || data == nullptr || !data->is_object() || string_member(o, "id").empty()) {
        return error::invalid_parameter;
    }
    const auto& d = data->as_object();
    call_event e;
    e.id = string_member(o, "id");
    e.type = *type;
    e.occurred_at_ms = *at;
    for (const event_field& f : event_fields()) {
        if (f.text != nullptr) {
            e.*f.text = string_member(d, f.name);
        } else {
            e.*f.number = number(d, f.name, out_of_range);
        }
    }
    if (out_of_range) {
        return error::invalid_parameter;
    }
    return e;
}

std::string dedupe_key(std::string_view idempotency_token, std::string_view sid,
    std::optional<std::int64_t> sequence_number, std::string_view status)
{
    // The natural key decides: I-Twilio-Idempotency-Token is not covered by the signature, so a
    // captured request replayed with fresh tokens must not become new events, and a different
    // callback that happens to carry a used token must not be dropped. A Twilio retry repeats
    // the callback, so its natural key is the same. The token only stands in when a callback
    // has no natural key at all.
    // Appended piece by piece: GCC 12's -Wrestrict misreads "literal" + std::string temporaries.
    std::string key;
    if (sid.empty() && !idempotency_token.empty()) {
        return key.append("token:").append(idempotency_token);
    }
    key.append("sid:").append(sid);
    if (sequence_number) {
        key.append("#").append(std::to_string(*sequence_number));
    } else {
        // No SequenceNumber (SMS status callbacks): one event per status of the message.
        key.append("@").append(status);
    }
    return key;
}

} // namespace switchboard
