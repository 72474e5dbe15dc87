#include "protocol/events/records.hpp"

#include "protocol/twilio/sms.hpp"

namespace switchboard {
namespace {

// A later writer fills a field only where the record has nothing yet.
void fill(std::string& field, const std::string& value)
{
    if (field.empty()) {
        field = value;
    }
}

void add(counters& out, const counters& c, int sign)
{
    for (const auto& [name, value] : c) {
        out[name] += sign * value;
    }
}

counters without_zeros(counters c)
{
    std::erase_if(c, [](const auto& entry) { return entry.second == 0; });
    return c;
}

template <class Record> counters difference(const std::optional<Record>& before, const Record& after)
{
    counters out = totals_of(after);
    if (before) {
        add(out, totals_of(*before), -1);
    }
    return without_zeros(std::move(out));
}

void describe(call_event& e, const call_record& r)
{
    e.agent_name = r.agent_name;
    e.call_purpose = r.call_purpose;
    e.workflow_id = r.workflow_id;
}

// A status callback: status order, SequenceNumber and terminal stickiness (call_status.hpp's
// apply), the duration, when it ended; a first callback creates the record.
call_change status_changed(const std::optional<call_record>& current, call_event& e)
{
    call_change out;
    call_record& r = out.record;
    call_progress progress;
    if (current) {
        r = *current;
        e.previous_status = r.status;
        progress.status = parse_call_status(r.status);
        progress.last_sequence = r.last_sequence;
        progress.duration_seconds = r.duration_seconds;
    } else {
        r.call_sid = e.call_sid;
        r.started_at_ms = e.occurred_at_ms;
        e.previous_status.clear();
    }
    call_status_update u;
    u.status = parse_call_status(e.status);
    u.sequence_number = e.sequence_number;
    u.duration_seconds = e.duration_seconds;
    out.applied = apply(progress, u);
    if (progress.status != call_status::other) {
        r.status = std::string(to_string(progress.status));
    }
    r.last_sequence = progress.last_sequence;
    r.duration_seconds = progress.duration_seconds;
    if (!r.ended_at_ms && *out.applied == apply_result::applied && is_terminal(progress.status)) {
        r.ended_at_ms = e.occurred_at_ms;
    }
    r.updated_at_ms = e.occurred_at_ms;
    fill(r.account_sid, e.account_sid);
    fill(r.from, e.from);
    fill(r.to, e.to);
    fill(r.direction, e.direction);
    e.current_status = r.status;
    describe(e, r);
    return out;
}

// A menu choice, voicemail or assistant hand-off: the choice joins the call's selections; the
// status is untouched (the event reports the recorded one); the first event creates the record.
call_change call_activity(const std::optional<call_record>& current, call_event& e)
{
    call_change out;
    call_record& r = out.record;
    if (current) {
        r = *current;
    } else {
        r.call_sid = e.call_sid;
        r.account_sid = e.account_sid;
        r.from = e.from;
        r.to = e.to;
        r.direction = e.direction;
        r.started_at_ms = e.occurred_at_ms;
    }
    if (e.type == event_type::call_menu_selected) {
        const std::string& choice = e.digits.empty() ? e.choice : e.digits;
        if (!choice.empty()) {
            r.menu_selections.push_back(choice);
        }
    }
    r.updated_at_ms = e.occurred_at_ms;
    e.previous_status = r.status;
    e.current_status = r.status;
    describe(e, r);
    return out;
}

} // namespace

std::int64_t billed_minutes(std::int64_t seconds) noexcept
{
    return seconds <= 0 ? 0 : (seconds + 59) / 60;
}

std::optional<std::int64_t> billed_minutes(const call_record& r) noexcept
{
    if (!r.duration_seconds) {
        return std::nullopt;
    }
    return billed_minutes(*r.duration_seconds);
}

counters totals_of(const call_record& r)
{
    const std::string group = r.status + "\n" + r.direction;
    counters c{{"c\n" + group, 1}};
    if (r.duration_seconds) {
        c["t\n" + group] = 1;
        c["d\n" + group] = *r.duration_seconds;
        c["b\n" + group] = billed_minutes(*r.duration_seconds);
    }
    return c;
}

counters totals_of(const message_record& r)
{
    if (r.direction.starts_with("outbound")) {
        return {{"sms_sent", 1}};
    }
    if (r.direction == "inbound") {
        return {{"sms_received", 1}};
    }
    return {};
}

counters totals_change(const std::optional<call_record>& before, const call_record& after)
{
    return difference(before, after);
}

counters totals_change(const std::optional<message_record>& before, const message_record& after)
{
    return difference(before, after);
}

phone_totals read_totals(const counters& c)
{
    phone_totals t;
    std::map<std::pair<std::string, std::string>, call_totals> groups;
    for (const auto& [name, value] : c) {
        if (name == "sms_sent") {
            t.sms_sent = value;
            continue;
        }
        if (name == "sms_received") {
            t.sms_received = value;
            continue;
        }
        // "<c|t|d|b>\n<status>\n<direction>"
        const auto first = name.find('\n');
        const auto second = name.find('\n', first + 1);
        if (first != 1 || second == std::string::npos) {
            continue;
        }
        auto& g = groups[{name.substr(2, second - 2), name.substr(second + 1)}];
        switch (name[0]) {
        case 'c':
            g.calls = value;
            break;
        case 't':
            g.timed = value;
            break;
        case 'd':
            g.duration_seconds = value;
            break;
        case 'b':
            g.billed_minutes = value;
            break;
        default:
            break;
        }
    }
    for (auto& [key, g] : groups) {
        if (g.calls > 0) {
            g.status = key.first;
            g.direction = key.second;
            t.calls.push_back(std::move(g));
        }
    }
    return t;
}

record_kind record_of(const call_event& e) noexcept
{
    switch (e.type) {
    case event_type::call_status_changed:
    case event_type::call_menu_selected:
    case event_type::call_voicemail:
    case event_type::call_assistant_ended:
        return e.call_sid.empty() ? record_kind::none : record_kind::call;
    case event_type::sms_received:
    case event_type::sms_status_changed:
        return e.message_sid.empty() ? record_kind::none : record_kind::message;
    case event_type::subscriber_disabled:
    case event_type::subscriber_recovered:
    case event_type::delivery_dead_lettered:
        return record_kind::none;
    }
    return record_kind::none;
}

const std::string& record_key(const call_event& e) noexcept
{
    return record_of(e) == record_kind::message ? e.message_sid : e.call_sid;
}

call_change updated(const std::optional<call_record>& current, call_event& e)
{
    call_change out
        = e.type == event_type::call_status_changed ? status_changed(current, e) : call_activity(current, e);
    out.totals = totals_change(current, out.record);
    return out;
}

message_change updated(const std::optional<message_record>& current, call_event& e)
{
    message_change out;
    message_record& r = out.record;
    if (current) {
        r = *current;
        e.previous_status = r.status;
        e.agent_name = r.agent_name;
        // A terminal status stays unless the message moves on to "read" (delivered → read).
        if (!is_terminal_sms_status(r.status) || e.status == "read") {
            r.status = e.status;
        }
        if (!e.error_code.empty()) {
            r.error_code = e.error_code;
        }
        fill(r.body, e.body);
    } else {
        r.message_sid = e.message_sid;
        r.account_sid = e.account_sid;
        r.from = e.from;
        r.to = e.to;
        r.direction = e.direction;
        r.status = e.status;
        r.body = e.body;
        r.num_media = e.num_media;
        r.error_code = e.error_code;
        r.created_at_ms = e.occurred_at_ms;
        e.previous_status.clear();
        e.agent_name.clear();
    }
    r.updated_at_ms = e.occurred_at_ms;
    e.current_status = r.status;
    out.totals = totals_change(current, r);
    return out;
}

call_change updated(const std::optional<call_record>& current, const outbound_call& c)
{
    call_change out;
    call_record& r = out.record;
    if (current) {
        r = *current;
    } else {
        r.call_sid = c.call_sid;
        r.started_at_ms = c.created_at_ms;
        r.updated_at_ms = c.created_at_ms;
    }
    fill(r.account_sid, c.account_sid);
    fill(r.from, c.from);
    fill(r.to, c.to);
    fill(r.direction, "outbound-api");
    fill(r.status, c.status);
    r.agent_name = c.agent_name;
    r.call_purpose = c.call_purpose;
    r.workflow_id = c.workflow_id;
    out.totals = totals_change(current, r);
    return out;
}

message_change updated(const std::optional<message_record>& current, const outbound_message& m)
{
    message_change out;
    message_record& r = out.record;
    if (current) {
        r = *current;
    } else {
        r.message_sid = m.message_sid;
        r.created_at_ms = m.created_at_ms;
        r.updated_at_ms = m.created_at_ms;
    }
    fill(r.account_sid, m.account_sid);
    fill(r.from, m.from);
    fill(r.to, m.to);
    fill(r.direction, "outbound-api");
    fill(r.status, m.status);
    fill(r.body, m.body);
    r.agent_name = m.agent_name;
    out.totals = totals_change(current, r);
    return out;
}

std::string join_selections(const std::vector<std::string>& s)
{
    std::string out;
    for (const auto& choice : s) {
        if (!out.empty()) {
            out += ',';
        }
        out += choice;
    }
    return out;
}

std::vector<std::string> split_selections(std::string_view s)
{
    std::vector<std::string> out;
    while (!s.empty()) {
        const std::size_t comma = s.find(',');
        out.emplace_back(s.substr(0, comma));
        s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
    }
    return out;
}

} // namespace switchboard
