// /api/phone handlers: validate, call Twilio and the store, answer JSON.
#include "service/phone_routes.hpp"

#include "protocol/call_event.hpp"
#include "protocol/call_status.hpp"
#include "protocol/error.hpp"
#include "protocol/idempotency.hpp"
#include "protocol/phone_api.hpp"
#include "protocol/twiml.hpp"
#include "service/awaitable_store.hpp"
#include "service/clock.hpp"
#include "service/config.hpp"
#include "service/event_publisher.hpp"
#include "service/event_store.hpp"
#include "service/http_error.hpp"
#include "service/log.hpp"
#include "service/metrics.hpp"
#include "service/twilio_client.hpp"
#include "service/voice_routes.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace switchboard {
namespace {

namespace json = boost::json;
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

struct phone_api_impl {
    phone_deps d;

    const phone_config& cfg() const { return d.cfg.phone; }

    std::optional<http_response> need_twilio() const
    {
        if (d.twilio == nullptr) {
            return bad(error::not_configured, "TWILIO_ACCOUNT_SID is not set: the phone API cannot reach Twilio");
        }
        return std::nullopt;
    }

    std::optional<http_response> need_sender() const
    {
        if (auto r = need_twilio()) {
            return r;
        }
        if (cfg().phone_number.empty()) {
            return bad(error::not_configured, "SWITCHBOARD_TWILIO_PHONE_NUMBER is not set: no number to send from");
        }
        if (d.cfg.public_url.empty()) {
            return bad(error::not_configured,
                "SWITCHBOARD_PUBLIC_URL is not set: Twilio needs it to send status callbacks to this service");
        }
        return std::nullopt;
    }

    std::string path(std::string_view rest) const { return phone_api::account_path(cfg().account_sid, rest); }

    // ---- Twilio-backed operations ----

    task<http_response> search(request_context& ctx)
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

    task<http_response> purchase(request_context& ctx)
    {
        std::string problem;
        auto p = phone_api::parse_purchase_request(ctx.request.body(), &problem);
        if (!p) {
            co_return bad(p.error(), problem);
        }
        if (auto r = need_twilio()) {
            co_return std::move(*r);
        }
        auto hooks
            = phone_api::purchase_webhooks(*p, cfg().webhook_base, d.cfg.public_url, cfg().development, &problem);
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
        purchased_number n{
            text(r.body, "sid"), text(r.body, "phone_number"), text(r.body, "friendly_name"), unix_ms_now()};
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

    task<http_response> place_call(request_context& ctx)
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

    task<http_response> send_sms(request_context& ctx)
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

    task<http_response> balance(request_context&)
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

    // ---- the call log ----

    task<http_response> history(request_context& ctx)
    {
        std::string problem;
        auto q = phone_api::parse_history_query(ctx.query, &problem);
        if (!q) {
            co_return bad(q.error(), problem);
        }
        if (q->from_twilio) {
            co_return co_await twilio_history(*q);
        }
        call_filter f;
        f.limit = static_cast<std::size_t>(q->limit);
        f.status = q->status;
        f.direction = q->direction;
        f.before_started_at_ms = q->before_started_at_ms;
        f.before_call_sid = q->before_call_sid;
        auto page = co_await d.calls.calls(f);
        if (!page) {
            co_return bad(page.error(), "the call log cannot be read now; retry later");
        }
        json::array calls;
        for (const auto& c : page->rows) {
            calls.push_back(call_json(c));
        }
        json::object body;
        body["source"] = "local";
        body["count"] = calls.size();
        body["calls"] = std::move(calls);
        body["next_cursor"] = page->more
            ? json::value(phone_api::history_cursor(page->more->started_at_ms, page->more->call_sid))
            : json::value(nullptr);
        co_return json_ok(http::status::ok, body);
    }

    task<http_response> twilio_history(const phone_api::history_query& q)
    {
        if (auto r = need_twilio()) {
            co_return std::move(*r);
        }
        phone_api::form query;
        query.add("PageSize", std::to_string(std::min(q.limit, 100)));
        if (!q.status.empty()) {
            query.add("Status", q.status);
        }
        auto r = co_await d.twilio->get_all(
            "list_calls", path("Calls.json") + "?" + query.str(), "calls", static_cast<std::size_t>(q.limit));
        if (r.ec) {
            co_return twilio_failure(r, "list_calls");
        }
        json::array calls;
        for (const auto& c : r.body.at("calls").get_array()) {
            const std::string direction = text(c, "direction");
            const bool keep = q.direction.empty() || direction == q.direction
                || (q.direction == "outbound" && direction.starts_with("outbound"));
            if (keep) {
                calls.push_back(twilio_call_json(c));
            }
        }
        json::object body;
        body["source"] = "twilio";
        body["count"] = calls.size();
        body["calls"] = std::move(calls);
        body["next_cursor"] = nullptr;
        body["pages"] = r.body.at("pages");
        body["truncated"] = r.body.at("more");
        co_return json_ok(http::status::ok, body);
    }

    task<http_response> call(request_context& ctx)
    {
        const std::string sid = ctx.path_params.at(0).second;
        if (!is_twilio_sid(sid, "CA")) {
            co_return bad(error::invalid_parameter, "a call SID is CA followed by 32 hexadecimal digits");
        }
        ctx.log.call_sid = sid;
        auto local = co_await d.calls.call(sid);
        if (!local && local.error() != error::not_found) {
            co_return bad(local.error(), "the call log cannot be read now; retry later");
        }
        std::optional<twilio_result> remote;
        if (d.twilio != nullptr) {
            remote = co_await d.twilio->get("fetch_call", path("Calls/" + sid + ".json"));
        }
        const bool remote_ok = remote && !remote->ec;
        if (!local && !remote_ok) {
            if (remote && remote->ec != error::not_found) {
                co_return twilio_failure(*remote, "fetch_call");
            }
            co_return bad(error::not_found, "no call " + sid + " in the call log or at Twilio");
        }
        json::object body;
        if (local) {
            body = call_json(local->call);
            json::array events;
            for (const auto& e : local->events) {
                boost::system::error_code ec;
                auto v = json::parse(e, ec);
                if (!ec) {
                    events.push_back(std::move(v));
                }
            }
            body["events"] = std::move(events);
            body["recorded"] = true;
        } else {
            body = twilio_call_json(remote->body);
            body["events"] = json::array();
            body["menu_selections"] = json::array();
            body["recorded"] = false;
        }
        if (remote_ok) {
            body["twilio"] = pick(remote->body,
                {"status", "direction", "from", "to", "start_time", "end_time", "duration", "price", "price_unit",
                    "answered_by", "date_updated"});
        } else {
            body["twilio"] = nullptr;
            if (remote) {
                json::object why;
                why["code"] = to_code(remote->ec);
                if (remote->error.code) {
                    why["twilio_code"] = *remote->error.code;
                }
                body["twilio_error"] = std::move(why);
            }
        }
        co_return json_ok(http::status::ok, body);
    }

    // Re-points a number the account already owns: no purchase needed to use the service.
    task<http_response> update_number(request_context& ctx)
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

    task<http_response> hangup(request_context& ctx)
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

    // ---- health and stats ----

    task<http_response> health(request_context&)
    {
        json::object body;
        bool ok = true;
        // The cheapest read of the call log (one index entry) proves the store answers.
        call_filter newest;
        newest.limit = 1;
        auto store = co_await d.calls.calls(newest);
        json::object st;
        st["ok"] = static_cast<bool>(store);
        ok = ok && store;
        body["store"] = std::move(st);
        json::object conf;
        conf["account_sid"] = !cfg().account_sid.empty();
        conf["credentials"] = cfg().api_key_sid.empty() ? "auth_token" : "api_key";
        conf["phone_number"] = cfg().phone_number.empty() ? json::value(nullptr) : json::value(cfg().phone_number);
        conf["public_url"] = !d.cfg.public_url.empty();
        conf["token_keys"] = d.token_keys;
        conf["api_base_url"] = cfg().api_base_url;
        const bool complete = !cfg().account_sid.empty() && !cfg().phone_number.empty() && !d.cfg.public_url.empty()
            && d.token_keys > 0;
        conf["complete"] = complete;
        ok = ok && complete;
        body["configuration"] = std::move(conf);
        json::object tw;
        if (d.twilio != nullptr) {
            const auto started = std::chrono::steady_clock::now();
            auto r = co_await d.twilio->get("fetch_account", "/2010-04-01/Accounts/" + cfg().account_sid + ".json");
            tw["latency_ms"]
                = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
            tw["reachable"] = r.status != 0;
            tw["credentials_valid"] = !r.ec;
            if (r.ec) {
                tw["error"] = to_code(r.ec);
                ok = false;
            } else {
                tw["account_status"] = text(r.body, "status");
            }
        } else {
            tw["reachable"] = nullptr;
            tw["credentials_valid"] = nullptr;
        }
        body["twilio"] = std::move(tw);
        body["status"] = ok ? "ok" : "degraded";
        co_return json_ok(ok ? http::status::ok : http::status::service_unavailable, body);
    }

    task<http_response> stats(request_context&)
    {
        auto t = co_await d.calls.totals(cfg().phone_number);
        if (!t) {
            co_return bad(t.error(), "the call log cannot be read now; retry later");
        }
        json::object by_status;
        json::object by_direction;
        std::int64_t total = 0;
        std::int64_t timed = 0;
        std::int64_t seconds = 0;
        std::int64_t minutes = 0;
        for (const auto& g : t->calls) {
            const std::string status = g.status.empty() ? "unknown" : g.status;
            const std::string direction = g.direction.empty() ? "unknown" : g.direction;
            by_status[status] = (by_status.contains(status) ? by_status[status].as_int64() : 0) + g.calls;
            by_direction[direction]
                = (by_direction.contains(direction) ? by_direction[direction].as_int64() : 0) + g.calls;
            total += g.calls;
            timed += g.timed;
            seconds += g.duration_seconds;
            minutes += g.billed_minutes;
        }
        const phone_api::prices prices{cfg().price_voice_minute, cfg().price_sms, cfg().price_number_month};
        const auto cost = phone_api::estimate_cost({minutes, t->sms_sent, t->numbers}, prices);
        json::object calls;
        calls["total"] = total;
        calls["by_status"] = std::move(by_status);
        calls["by_direction"] = std::move(by_direction);
        calls["total_duration_seconds"] = seconds;
        calls["average_duration_seconds"] = timed > 0 ? (seconds + timed / 2) / timed : 0;
        calls["billed_minutes"] = minutes;
        json::object sms;
        sms["sent"] = t->sms_sent;
        sms["received"] = t->sms_received;
        json::object price;
        // Money as decimal strings, as Twilio writes prices ("0.0085"), never as binary floats.
        price["voice_minute"] = phone_api::money(prices.voice_minute);
        price["sms"] = phone_api::money(prices.sms);
        price["number_month"] = phone_api::money(prices.number_month);
        json::object est;
        est["currency"] = cfg().currency;
        est["voice"] = phone_api::money(cost.voice);
        est["sms"] = phone_api::money(cost.sms);
        est["numbers_monthly"] = phone_api::money(cost.numbers);
        est["total"] = phone_api::money(cost.total);
        est["prices"] = std::move(price);
        json::object body;
        body["calls"] = std::move(calls);
        body["sms"] = std::move(sms);
        body["phone_numbers"] = t->numbers;
        body["estimated_cost"] = std::move(est);
        co_return json_ok(http::status::ok, body);
    }

    // ---- the Samsaek line's webhooks ----

    task<http_response> incoming_call(request_context& ctx)
    {
        if (cfg().greeting.empty()) {
            co_return co_await ivr_incoming_call(ctx, d.voice); // the line of the called number
        }
        ctx.log.call_sid = ctx.params.get("CallSid");
        ctx.log.from = ctx.params.get("From");
        ctx.log.to = ctx.params.get("To");
        twiml::response r;
        r.say(cfg().greeting, cfg().default_voice, cfg().default_language).hangup();
        co_return text_response(http::status::ok, std::move(r).str(), twiml::content_type);
    }

    task<http_response> status_callback(request_context& ctx)
    {
        // One status URL for both: message callbacks carry MessageSid and MessageStatus.
        if (ctx.params.find("MessageStatus") || ctx.params.find("SmsStatus")) {
            co_return co_await sms_status_webhook(ctx, d.events);
        }
        co_return co_await call_status_webhook(ctx, d.stats, d.events);
    }

    // Records what the API did; false (logged) when the store could not commit it.
    // A create with an Idempotency-Key (protocol/idempotency.hpp): the first request with a key
    // runs `handler` and its answer is kept; a repeat with the same body gets that answer again
    // (Idempotent-Replayed: true) without calling Twilio, from any replica sharing the store.
    // Without the header the handler just runs.
    task<http_response> idempotent(
        request_context& ctx, std::string_view route, task<http_response> (phone_api_impl::*handler)(request_context&))
    {
        const auto header = ctx.request.find("Idempotency-Key");
        if (header == ctx.request.end()) {
            co_return co_await (this->*handler)(ctx);
        }
        std::string problem;
        const auto key = idempotency::parse_key(header->value(), &problem);
        if (!key) {
            d.stats.idempotency["invalid"].Increment();
            co_return bad(key.error(), problem);
        }
        const std::string scope = idempotency::scope(ctx.log.subject, *key);
        const std::string print
            = idempotency::fingerprint(ctx.request.method_string(), ctx.request.target(), ctx.request.body());
        const idempotency::policy policy{
            std::chrono::duration_cast<std::chrono::milliseconds>(cfg().idempotency_ttl).count(),
            idempotency::policy{}.lease_ms};
        const std::int64_t now = unix_ms_now();
        auto begun = co_await d.keys.begin(scope, print, now, policy);
        if (!begun) {
            d.stats.idempotency["unavailable"].Increment();
            auto res
                = bad(error::store_unavailable, "the Idempotency-Key could not be checked: the store is unavailable");
            res.set(http::field::retry_after, "1");
            co_return res;
        }
        switch (begun->what) {
        case idempotency::verdict::in_flight:
            d.stats.idempotency["in_flight"].Increment();
            co_return bad(error::idempotency_key_in_use,
                "a request with this Idempotency-Key is still being processed; retry when it has finished");
        case idempotency::verdict::mismatch:
            d.stats.idempotency["reused"].Increment();
            co_return bad(error::idempotency_key_reused,
                "this Idempotency-Key was used for a different request (another body or route); use a new key");
        case idempotency::verdict::replay: {
            d.stats.idempotency["replayed"].Increment();
            auto res = json_response(static_cast<http::status>(begun->existing.status), begun->existing.body);
            res.set("Idempotent-Replayed", "true");
            co_return res;
        }
        case idempotency::verdict::proceed:
            break;
        }
        d.stats.idempotency["proceeded"].Increment();
        http_response res = co_await (this->*handler)(ctx);
        const idempotency::record claim = *begun->write;
        auto kept = idempotency::finish(claim, static_cast<int>(res.result_int()), res.body());
        const bool keep = kept.has_value();
        auto finished = co_await d.keys.finish(scope, claim, std::move(kept));
        if (!finished || !*finished) {
            // The key stays claimed until its lease ends: repeats get 409 meanwhile, never a
            // second create.
            log::line(log::level::error, "an Idempotency-Key answer could not be stored")
                .str("route", route)
                .num("status", static_cast<std::int64_t>(res.result_int()))
                .str("error", finished ? "the key was taken over after its lease" : finished.error().message())
                .emit();
        } else if (!keep) {
            log::line(log::level::debug, "Idempotency-Key freed: the answer is not kept")
                .str("route", route)
                .num("status", static_cast<std::int64_t>(res.result_int()))
                .emit();
        }
        co_return res;
    }

    task<bool> record(std::string_view what, task<store_result<bool>> write)
    {
        auto r = co_await std::move(write);
        if (!r) {
            log::line(log::level::error, "the call log could not record an API action")
                .str("operation", what)
                .str("error", r.error().message())
                .emit();
            co_return false;
        }
        co_return true;
    }
};

} // namespace

void add_phone_routes(router& r, phone_deps deps)
{
    auto api = std::make_shared<phone_api_impl>(phone_api_impl{deps});
    const auto bearer
        = [](std::string_view permission) { return route_policy{.rate_limited = true, .permission = permission}; };
    using member = task<http_response> (phone_api_impl::*)(request_context&);
    const auto bind = [api](member fn) { return [api, fn](request_context& ctx) { return ((*api).*fn)(ctx); }; };

    r.add({http::verb::get, "/api/phone/numbers/search", "phone_numbers_search", bearer("phone:view"),
        bind(&phone_api_impl::search)});
    // The creates: each takes an Idempotency-Key.
    const auto once = [api](std::string_view route, member fn) {
        return [api, route, fn](request_context& ctx) { return api->idempotent(ctx, route, fn); };
    };
    r.add({http::verb::post, "/api/phone/numbers/purchase", "phone_numbers_purchase", bearer("phone:admin"),
        once("phone_numbers_purchase", &phone_api_impl::purchase)});
    r.add({http::verb::patch, "/api/phone/numbers/{sid}", "phone_number_update", bearer("phone:admin"),
        bind(&phone_api_impl::update_number)});
    r.add({http::verb::post, "/api/phone/call", "phone_call", bearer("phone:call"),
        once("phone_call", &phone_api_impl::place_call)});
    r.add({http::verb::post, "/api/phone/sms", "phone_sms", bearer("phone:sms"),
        once("phone_sms", &phone_api_impl::send_sms)});
    r.add(
        {http::verb::get, "/api/phone/balance", "phone_balance", bearer("phone:view"), bind(&phone_api_impl::balance)});
    r.add({http::verb::get, "/api/phone/calls/history", "phone_calls_history", bearer("phone:view"),
        bind(&phone_api_impl::history)});
    r.add({http::verb::get, "/api/phone/calls/{sid}", "phone_call_detail", bearer("phone:view"),
        bind(&phone_api_impl::call)});
    r.add({http::verb::post, "/api/phone/calls/{sid}/hangup", "phone_call_hangup", bearer("phone:call"),
        bind(&phone_api_impl::hangup)});
    r.add({http::verb::get, "/api/phone/health", "phone_health", bearer("phone:view"), bind(&phone_api_impl::health)});
    r.add({http::verb::get, "/api/phone/stats", "phone_stats", bearer("phone:view"), bind(&phone_api_impl::stats)});

    const route_policy twilio{.twilio_signature = true, .rate_limited = true};
    r.add({http::verb::post, "/api/phone/webhook/call", "phone_webhook_call", twilio,
        bind(&phone_api_impl::incoming_call)});
    r.add({http::verb::post, "/api/phone/webhook/sms", "phone_webhook_sms", twilio,
        [api](request_context& ctx) { return sms_incoming_webhook(ctx, api->d.events, api->cfg().sms_auto_reply); }});
    r.add({http::verb::post, "/api/phone/webhook/status", "phone_webhook_status", twilio,
        bind(&phone_api_impl::status_callback)});
}

} // namespace switchboard
