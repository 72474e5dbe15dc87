// The IVR's handlers (/api/voice/incoming, menu, dial, recording, assistant, health): parse the
// webhook, run the IVR engine (protocol/ivr/ivr_engine.hpp) on the live menu definition,
// publish the caller's choices as events, answer TwiML. Status callbacks and SMS webhooks are
// service/events/webhook_routes.cpp's.
#include "service/ivr/voice_routes.hpp"

#include "protocol/core/error.hpp"
#include "protocol/core/phone.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/ivr/ivr_engine.hpp"
#include "protocol/phone_api/phone_api.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/sms.hpp"
#include "protocol/twilio/twiml.hpp"
#include "service/app/config.hpp"
#include "service/client/twilio_client.hpp"
#include "service/events/event_publisher.hpp"
#include "service/http/http_error.hpp"
#include "service/http/rate_limiter.hpp"
#include "service/ivr/menu_catalog.hpp"
#include "service/ivr/time_zone.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"
#include "service/store/awaitable_store.hpp"
#include "service/store/redis/shared_rate_limiter.hpp"

namespace switchboard {
namespace {

// Twilio gives up on a webhook after 15 s: an sms action must answer well before that.
constexpr std::chrono::milliseconds sms_action_timeout{8'000};

ivr::call_info call_of(const request_context& ctx)
{
    return {ctx.params.get("To"), ctx.params.get("From"), ctx.log.call_sid};
}

// A Gather answer is one event however often it arrives (a Twilio retry, a replay with a fresh
// I-Twilio-Idempotency-Token, which the signature does not cover): its key is where the call
// was (menu, trail, attempt, round: all in the signed URL) and what the caller entered. Two
// different choices never share one: the round tells a choice made again after repeat/back
// from its first time.
std::string menu_dedupe_key(const request_context& ctx, const ivr::call_state& state, std::string_view menu)
{
    const std::string_view digits = ctx.params.get("Digits");
    std::string key = "menu:" + ctx.log.call_sid + "#" + std::string(menu) + "/" + state.trail + "/"
        + std::to_string(state.attempt);
    if (state.round > 0) {
        key += "/r" + std::to_string(state.round);
    }
    return key + "@" + std::string(digits.empty() ? ctx.params.get("SpeechResult") : digits);
}

class ivr_handlers {
public:
    explicit ivr_handlers(voice_deps d) : d_(d) { }

    task<http_response> incoming(request_context& ctx)
    {
        note_caller(ctx);
        const auto def = d_.menus.current();
        const auto now = std::chrono::system_clock::now();
        auto s = ivr::answer(*def, call_of(ctx), [now](std::string_view zone) { return local_time_in(zone, now); });
        co_return co_await finish(ctx, std::move(s));
    }

    task<http_response> menu(request_context& ctx)
    {
        note_caller(ctx);
        const auto def = d_.menus.current();
        const auto state = ivr::parse_state(parse_form(ctx.query));
        const std::string_view digits = ctx.params.get("Digits");
        const std::string_view speech = ctx.params.get("SpeechResult");
        ctx.log.digits = digits;
        auto s = ivr::select(*def, call_of(ctx), state, digits, speech);
        bool duplicate = false;
        if (!s.restarted && (!digits.empty() || !speech.empty())) {
            // A choice is an event: stored before the caller hears the answer (or, while the
            // store refuses writes, spilled: event_publisher.hpp).
            if (ctx.log.call_sid.empty()) {
                co_return error_response(error::missing_parameter, "menu: CallSid is required");
            }
            append_request req;
            req.event = menu_selected_event(ctx.params, s.menu, s.choice, state.attempt);
            req.dedupe_key = menu_dedupe_key(ctx, state, s.menu);
            const auto r = co_await d_.events.publish_for_caller(ctx, std::move(req));
            if (r == event_publisher::caller_outcome::refused) {
                co_return event_publisher::refused();
            }
            duplicate = r == event_publisher::caller_outcome::duplicate;
        }
        if (!s.restarted && !duplicate) {
            d_.stats.ivr_selection(s.menu, s.choice).Increment();
        }
        co_return co_await finish(ctx, std::move(s), duplicate);
    }

    task<http_response> dial(request_context& ctx)
    {
        note_caller(ctx);
        const auto def = d_.menus.current();
        const std::string_view status = ctx.params.get("DialCallStatus");
        ctx.log.call_status = status;
        auto s = ivr::dial_result(*def, call_of(ctx), ivr::parse_state(parse_form(ctx.query)), status);
        co_return co_await finish(ctx, std::move(s));
    }

    task<http_response> recording(request_context& ctx)
    {
        note_caller(ctx);
        if (ctx.log.call_sid.empty() || ctx.params.get("RecordingUrl").empty()) {
            co_return error_response(error::missing_parameter, "recording: CallSid and RecordingUrl are required");
        }
        const auto def = d_.menus.current();
        const auto state = ivr::parse_state(parse_form(ctx.query));
        auto s = ivr::recorded(*def, call_of(ctx), state);
        // The voicemail is an event, stored (or spilled) before the caller hears goodbye; a
        // stale menu state still keeps the message.
        append_request req;
        req.event = voicemail_event(ctx.params, state.menu.empty() ? s.menu : state.menu);
        // The recording is the natural key (a replay with a fresh token is still the same message).
        const std::string_view recording = ctx.params.get("RecordingSid");
        req.dedupe_key = "voicemail:" + ctx.log.call_sid + "@"
            + std::string(recording.empty() ? ctx.params.get("RecordingUrl") : recording);
        const auto stored = co_await d_.events.publish_for_caller(ctx, std::move(req));
        if (stored == event_publisher::caller_outcome::refused) {
            co_return event_publisher::refused();
        }
        co_return co_await finish(ctx, std::move(s));
    }

    // Twilio requests the <Connect action> when an assistant session (ConversationRelay or a
    // Media Stream) ends: the end is an event, stored before the caller hears what follows.
    task<http_response> assistant(request_context& ctx)
    {
        note_caller(ctx);
        if (ctx.log.call_sid.empty()) {
            co_return error_response(error::missing_parameter, "assistant: CallSid is required");
        }
        const auto def = d_.menus.current();
        const auto state = ivr::parse_state(parse_form(ctx.query));
        auto s = ivr::assistant_ended(*def, call_of(ctx), state);
        append_request req;
        req.event = assistant_ended_event(ctx.params, state.menu.empty() ? s.menu : state.menu, s.assistant);
        // One session ends once: where the call was (all in the signed URL) and the session.
        req.dedupe_key = "assistant:" + ctx.log.call_sid + "#" + state.menu + "/" + state.trail + "/" + state.at + "/r"
            + std::to_string(state.round) + "@" + std::string(ctx.params.get("SessionId"));
        const auto stored = co_await d_.events.publish_for_caller(ctx, std::move(req));
        if (stored == event_publisher::caller_outcome::refused) {
            co_return event_publisher::refused();
        }
        co_return co_await finish(ctx, std::move(s));
    }

private:
    // Counts the step, runs its sms follow-up, answers its TwiML. `duplicate`: the request is a
    // retry or replay of a stored choice, whose SMS (if any) was dealt with the first time.
    task<http_response> finish(request_context& ctx, ivr::step s, bool duplicate = false)
    {
        if (!s.action.empty()) {
            d_.stats.ivr_actions[s.action].Increment();
        }
        if (s.restarted) {
            d_.stats.ivr_restarts.Increment();
            log::line(log::level::warn, "menu state unknown to the live definition: restarting the caller")
                .str("request_id", ctx.request_id)
                .str("call_sid", ctx.log.call_sid)
                .str("query", ctx.query)
                .emit();
        }
        if (s.sms) {
            std::string_view result = "duplicate";
            if (!duplicate) { // (no co_await inside ?: — GCC 12 miscompiles it)
                result = co_await send(ctx, *s.sms);
            }
            d_.stats.ivr_sms[result].Increment();
            if (result == "failed" || result == "over_budget") {
                s.twiml = std::move(s.sms->twiml_failed);
            }
        }
        co_return twiml_response(std::move(s.twiml));
    }

    // One unit of a budget: the shared one while Redis is reachable, else this replica's.
    static task<bool> spend(rate_limiter* local, shared_rate_limiter* shared, std::string key)
    {
        if (local == nullptr) {
            co_return true;
        }
        if (shared != nullptr && shared->available()) {
            auto d = co_await shared->take(key);
            if (d) {
                co_return d->allowed;
            }
        }
        co_return local->take(key, rate_limiter::clock::now()).allowed;
    }

    // The sms action: a text to the caller through Twilio's REST API, logged to the call log.
    // "sent", "failed", "duplicate" (already sent for this call and action) or "over_budget".
    task<std::string_view> send(request_context& ctx, const ivr::sms_followup& m)
    {
        const auto& limits = d_.sms_limits;
        if (!co_await spend(limits.once, limits.shared_once, "ivr-sms-once:" + ctx.log.call_sid + "/" + m.action)) {
            log::line(log::level::info, "menu sms already sent for this call and action: not again")
                .str("request_id", ctx.request_id)
                .str("call_sid", ctx.log.call_sid)
                .emit();
            co_return "duplicate";
        }
        if (!co_await spend(limits.per_destination, limits.shared_per_destination, "ivr-sms-to:" + m.to)) {
            log::line(log::level::warn, "menu sms not sent: the number's hourly budget is spent")
                .str("request_id", ctx.request_id)
                .str("call_sid", ctx.log.call_sid)
                .phone("to", m.to)
                .emit();
            co_return "over_budget";
        }
        const std::string from = phone::is_e164(m.from) ? m.from : d_.cfg.phone.phone_number;
        std::string_view problem;
        if (d_.twilio == nullptr) {
            problem = "TWILIO_ACCOUNT_SID is not set";
        } else if (!phone::is_e164(m.to)) {
            problem = "the caller's number is not an E.164 number";
        } else if (from.empty()) {
            problem = "no E.164 number to send from (set SWITCHBOARD_TWILIO_PHONE_NUMBER)";
        }
        if (!problem.empty()) {
            log::line(log::level::warn, "menu sms not sent")
                .str("request_id", ctx.request_id)
                .str("call_sid", ctx.log.call_sid)
                .str("reason", problem)
                .emit();
            co_return "failed";
        }
        const std::string& callback = d_.cfg.phone.status_callback;
        const auto& account = d_.twilio->settings().account_sid;
        // Named, not temporaries inside the co_await: GCC 12 destroys such temporaries wrongly.
        const phone_api::sms_request request{m.to, m.body, "ivr"};
        std::string path = phone_api::account_path(account, "Messages.json");
        std::string form = phone_api::send_sms_form(request, from, callback);
        auto r = co_await d_.twilio->post("ivr_sms", std::move(path), std::move(form), sms_action_timeout);
        if (r.ec) {
            log::line(log::level::warn, "menu sms refused by Twilio")
                .str("request_id", ctx.request_id)
                .str("call_sid", ctx.log.call_sid)
                .str("error", r.ec.message())
                .num("twilio_code", r.error.code.value_or(0))
                .masked("detail", r.detail)
                .masked("twilio_message", r.error.message)
                .emit();
            co_return "failed";
        }
        const auto* sid = r.body.is_object() ? r.body.as_object().if_contains("sid") : nullptr;
        outbound_message msg{sid != nullptr && sid->is_string() ? std::string(sid->as_string()) : std::string(),
            account, from, m.to, "queued", m.body, "ivr", unix_ms_now()};
        ctx.log.message_sid = msg.message_sid;
        if (!msg.message_sid.empty()) {
            auto rec = co_await d_.calls.record_message(msg);
            if (!rec) {
                log::line(log::level::error, "the call log could not record a menu sms")
                    .str("message_sid", msg.message_sid)
                    .str("error", rec.error().message())
                    .emit();
            }
        }
        co_return "sent"; // Twilio accepted it
    }

    voice_deps d_;
};

} // namespace

namespace {

task<http_response> health(request_context&, const event_publisher& events, const menu_catalog& menus,
    std::chrono::steady_clock::time_point started)
{
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    const auto def = menus.current();
    std::string body = R"({"status":"ok","service":"voice","ivr":")";
    body += def->line_for("").id; // the default line (ids are [A-Za-z0-9_-]: no escaping needed)
    body += R"(","menus":)";
    body += std::to_string(def->menus.size());
    body += R"(,"uptime_seconds":)";
    body += std::to_string(uptime.count());
    body += R"(,"events_published":)";
    body += std::to_string(events.published());
    body += '}';
    co_return json_response(http::status::ok, std::move(body));
}

} // namespace

task<http_response> ivr_incoming_call(request_context& ctx, voice_deps deps)
{
    ivr_handlers h(deps);
    co_return co_await h.incoming(ctx);
}

void add_voice_routes(router& r, voice_deps d)
{
    const route_policy twilio{.twilio_signature = true, .rate_limited = true};
    auto ivr = std::make_shared<ivr_handlers>(d);
    using member = task<http_response> (ivr_handlers::*)(request_context&);
    const auto bind = [ivr](member fn) { return [ivr, fn](request_context& ctx) { return ((*ivr).*fn)(ctx); }; };
    r.add({http::verb::post, "/api/voice/incoming", "voice_incoming", twilio, bind(&ivr_handlers::incoming)});
    r.add({http::verb::get, "/api/voice/incoming", "voice_incoming", twilio, bind(&ivr_handlers::incoming)});
    r.add({http::verb::post, std::string(ivr::menu_path), "voice_menu", twilio, bind(&ivr_handlers::menu)});
    r.add({http::verb::post, std::string(ivr::dial_path), "voice_dial", twilio, bind(&ivr_handlers::dial)});
    r.add({http::verb::post, std::string(ivr::recording_path), "voice_recording", twilio,
        bind(&ivr_handlers::recording)});
    r.add({http::verb::post, std::string(ivr::assistant_path), "voice_assistant", twilio,
        bind(&ivr_handlers::assistant)});
    r.add({http::verb::get, "/api/voice/health", "voice_health", {.rate_limited = true},
        [&events = d.events, &menus = d.menus, started = d.started](
            request_context& ctx) { return health(ctx, events, menus, started); }});
}

} // namespace switchboard
