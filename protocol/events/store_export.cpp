#include "protocol/events/store_export.hpp"

#include "protocol/core/error.hpp"

#include <boost/json.hpp>

namespace switchboard::store_export {
namespace {

namespace json = boost::json;

json::value optional_value(const std::optional<std::int64_t>& v)
{
    return v ? json::value(*v) : json::value(nullptr);
}

json::object to_object(const delivery& d)
{
    return {{"subscriber", d.subscriber}, {"state", d.state}, {"attempts", d.attempts},
        {"next_attempt_at_ms", d.next_attempt_at_ms}, {"first_attempt_at_ms", optional_value(d.first_attempt_at_ms)},
        {"last_attempt_at_ms", optional_value(d.last_attempt_at_ms)}, {"last_status", d.last_status},
        {"last_error", d.last_error}};
}

struct encoder {
    json::object operator()(const header& h) const
    {
        return {{"kind", "header"}, {"format", format_name}, {"version", format_version}, {"store", h.store},
            {"exported_at_ms", h.exported_at_ms}};
    }
    json::object operator()(const event& e) const
    {
        json::array rows;
        for (const auto& d : e.deliveries) {
            rows.push_back(to_object(d));
        }
        return {{"kind", "event"}, {"seq", e.seq}, {"id", e.id}, {"type", e.type}, {"occurred_at_ms", e.occurred_at_ms},
            {"dedupe_key", e.dedupe_key}, {"subject", e.subject}, {"payload", e.payload},
            {"deliveries", std::move(rows)}};
    }
    json::object operator()(const call_record& c) const
    {
        json::array selections;
        for (const auto& s : c.menu_selections) {
            selections.push_back(json::value(s));
        }
        return {{"kind", "call"}, {"call_sid", c.call_sid}, {"account_sid", c.account_sid}, {"from", c.from},
            {"to", c.to}, {"direction", c.direction}, {"status", c.status}, {"last_sequence", c.last_sequence},
            {"duration_seconds", optional_value(c.duration_seconds)}, {"started_at_ms", c.started_at_ms},
            {"ended_at_ms", optional_value(c.ended_at_ms)}, {"updated_at_ms", c.updated_at_ms},
            {"menu_selections", std::move(selections)}, {"agent_name", c.agent_name}, {"call_purpose", c.call_purpose},
            {"workflow_id", c.workflow_id}};
    }
    json::object operator()(const message_record& m) const
    {
        return {{"kind", "message"}, {"message_sid", m.message_sid}, {"account_sid", m.account_sid}, {"from", m.from},
            {"to", m.to}, {"direction", m.direction}, {"status", m.status}, {"body", m.body},
            {"num_media", optional_value(m.num_media)}, {"error_code", m.error_code},
            {"created_at_ms", m.created_at_ms}, {"updated_at_ms", m.updated_at_ms}, {"agent_name", m.agent_name}};
    }
    json::object operator()(const number& n) const
    {
        return {{"kind", "number"}, {"sid", n.sid}, {"phone_number", n.phone_number},
            {"friendly_name", n.friendly_name}, {"purchased_at_ms", n.purchased_at_ms}};
    }
    json::object operator()(const totals& t) const
    {
        json::object values;
        for (const auto& [name, value] : t.values) {
            values[name] = value;
        }
        return {{"kind", "totals"}, {"values", std::move(values)}};
    }
    json::object operator()(const counts& c) const
    {
        return {{"kind", "end"}, {"events", c.events}, {"deliveries", c.deliveries}, {"calls", c.calls},
            {"messages", c.messages}, {"numbers", c.numbers}, {"subscribers", c.subscribers}};
    }
    json::object operator()(const subscriber& s) const
    {
        return {{"kind", "subscriber"}, {"name", s.name}, {"document", s.document}, {"version", s.version}};
    }
};

// Reads the fields of one object, remembering the first problem.
class reader {
public:
    explicit reader(const json::object& o) : o_(o) { }

    std::string text(std::string_view key)
    {
        const auto* v = o_.if_contains(key);
        if (v == nullptr || !v->is_string()) {
            fail(key, "a string");
            return {};
        }
        return std::string(v->as_string());
    }
    std::int64_t integer(std::string_view key)
    {
        const auto* v = o_.if_contains(key);
        if (v == nullptr || !v->is_int64()) {
            fail(key, "an integer");
            return 0;
        }
        return v->as_int64();
    }
    std::optional<std::int64_t> optional_integer(std::string_view key)
    {
        const auto* v = o_.if_contains(key);
        if (v != nullptr && v->is_null()) {
            return std::nullopt;
        }
        return integer(key);
    }
    // A member that may be absent (a newer field): `fallback` then.
    std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t fallback)
    {
        return o_.contains(key) ? optional_integer(key) : fallback;
    }
    const json::array* array(std::string_view key)
    {
        const auto* v = o_.if_contains(key);
        if (v == nullptr || !v->is_array()) {
            fail(key, "an array");
            return nullptr;
        }
        return &v->as_array();
    }
    const json::object* object(std::string_view key)
    {
        const auto* v = o_.if_contains(key);
        if (v == nullptr || !v->is_object()) {
            fail(key, "an object");
            return nullptr;
        }
        return &v->as_object();
    }
    void fail(std::string_view key, std::string_view expected)
    {
        if (problem_.empty()) {
            problem_ = std::string(key) + ": expected " + std::string(expected);
        }
    }
    const std::string& problem() const { return problem_; }

private:
    const json::object& o_;
    std::string problem_;
};

bool known_state(std::string_view s)
{
    return s == "pending" || s == "in_flight" || s == "delivered" || s == "dead";
}

line read_event(reader& r, std::string& problem)
{
    event e;
    e.seq = r.integer("seq");
    e.id = r.text("id");
    e.type = r.text("type");
    e.occurred_at_ms = r.integer("occurred_at_ms");
    e.dedupe_key = r.text("dedupe_key");
    e.subject = r.text("subject");
    e.payload = r.text("payload");
    if (const auto* rows = r.array("deliveries")) {
        for (const auto& v : *rows) {
            if (!v.is_object()) {
                r.fail("deliveries", "objects");
                break;
            }
            reader d(v.as_object());
            delivery x;
            x.subscriber = d.text("subscriber");
            x.state = d.text("state");
            x.attempts = d.integer("attempts");
            x.next_attempt_at_ms = d.integer("next_attempt_at_ms");
            x.first_attempt_at_ms = d.optional_integer("first_attempt_at_ms");
            x.last_attempt_at_ms = d.optional_integer("last_attempt_at_ms");
            x.last_status = d.integer("last_status");
            x.last_error = d.text("last_error");
            if (!d.problem().empty()) {
                problem = "deliveries: " + d.problem();
                return e;
            }
            if (!known_state(x.state) || x.subscriber.empty()) {
                problem = "deliveries: state must be pending, in_flight, delivered or dead, with a subscriber";
                return e;
            }
            e.deliveries.push_back(std::move(x));
        }
    }
    if (r.problem().empty() && (e.seq <= 0 || e.id.empty() || e.dedupe_key.empty())) {
        problem = "event: seq must be positive, id and dedupe_key not empty";
    }
    return e;
}

line read_call(reader& r, std::string& problem)
{
    call_record c;
    c.call_sid = r.text("call_sid");
    c.account_sid = r.text("account_sid");
    c.from = r.text("from");
    c.to = r.text("to");
    c.direction = r.text("direction");
    c.status = r.text("status");
    c.last_sequence = r.integer("last_sequence");
    c.duration_seconds = r.optional_integer("duration_seconds");
    c.started_at_ms = r.integer("started_at_ms");
    c.ended_at_ms = r.optional_integer("ended_at_ms");
    c.updated_at_ms = r.integer("updated_at_ms");
    if (const auto* s = r.array("menu_selections")) {
        for (const auto& v : *s) {
            if (!v.is_string()) {
                r.fail("menu_selections", "strings");
                break;
            }
            c.menu_selections.emplace_back(v.as_string());
        }
    }
    c.agent_name = r.text("agent_name");
    c.call_purpose = r.text("call_purpose");
    c.workflow_id = r.text("workflow_id");
    if (r.problem().empty() && c.call_sid.empty()) {
        problem = "call: call_sid is empty";
    }
    return c;
}

line read_message(reader& r, std::string& problem)
{
    message_record m;
    m.message_sid = r.text("message_sid");
    m.account_sid = r.text("account_sid");
    m.from = r.text("from");
    m.to = r.text("to");
    m.direction = r.text("direction");
    m.status = r.text("status");
    m.body = r.text("body");
    m.num_media = r.optional_integer("num_media");
    m.error_code = r.text("error_code");
    m.created_at_ms = r.integer("created_at_ms");
    m.updated_at_ms = r.integer("updated_at_ms");
    m.agent_name = r.text("agent_name");
    if (r.problem().empty() && m.message_sid.empty()) {
        problem = "message: message_sid is empty";
    }
    return m;
}

} // namespace

std::string to_line(const line& l)
{
    return json::serialize(std::visit(encoder{}, l));
}

boost::system::result<line> parse_line(std::string_view text, std::string* problem_out)
{
    std::string problem;
    const auto refuse = [&](std::string why) -> boost::system::result<line> {
        if (problem_out != nullptr) {
            *problem_out = std::move(why);
        }
        return error::invalid_parameter;
    };
    boost::system::error_code ec;
    const json::value doc = json::parse(text, ec);
    if (ec || !doc.is_object()) {
        return refuse("not a JSON object");
    }
    reader r(doc.as_object());
    const std::string kind = r.text("kind");
    line out;
    if (kind == "header") {
        header h;
        const std::string format = r.text("format");
        const std::int64_t version = r.integer("version");
        h.store = r.text("store");
        h.exported_at_ms = r.integer("exported_at_ms");
        if (r.problem().empty() && (format != format_name || version != format_version)) {
            problem
                = "header: not a " + std::string(format_name) + " file of version " + std::to_string(format_version);
        }
        out = h;
    } else if (kind == "event") {
        out = read_event(r, problem);
    } else if (kind == "call") {
        out = read_call(r, problem);
    } else if (kind == "message") {
        out = read_message(r, problem);
    } else if (kind == "number") {
        number n;
        n.sid = r.text("sid");
        n.phone_number = r.text("phone_number");
        n.friendly_name = r.text("friendly_name");
        n.purchased_at_ms = r.integer("purchased_at_ms");
        if (r.problem().empty() && (n.sid.empty() || n.phone_number.empty())) {
            problem = "number: sid and phone_number must not be empty";
        }
        out = n;
    } else if (kind == "totals") {
        totals t;
        if (const auto* values = r.object("values")) {
            for (const auto& [name, v] : *values) {
                if (!v.is_int64()) {
                    r.fail("values", "integers");
                    break;
                }
                t.values[std::string(name)] = v.as_int64();
            }
        }
        out = t;
    } else if (kind == "end") {
        counts c;
        c.events = r.integer("events");
        c.deliveries = r.integer("deliveries");
        c.calls = r.integer("calls");
        c.messages = r.integer("messages");
        c.numbers = r.integer("numbers");
        c.subscribers = r.optional_integer("subscribers", 0).value_or(0);
        out = c;
    } else if (kind == "subscriber") {
        subscriber sub;
        sub.name = r.text("name");
        sub.document = r.text("document");
        sub.version = r.integer("version");
        if (r.problem().empty() && (sub.name.empty() || sub.document.empty() || sub.version < 1)) {
            problem = "subscriber: name and document must not be empty, version at least 1";
        }
        out = sub;
    } else if (r.problem().empty()) {
        problem = "kind: expected header, event, call, message, number, totals, subscriber or end";
    }
    if (!r.problem().empty()) {
        return refuse(kind.empty() ? r.problem() : kind + ": " + r.problem());
    }
    if (!problem.empty()) {
        return refuse(std::move(problem));
    }
    return out;
}

void add(counts& c, const line& l)
{
    if (const auto* e = std::get_if<event>(&l)) {
        ++c.events;
        c.deliveries += static_cast<std::int64_t>(e->deliveries.size());
    } else if (std::holds_alternative<call_record>(l)) {
        ++c.calls;
    } else if (std::holds_alternative<message_record>(l)) {
        ++c.messages;
    } else if (std::holds_alternative<number>(l)) {
        ++c.numbers;
    } else if (std::holds_alternative<subscriber>(l)) {
        ++c.subscribers;
    }
}

} // namespace switchboard::store_export
