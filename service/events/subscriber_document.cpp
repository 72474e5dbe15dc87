// The stored subscriber document: {"settings": <the subscriber object>, "state", "state_reason",
// "state_changed_at", "updated_at"}, written and read back.
#include "service/events/subscriber_document.hpp"

#include "protocol/events/call_event.hpp"
#include "service/ops/clock.hpp"

#include <boost/json/array.hpp>
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

namespace {

// The state members both kinds of document carry, after what `doc` holds.
std::string with_state(boost::json::object doc, subscriber_state state, const std::string& reason,
    std::int64_t state_changed_at_ms, std::int64_t now_ms)
{
    doc["state"] = to_string(state);
    doc["state_reason"] = reason;
    doc["state_changed_at"] = format_timestamp(state_changed_at_ms);
    doc["updated_at"] = format_timestamp(now_ms);
    return boost::json::serialize(doc);
}

} // namespace

std::string state_document_of(
    subscriber_state state, const std::string& reason, std::int64_t state_changed_at_ms, std::int64_t now_ms)
{
    return with_state({{"configured", true}}, state, reason, state_changed_at_ms, now_ms);
}

std::string document_of(const boost::json::object& settings, subscriber_state state, const std::string& reason,
    std::int64_t state_changed_at_ms, std::int64_t now_ms)
{
    return with_state({{"settings", settings}}, state, reason, state_changed_at_ms, now_ms);
}

loaded_row load_row(const stored_subscriber& row)
{
    loaded_row out;
    out.view.name = row.name;
    out.view.version = row.version;
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(row.document, ec);
    const auto* o = ec ? nullptr : doc.if_object();
    if (o == nullptr) {
        out.view.problem = "the stored document is not a subscriber";
        return out;
    }
    const auto text = [&](std::string_view key) -> std::string {
        const auto* v = o->if_contains(key);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    out.view.state = parse_subscriber_state(text("state")).value_or(subscriber_state::active);
    out.view.state_reason = text("state_reason");
    out.view.state_changed_at_ms = parse_timestamp(text("state_changed_at")).value_or(0);
    out.view.updated_at_ms = parse_timestamp(text("updated_at")).value_or(0);
    if (const auto* c = o->if_contains("configured"); c != nullptr && c->is_bool() && c->as_bool()) {
        out.state_only = true; // a configured subscriber's state
        out.view.configured = true;
        return out;
    }
    const auto* settings = o->if_contains("settings");
    if (settings == nullptr || !settings->is_object()) {
        out.view.problem = "the stored document is not a subscriber";
        return out;
    }
    out.settings = settings->as_object();
    out.view.cfg = parse_settings(out.settings, out.view.problem);
    return out;
}

std::optional<subscriber_config> parse_settings(const boost::json::object& settings, std::string& problem)
{
    std::vector<std::string> errors;
    auto cfg = parse_subscriber(settings, "subscriber", errors);
    if (!cfg) {
        problem = errors.empty() ? "invalid subscriber settings" : errors.front();
    }
    return cfg;
}

void rotate_secret(boost::json::object& settings, const std::string& secret, std::int64_t previous_until_ms)
{
    const std::int64_t now = unix_ms_now();
    boost::json::array previous;
    const auto* old = settings.if_contains("secret");
    if (old != nullptr && old->is_string()) {
        previous.push_back({{"secret", old->as_string()}, {"expires_at", format_timestamp(previous_until_ms)}});
    }
    // The previous secrets still signing stay, the latest first, as many as fit.
    if (const auto* p = settings.if_contains("previous_secrets"); p != nullptr && p->is_array()) {
        for (const auto& e : p->as_array()) {
            const auto* eo = e.if_object();
            const auto* at = eo != nullptr ? eo->if_contains("expires_at") : nullptr;
            const auto until = at != nullptr && at->is_string() ? parse_timestamp(at->as_string()) : std::nullopt;
            if (until && *until > now && previous.size() < 4) {
                previous.push_back(e);
            }
        }
    }
    settings["secret"] = secret;
    settings["previous_secrets"] = std::move(previous);
}

std::optional<std::string> patch_settings(boost::json::object& settings, const boost::json::object& patch)
{
    for (const auto& [key, value] : patch) {
        if (value.is_null()) {
            if (key == "name" || key == "url" || key == "secret") {
                return std::string(key) + " cannot be removed";
            }
            settings.erase(key);
        } else {
            settings[key] = value;
        }
    }
    return std::nullopt;
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
