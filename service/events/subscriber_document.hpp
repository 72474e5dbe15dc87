// The stored subscriber document (the subscriber API's rows in the event store): its format,
// written and read back with the configuration's rules, and how the admin API sees a subscriber.
#pragma once

#include "service/app/config.hpp"
#include "service/store/event_store.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

// Whether a subscriber is delivered to. `paused`: by an operator; `disabled`: its deliveries
// failed for too long (or an operator disabled it). Either way its events keep queueing.
enum class subscriber_state { active, paused, disabled };
std::string_view to_string(subscriber_state s) noexcept;
std::optional<subscriber_state> parse_subscriber_state(std::string_view s) noexcept;

// One subscriber as the admin API shows it.
struct subscriber_view {
    std::string name;
    bool configured = false; // managed by configuration (read-only through the API)
    subscriber_state state = subscriber_state::active;
    std::int64_t version = 0; // stored ones: the version a change must name
    std::int64_t updated_at_ms = 0; // stored ones
    std::int64_t state_changed_at_ms = 0; // stored ones: when state last changed
    std::string state_reason; // why it is paused or disabled, as given
    std::optional<subscriber_config> cfg; // none: the stored settings do not load any more (problem)
    std::string problem; // why it is not delivered to although active (a file gone, TLS settings)
};

// The events a stored subscriber fans out to, even when its settings do not load any more (a
// file gone): its events keep queueing rather than being lost.
std::vector<std::string> filters_of(const boost::json::object& settings);

// {"settings", "state", "state_reason", "state_changed_at", "updated_at"} as stored.
std::string document_of(const boost::json::object& settings, subscriber_state state, const std::string& reason,
    std::int64_t state_changed_at_ms, std::int64_t now_ms);

// A configured subscriber's state, stored (its settings stay in the configuration):
// {"configured": true, "state", "state_reason", "state_changed_at", "updated_at"}.
std::string state_document_of(
    subscriber_state state, const std::string& reason, std::int64_t state_changed_at_ms, std::int64_t now_ms);

// A stored row as the registry holds it: its settings parsed with the configuration's rules
// (a view with a `problem` and no cfg when they do not load), or a configured subscriber's state.
struct loaded_row {
    boost::json::object settings;
    subscriber_view view;
    bool state_only = false;
};
loaded_row load_row(const stored_subscriber& row);

// The settings parsed with the configuration's rules (parse_subscriber), or none and the first
// problem, naming the field.
std::optional<subscriber_config> parse_settings(const boost::json::object& settings, std::string& problem);

// The settings with `secret` as the secret; the one it replaces signs until `previous_until_ms`
// beside the previous secrets that still sign (at most four in all).
void rotate_secret(boost::json::object& settings, const std::string& secret, std::int64_t previous_until_ms);
// A PATCH: the patch's keys replace the settings' (null removes one, resetting it to its
// default; name, url and secret cannot be removed): the problem, or none.
std::optional<std::string> patch_settings(boost::json::object& settings, const boost::json::object& patch);

} // namespace switchboard
