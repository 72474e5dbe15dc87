// The operator API's routes: the bearer routes under /api/phone, the Samsaek line's Twilio
// webhooks, the checks the Twilio-backed operations share, and the Idempotency-Key wrapper.
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

std::optional<http_response> phone_handlers::need_twilio() const
{
    if (d.twilio == nullptr) {
        return bad(error::not_configured, "TWILIO_ACCOUNT_SID is not set: the phone API cannot reach Twilio");
    }
    return std::nullopt;
}

std::optional<http_response> phone_handlers::need_sender() const
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

task<http_response> phone_handlers::incoming_call(request_context& ctx)
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

task<http_response> phone_handlers::status_callback(request_context& ctx)
{
    // One status URL for both: message callbacks carry MessageSid and MessageStatus.
    if (ctx.params.find("MessageStatus") || ctx.params.find("SmsStatus")) {
        co_return co_await sms_status_webhook(ctx, d.events);
    }
    co_return co_await call_status_webhook(ctx, d.stats, d.events);
}

// Records what the API did; false (logged) when the store could not commit it.
// A create with an Idempotency-Key (protocol/phone_api/idempotency.hpp): the first request with a key
// runs `run` and its answer is kept; a repeat with the same body gets that answer again
// (Idempotent-Replayed: true) without calling Twilio, from any replica sharing the store.
// Without the header the handler just runs.
task<http_response> phone_handlers::idempotent(
    request_context& ctx, std::string_view route, task<http_response> (phone_handlers::*run)(request_context&))
{
    const auto header = ctx.request.find("Idempotency-Key");
    if (header == ctx.request.end()) {
        co_return co_await (this->*run)(ctx);
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
        auto res = bad(error::store_unavailable, "the Idempotency-Key could not be checked: the store is unavailable");
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
    http_response res = co_await (this->*run)(ctx);
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

task<bool> phone_handlers::record(std::string_view what, task<store_result<bool>> write)
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

void add_phone_routes(router& r, phone_deps deps)
{
    auto api = std::make_shared<phone_handlers>(phone_handlers{deps});
    const auto bearer
        = [](std::string_view permission) { return route_policy{.rate_limited = true, .permission = permission}; };
    using member = task<http_response> (phone_handlers::*)(request_context&);
    const auto bind = [api](member fn) { return [api, fn](request_context& ctx) { return ((*api).*fn)(ctx); }; };

    r.add({http::verb::get, "/api/phone/numbers/search", "phone_numbers_search", bearer("phone:view"),
        bind(&phone_handlers::search)});
    // The creates: each takes an Idempotency-Key.
    const auto once = [api](std::string_view route, member fn) {
        return [api, route, fn](request_context& ctx) { return api->idempotent(ctx, route, fn); };
    };
    r.add({http::verb::post, "/api/phone/numbers/purchase", "phone_numbers_purchase", bearer("phone:admin"),
        once("phone_numbers_purchase", &phone_handlers::purchase)});
    r.add({http::verb::patch, "/api/phone/numbers/{sid}", "phone_number_update", bearer("phone:admin"),
        bind(&phone_handlers::update_number)});
    r.add({http::verb::post, "/api/phone/call", "phone_call", bearer("phone:call"),
        once("phone_call", &phone_handlers::place_call)});
    r.add({http::verb::post, "/api/phone/sms", "phone_sms", bearer("phone:sms"),
        once("phone_sms", &phone_handlers::send_sms)});
    r.add(
        {http::verb::get, "/api/phone/balance", "phone_balance", bearer("phone:view"), bind(&phone_handlers::balance)});
    r.add({http::verb::get, "/api/phone/calls/history", "phone_calls_history", bearer("phone:view"),
        bind(&phone_handlers::history)});
    r.add({http::verb::get, "/api/phone/calls/{sid}", "phone_call_detail", bearer("phone:view"),
        bind(&phone_handlers::call)});
    r.add({http::verb::post, "/api/phone/calls/{sid}/hangup", "phone_call_hangup", bearer("phone:call"),
        bind(&phone_handlers::hangup)});
    r.add({http::verb::get, "/api/phone/health", "phone_health", bearer("phone:view"), bind(&phone_handlers::health)});
    r.add({http::verb::get, "/api/phone/stats", "phone_stats", bearer("phone:view"), bind(&phone_handlers::stats)});

    const route_policy twilio{.twilio_signature = true, .rate_limited = true};
    r.add({http::verb::post, "/api/phone/webhook/call", "phone_webhook_call", twilio,
        bind(&phone_handlers::incoming_call)});
    r.add({http::verb::post, "/api/phone/webhook/sms", "phone_webhook_sms", twilio,
        [api](request_context& ctx) { return sms_incoming_webhook(ctx, api->d.events, api->cfg().sms_auto_reply); }});
    r.add({http::verb::post, "/api/phone/webhook/status", "phone_webhook_status", twilio,
        bind(&phone_handlers::status_callback)});
}

} // namespace switchboard
