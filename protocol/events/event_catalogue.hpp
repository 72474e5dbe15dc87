// The event catalogue: every event type, every member of its "data", which types carry it and
// which always do. The one definition: to_json and from_json (call_event.cpp) encode the members
// listed here and nothing else, and the JSON Schema that GET /admin/event-types and
// `switchboard events schema` print is generated from it.
#pragma once

#include "protocol/events/call_event.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace switchboard {

// A set of event types, one bit each.
using event_types = std::uint32_t;
constexpr event_types type_bit(event_type t) noexcept
{
    return event_types{1} << static_cast<unsigned>(t);
}

struct event_field {
    std::string_view name; // the member of "data"
    // Exactly one of the two: a text member (left out when empty) or a whole number (left out
    // when absent).
    std::string call_event::*text = nullptr;
    std::optional<std::int64_t> call_event::*number = nullptr;
    event_types carried_by = 0; // the types whose events may have it
    event_types required_by = 0; // the types whose events always have it (a subset)
    std::string_view description;
};

// In the order to_json writes them.
std::span<const event_field> event_fields() noexcept;

struct event_type_info {
    event_type type;
    std::string_view description;
};
// Every type, in event_type order.
std::span<const event_type_info> event_type_infos() noexcept;

// The JSON Schema (draft 2020-12) of one type's delivered document.
std::string event_schema_json(event_type t);
// {"event_types":[{"type", "description", "schema"}, ...]}: every type, in order.
std::string event_catalogue_json();

} // namespace switchboard
