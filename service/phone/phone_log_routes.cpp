// The operator API's reads: call history (this service's log, or Twilio's with from=twilio),
// one call with its events, health (store, configuration, Twilio reachability) and stats.
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

task<http_response> phone_handlers::history(request_context& ctx)
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

task<http_response> phone_handlers::twilio_history(const phone_api::history_query& q)
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

task<http_response> phone_handlers::call(request_context& ctx)
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

task<http_response> phone_handlers::health(request_context&)
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
    const bool complete
        = !cfg().account_sid.empty() && !cfg().phone_number.empty() && !d.cfg.public_url.empty() && d.token_keys > 0;
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

task<http_response> phone_handlers::stats(request_context&)
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
        by_direction[direction] = (by_direction.contains(direction) ? by_direction[direction].as_int64() : 0) + g.calls;
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

} // namespace switchboard
