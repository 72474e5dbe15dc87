// The operator API's Twilio-backed operations: search and buy numbers, re-point a number, place
// a call, send an SMS, read the balance, hang up. Each validates first (protocol/phone_api), then
// calls Twilio's REST API and records what it did in the call log.
#include "service/phone/phone_handlers.hpp"

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

namespace switchboard {

using namespace phone_answers;

task<http_response> phone_handlers::search(request_context& ctx)
{
    std::string problem;
    auto q = phone_api::parse_number_search(ctx.query, &problem);
    if (!q) {
        co_return bad(q.error(), problem);
    }
    if (auto r = need_twilio()) {
        co_return std::move(*r);
    }
    auto r = co_await d.twilio->get("search_numbers",
        path("AvailablePhoneNumbers/" + q->country + "/Local.json") + "?" + phone_api::search_query(*q));
    if (r.ec) {
        co_return twilio_failure(r, "search_numbers");
    }
    json::array numbers;
    const auto* list = r.body.is_object() ? r.body.get_object().if_contains("available_phone_numbers") : nullptr;
    if (list != nullptr && list->is_array()) {
        for (const auto& n : list->get_array()) {
            if (numbers.size() < static_cast<std::size_t>(q->limit)) {
                numbers.push_back(pick(n,
                    {"phone_number", "friendly_name", "locality", "region", "postal_code", "iso_country",
                        "capabilities"}));
            }
        }
    }
    json::object body;
    body["country"] = q->country;
    body["count"] = numbers.size();
    body["numbers"] = std::move(numbers);
    co_return json_ok(http::status::ok, body);
}

task<http_response> phone_handlers::purchase(request_context& ctx)
{
    std::string problem;
    auto p = phone_api::parse_purchase_request(ctx.request.body(), &problem);
    if (!p) {
        co_return bad(p.error(), problem);
    }
    if (auto r = need_twilio()) {
        co_return std::move(*r);
    }
    auto hooks = phone_api::purchase_webhooks(*p, cfg().webhook_base, d.cfg.public_url, cfg().development, &problem);
    if (!hooks) {
        co_return bad(hooks.error(), problem);
    }
    auto fallbacks = phone_api::purchase_fallbacks(
        *p, cfg().voice_fallback, cfg().sms_fallback, d.cfg.public_url, cfg().development, &problem);
    if (!fallbacks) {
        co_return bad(fallbacks.error(), problem);
    }
    phone_api::add_overrides(*hooks, *fallbacks, cfg().webhook_overrides, cfg().status_overrides);
    const std::string& voice_url = hooks->voice_url;
    const std::string& sms_url = hooks->sms_url;
    const std::string& status_url = hooks->status_callback_url;
    auto r = co_await d.twilio->post("purchase_number", path("IncomingPhoneNumbers.json"),
        phone_api::purchase_form(*p, voice_url, sms_url, status_url, *fallbacks));
    if (r.ec) {
        co_return twilio_failure(r, "purchase_number");
    }
    purchased_number n{text(r.body, "sid"), text(r.body, "phone_number"), text(r.body, "friendly_name"), unix_ms_now()};
    if (n.phone_number.empty()) {
        n.phone_number = p->phone_number;
    }
    const bool recorded = co_await record("record_number", d.calls.record_number(n));
    json::object body = pick(r.body, {"sid", "phone_number", "friendly_name", "capabilities"});
    body["voice_url"] = voice_url;
    body["sms_url"] = sms_url;
    body["status_callback"] = status_url;
    body["voice_fallback_url"] = fallbacks->voice_url;
    body["sms_fallback_url"] = fallbacks->sms_url;
    body["recorded"] = recorded;
    co_return json_ok(http::status::created, body);
}

task<http_response> phone_handlers::place_call(request_context& ctx)
{
    std::string problem;
    auto c = phone_api::parse_call_request(ctx.request.body(), &problem);
    if (!c) {
        co_return bad(c.error(), problem);
    }
    if (auto r = need_sender()) {
        co_return std::move(*r);
    }
    const std::string voice = c->voice.empty() ? cfg().default_voice : c->voice;
    const std::string language = c->language.empty() ? cfg().default_language : c->language;
    auto twiml = phone_api::checked_call_twiml(c->message, voice, language, &problem);
    if (!twiml) {
        co_return bad(twiml.error(), problem);
    }
    ctx.log.to = c->to;
    auto r = co_await d.twilio->post("create_call", path("Calls.json"),
        phone_api::create_call_form(*c, cfg().phone_number, *twiml, cfg().status_callback));
    if (r.ec) {
        co_return twilio_failure(r, "create_call");
    }
    outbound_call call{text(r.body, "sid"), cfg().account_sid, cfg().phone_number, c->to, text(r.body, "status"),
        c->agent_name, c->call_purpose, c->workflow_id, unix_ms_now()};
    if (call.status.empty()) {
        call.status = "queued";
    }
    ctx.log.call_sid = call.call_sid;
    // The call is placed whatever happens next: a store failure is logged, never a retry
    // invitation (a second POST would place a second call).
    bool recorded = false;
    if (!call.call_sid.empty()) {
        recorded = co_await record("record_call", d.calls.record_call(call));
    }
    json::object body;
    body["sid"] = call.call_sid;
    body["status"] = call.status;
    body["to"] = c->to;
    body["from"] = cfg().phone_number;
    body["direction"] = "outbound-api";
    body["voice"] = voice;
    body["language"] = language;
    body["record"] = c->record;
    body["agent_name"] = c->agent_name;
    body["call_purpose"] = c->call_purpose;
    body["workflow_id"] = c->workflow_id;
    body["status_callback"] = cfg().status_callback;
    body["recorded"] = recorded;
    co_return json_ok(http::status::created, body);
}

task<http_response> phone_handlers::send_sms(request_context& ctx)
{
    std::string problem;
    auto m = phone_api::parse_sms_request(ctx.request.body(), &problem);
    if (!m) {
        co_return bad(m.error(), problem);
    }
    if (auto r = need_sender()) {
        co_return std::move(*r);
    }
    ctx.log.to = m->to;
    auto r = co_await d.twilio->post(
        "send_sms", path("Messages.json"), phone_api::send_sms_form(*m, cfg().phone_number, cfg().status_callback));
    if (r.ec) {
        co_return twilio_failure(r, "send_sms");
    }
    outbound_message msg{text(r.body, "sid"), cfg().account_sid, cfg().phone_number, m->to, text(r.body, "status"),
        m->message, m->agent_name, unix_ms_now()};
    if (msg.status.empty()) {
        msg.status = "queued";
    }
    ctx.log.message_sid = msg.message_sid;
    bool recorded = false;
    if (!msg.message_sid.empty()) {
        recorded = co_await record("record_message", d.calls.record_message(msg));
    }
    json::object body;
    body["sid"] = msg.message_sid;
    body["status"] = msg.status;
    body["to"] = m->to;
    body["from"] = cfg().phone_number;
    body["agent_name"] = m->agent_name;
    body["segments"] = field(r.body, "num_segments");
    body["status_callback"] = cfg().status_callback;
    body["recorded"] = recorded;
    co_return json_ok(http::status::created, body);
}

task<http_response> phone_handlers::balance(request_context&)
{
    if (auto r = need_twilio()) {
        co_return std::move(*r);
    }
    auto r = co_await d.twilio->get("fetch_balance", path("Balance.json"));
    if (r.ec) {
        co_return twilio_failure(r, "fetch_balance");
    }
    json::object body;
    body["account_sid"] = text(r.body, "account_sid");
    body["balance"] = text(r.body, "balance");
    body["currency"] = text(r.body, "currency");
    co_return json_ok(http::status::ok, body);
}

// Re-points a number the account already owns: no purchase needed to use the service.
task<http_response> phone_handlers::update_number(request_context& ctx)
{
    const std::string sid = ctx.path_params.at(0).second;
    if (!is_twilio_sid(sid, "PN")) {
        co_return bad(error::invalid_parameter, "a phone number SID is PN followed by 32 hexadecimal digits");
    }
    std::string problem;
    auto u = phone_api::parse_number_update(ctx.request.body(), &problem);
    if (!u) {
        co_return bad(u.error(), problem);
    }
    auto hooks = phone_api::update_webhooks(*u, cfg().development, &problem);
    if (!hooks) {
        co_return bad(hooks.error(), problem);
    }
    auto fallbacks = phone_api::update_fallbacks(*u, cfg().development, &problem);
    if (!fallbacks) {
        co_return bad(fallbacks.error(), problem);
    }
    if (auto r = need_twilio()) {
        co_return std::move(*r);
    }
    phone_api::add_overrides(*hooks, *fallbacks, cfg().webhook_overrides, cfg().status_overrides);
    auto r = co_await d.twilio->post("update_number", path("IncomingPhoneNumbers/" + sid + ".json"),
        phone_api::number_update_form(*u, *hooks, *fallbacks));
    if (r.ec) {
        if (r.ec == error::not_found) {
            co_return bad(error::not_found, "this account owns no number " + sid);
        }
        co_return twilio_failure(r, "update_number");
    }
    json::object body = pick(r.body,
        {"sid", "phone_number", "friendly_name", "voice_url", "sms_url", "voice_fallback_url", "sms_fallback_url"});
    body["status_callback"] = text(r.body, "status_callback");
    co_return json_ok(http::status::ok, body);
}

task<http_response> phone_handlers::hangup(request_context& ctx)
{
    const std::string sid = ctx.path_params.at(0).second;
    if (!is_twilio_sid(sid, "CA")) {
        co_return bad(error::invalid_parameter, "a call SID is CA followed by 32 hexadecimal digits");
    }
    ctx.log.call_sid = sid;
    if (auto r = need_twilio()) {
        co_return std::move(*r);
    }
    // Twilio's status decides: a queued or ringing call is canceled, a live one completed.
    auto now = co_await d.twilio->get("fetch_call", path("Calls/" + sid + ".json"));
    if (now.ec) {
        if (now.ec == error::not_found) {
            co_return bad(error::not_found, "Twilio knows no call " + sid);
        }
        co_return twilio_failure(now, "fetch_call");
    }
    const std::string current = text(now.body, "status");
    const call_status status = parse_call_status(current);
    if (is_terminal(status)) {
        co_return bad(error::conflict, "the call has already ended (" + current + ")");
    }
    const bool not_answered
        = status == call_status::queued || status == call_status::ringing || status == call_status::initiated;
    const std::string requested = not_answered ? "canceled" : "completed";
    phone_api::form f;
    f.add("Status", requested);
    auto r = co_await d.twilio->post("update_call", path("Calls/" + sid + ".json"), f.str());
    if (r.ec) {
        co_return twilio_failure(r, "update_call");
    }
    json::object body;
    body["sid"] = sid;
    body["previous_status"] = current;
    body["requested_status"] = requested;
    body["status"] = text(r.body, "status");
    co_return json_ok(http::status::ok, body);
}

} // namespace switchboard
