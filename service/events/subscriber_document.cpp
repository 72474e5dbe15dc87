// The stored subscriber document: {"settings": <the subscriber object>, "state", "state_reason",
// "state_changed_at", "updated_at"}, written and read back.
#include "service/events/subscriber_document.hpp"

#include "protocol/events/call_event.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace switchboard {

std::vector<std::string> filters_of(const boost::json::object& settings)
{
    std::vector<std::string> out;
    if (const auto* ev = settings.if_contains("events"); ev != nullptr && ev->is_array()) {
        for (const auto& e : ev->as_array()) {
            if (e.is_string()) {
                out.emplace_back(e.as_string());
            }
        }
    }
    if (out.empty()) {
        out.emplace_back("*");
    }
    return out;
}

std::string document_of(const boost::json::object& settings, subscriber_state state, const std::string& reason,
    std::int64_t state_changed_at_ms, std::int64_t now_ms)
{
    boost::json::object doc;
    doc["settings"] = settings;
    doc["state"] = to_string(state);
    doc["state_reason"] = reason;
    doc["state_changed_at"] = format_timestamp(state_changed_at_ms);
    doc["updated_at"] = format_timestamp(now_ms);
    return boost::json::serialize(doc);
}

loaded_row load_row(const stored_subscriber& row)
{
    loaded_row out;
    out.view.name = row.name;
    out.view.version = row.version;
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(row.document, ec);
    const auto* o = ec ? nullptr : doc.if_object();
    const auto* settings = o != nullptr ? o->if_contains("settings") : nullptr;
    if (settings == nullptr || !settings->is_object()) {
        out.view.problem = "the stored document is not a subscriber";
        return out;
    }
    out.settings = settings->as_object();
    const auto text = [&](std::string_view key) -> std::string {
        const auto* v = o->if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    out.view.state = parse_subscriber_state(text("state")).value_or(subscriber_state::active);
    out.view.state_reason = text("state_reason");
    out.view.state_changed_at_ms = parse_timestamp(text("state_changed_at")).value_or(0);
    out.view.updated_at_ms = parse_timestamp(text("updated_at")).value_or(0);
    std::vector<std::string> errors;
    out.view.cfg = parse_subscriber(out.settings, "subscriber", errors);
    if (!out.view.cfg) {
        out.view.problem = errors.empty() ? "the stored settings do not load" : errors.front();
    }
    return out;
}

std::string_view to_string(subscriber_state s) noexcept
{
    switch (s) {
    case subscriber_state::active:
        return "active";
    case subscriber_state::paused:
        return "paused";
    case subscriber_state::disabled:
        return "disabled";
    }
    return "active";
}

std::optional<subscriber_state> parse_subscriber_state(std::string_view s) noexcept
{
    for (const auto st : {subscriber_state::active, subscriber_state::paused, subscriber_state::disabled}) {
        if (s == to_string(st)) {
            return st;
        }
    }
    return std::nullopt;
}

} // namespace switchboard
