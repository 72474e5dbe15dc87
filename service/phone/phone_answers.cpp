// The operator API's answers (phone_answers.hpp).
#include "service/phone/phone_answers.hpp"

#include "protocol/core/error.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/phone_api/idempotency.hpp"
#include "protocol/phone_api/phone_api.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/twiml.hpp"
#include "service/app/config.hpp"
#include "service/client/twilio_client.hpp"
#include "service/events/event_publisher.hpp"
#include "service/events/webhook_routes.hpp"
#include "service/http/http_error.hpp"
#include "service/ivr/voice_routes.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"
#include "service/store/awaitable_store.hpp"
#include "service/store/event_store.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace switchboard::phone_answers {

using phone_api::parsed;

http_response json_ok(http::status status, const json::value& v)
{
    return json_response(status, json::serialize(v));
}

// A 400/401/... in the one error shape, with the message for this request.
http_response bad(boost::system::error_code ec, std::string_view problem)
{
    return error_response(ec, problem);
}

// Twilio failed or refused: our error shape plus Twilio's code and more_info.
http_response twilio_failure(const twilio_result& r, std::string_view operation)
{
    boost::system::error_code ec = r.ec;
    if (r.error.code == 21220) { // "call is not in a state to update"
        ec = error::conflict;
    }
    std::string message;
    if (ec == error::upstream_timeout) {
        message = "Twilio did not answer in time";
    } else if (ec == error::rate_limited) {
        message = "Twilio is rate limiting this account; retry later";
    } else if (r.status == 0) {
        message = "Twilio could not be reached";
    } else if (ec == error::upstream_failed) {
        message = "Twilio failed (HTTP " + std::to_string(r.status) + ")";
    } else {
        message = "Twilio refused the request";
    }
    if (!r.error.message.empty()) {
        message += ": " + r.error.message;
    }
    log::line(ec == error::upstream_rejected || ec == error::not_found || ec == error::conflict ? log::level::info
                                                                                                : log::level::warn,
        "Twilio request failed")
        .str("operation", operation)
        .num("status", r.status)
        .masked("error", r.detail)
        .masked("twilio_message", r.error.message) // Twilio quotes the number it refused
        .emit();
    json::object body;
    body["code"] = to_code(ec);
    body["message"] = message;
    if (r.error.code) {
        body["twilio_code"] = *r.error.code;
    }
    if (!r.error.more_info.empty()) {
        body["more_info"] = r.error.more_info;
    }
    if (r.status != 0) {
        body["twilio_status"] = r.status;
    }
    auto res = json_ok(to_status(ec), body);
    if (ec == error::rate_limited) {
        res.set(
            http::field::retry_after, std::to_string(r.retry_after ? std::max<long>(1, r.retry_after->count()) : 1));
    }
    return res;
}

std::string text(const json::value& v, std::string_view key)
{
    const auto* o = v.if_object();
    const auto* f = o != nullptr ? o->if_contains(key) : nullptr;
    return f != nullptr && f->is_string() ? std::string(f->get_string()) : std::string();
}

// One of Twilio's own fields, as sent (null when absent).
json::value field(const json::value& v, std::string_view key)
{
    const auto* o = v.if_object();
    const auto* f = o != nullptr ? o->if_contains(key) : nullptr;
    return f != nullptr ? *f : json::value(nullptr);
}

// Several of them, by name.
json::object pick(const json::value& v, std::initializer_list<std::string_view> keys)
{
    json::object out;
    for (const auto key : keys) {
        out[key] = field(v, key);
    }
    return out;
}

json::value optional_ms(const std::optional<std::int64_t>& ms)
{
    return ms ? json::value(format_timestamp(*ms)) : json::value(nullptr);
}

json::object call_json(const call_record& c)
{
    json::object o;
    o["sid"] = c.call_sid;
    o["from"] = c.from;
    o["to"] = c.to;
    o["direction"] = c.direction;
    o["status"] = c.status;
    o["duration_seconds"] = c.duration_seconds ? json::value(*c.duration_seconds) : json::value(nullptr);
    o["started_at"] = format_timestamp(c.started_at_ms);
    o["ended_at"] = optional_ms(c.ended_at_ms);
    o["updated_at"] = format_timestamp(c.updated_at_ms);
    json::array menu;
    for (const auto& d : c.menu_selections) {
        menu.emplace_back(d);
    }
    o["menu_selections"] = std::move(menu);
    o["agent_name"] = c.agent_name;
    o["call_purpose"] = c.call_purpose;
    o["workflow_id"] = c.workflow_id;
    return o;
}

// One call as Twilio lists it, in the call log's shape.
json::object twilio_call_json(const json::value& c)
{
    json::object o;
    o["sid"] = text(c, "sid");
    o["from"] = text(c, "from");
    o["to"] = text(c, "to");
    o["direction"] = text(c, "direction");
    o["status"] = text(c, "status");
    const std::string duration = text(c, "duration");
    std::int64_t d = 0;
    const auto [end, ec] = std::from_chars(duration.data(), duration.data() + duration.size(), d);
    o["duration_seconds"]
        = !duration.empty() && ec == std::errc{} && end == duration.data() + duration.size() ? json::value(d) : nullptr;
    const std::string start = text(c, "start_time");
    o["started_at"] = start.empty() ? json::value(nullptr) : json::value(start);
    const std::string stop = text(c, "end_time");
    o["ended_at"] = stop.empty() ? json::value(nullptr) : json::value(stop);
    o["price"] = field(c, "price");
    o["price_unit"] = field(c, "price_unit");
    return o;
}

} // namespace switchboard::phone_answers
