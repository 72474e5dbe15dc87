// Handlers for /api/voice/* and /api/sms/*: parse input, call protocol/ logic, publish the
// event, map the result to a response.
#include "service/voice_routes.hpp"

#include "protocol/call_event.hpp"
#include "protocol/call_status.hpp"
#include "protocol/error.hpp"
#include "protocol/jobmatch_ivr.hpp"
#include "protocol/sms.hpp"
#include "protocol/twiml.hpp"
#include "service/event_publisher.hpp"
#include "service/http_error.hpp"
#include "service/log.hpp"
#include "service/metrics.hpp"

namespace switchboard {
namespace {

http_response twiml_response(std::string body)
{
    return text_response(http::status::ok, std::move(body), twiml::content_type);
}

void note_caller(request_context& ctx)
{
    ctx.log.call_sid = ctx.params.get("CallSid");
    ctx.log.from = ctx.params.get("From");
    ctx.log.to = ctx.params.get("To");
}

std::string_view idempotency_token(const request_context& ctx)
{
    const auto it = ctx.request.find("I-Twilio-Idempotency-Token");
    return it == ctx.request.end() ? std::string_view() : std::string_view(it->value());
}

task<http_response> incoming(request_context& ctx)
{
    note_caller(ctx);
    co_return twiml_response(jobmatch::incoming());
}

task<http_response> menu(request_context& ctx, metrics& stats, event_publisher& events)
{
    note_caller(ctx);
    const std::string_view digits = ctx.params.get("Digits");
    const int attempt = jobmatch::parse_attempt(parse_form(ctx.query).get("attempt"));
    ctx.log.digits = digits;
    if (!digits.empty()) {
        // A choice is an event: stored before the caller hears the answer.
        if (ctx.log.call_sid.empty()) {
            co_return error_response(error::missing_parameter, "menu: CallSid is required");
        }
        append_request req;
        req.event = menu_selected_event(ctx.params, digits, attempt);
        const std::string token(idempotency_token(ctx));
        req.dedupe_key = token.empty()
            ? "menu:" + ctx.log.call_sid + "#" + std::to_string(attempt) + "@" + std::string(digits)
            : "token:" + token;
        if (!co_await events.publish(ctx, std::move(req))) {
            co_return event_publisher::refused();
        }
    }
    auto outcome = jobmatch::menu(digits, attempt);
    stats.ivr_selections[jobmatch::to_label(outcome.chosen)].Increment();
    co_return twiml_response(std::move(outcome.twiml));
}

} // namespace

task<http_response> call_status_webhook(request_context& ctx, metrics& stats, event_publisher& events)
{
    note_caller(ctx);
    std::string problem;
    auto update = parse_call_status_update(ctx.params, &problem);
    if (!update) {
        co_return error_response(update.error(), problem);
    }
    ctx.log.call_status = update->raw_status;
    ctx.log.duration_seconds = update->duration_seconds;
    ctx.log.sequence_number = update->sequence_number;
    stats.call_status_callbacks[to_string(update->status)].Increment();
    append_request req;
    req.event = status_changed_event(*update);
    req.dedupe_key = dedupe_key(idempotency_token(ctx), update->call_sid, update->sequence_number, update->raw_status);
    req.call_update = std::move(*update);
    const auto r = co_await events.publish(ctx, std::move(req));
    if (!r) {
        co_return event_publisher::refused();
    }
    if (r->applied && *r->applied != apply_result::applied) {
        log::line(log::level::info, "status callback out of order")
            .str("request_id", ctx.request_id)
            .str("call_sid", ctx.log.call_sid)
            .str("call_status", ctx.log.call_status)
            .str("recorded_status", r->current_status)
            .str("outcome", *r->applied == apply_result::stale ? "stale" : "after_terminal")
            .emit();
    }
    co_return http_response{http::status::no_content, 11};
}

namespace {

// Incoming messages and message status callbacks: parse, publish, answer.
using sms_parser = boost::system::result<sms_message> (*)(const form_params&, std::string*);
using sms_event_maker = call_event (*)(const sms_message&);

task<http_response> sms_webhook(
    request_context& ctx, event_publisher& events, sms_parser parse, sms_event_maker make, http_response answer)
{
    std::string problem;
    auto m = parse(ctx.params, &problem);
    if (!m) {
        co_return error_response(m.error(), problem);
    }
    ctx.log.message_sid = m->message_sid;
    ctx.log.from = m->from;
    ctx.log.to = m->to;
    append_request req;
    req.event = make(*m);
    req.dedupe_key = dedupe_key(idempotency_token(ctx), m->message_sid, std::nullopt, m->status);
    if (!co_await events.publish(ctx, std::move(req))) {
        co_return event_publisher::refused();
    }
    co_return answer;
}

} // namespace

task<http_response> sms_status_webhook(request_context& ctx, event_publisher& events)
{
    return sms_webhook(
        ctx, events, parse_sms_status, sms_status_changed_event, http_response{http::status::no_content, 11});
}

task<http_response> sms_incoming_webhook(request_context& ctx, event_publisher& events, std::string_view reply)
{
    auto answer = twiml::response();
    if (!reply.empty()) {
        answer.element("Message", {}, reply);
    }
    return sms_webhook(ctx, events, parse_incoming_sms, sms_received_event, twiml_response(std::move(answer).str()));
}

namespace {

task<http_response> health(
    request_context&, const event_publisher& events, std::chrono::steady_clock::time_point started)
{
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    std::string body = R"({"status":"ok","service":"voice","ivr":"jobmatch","uptime_seconds":)";
    body += std::to_string(uptime.count());
    body += R"(,"events_published":)";
    body += std::to_string(events.published());
    body += '}';
    co_return json_response(http::status::ok, std::move(body));
}

} // namespace

void add_voice_routes(router& r, voice_deps d)
{
    const route_policy twilio{.twilio_signature = true, .rate_limited = true};
    r.add({http::verb::post, "/api/voice/incoming", "voice_incoming", twilio, incoming});
    r.add({http::verb::get, "/api/voice/incoming", "voice_incoming", twilio, incoming});
    r.add({http::verb::post, "/api/voice/menu", "voice_menu", twilio,
        [&stats = d.stats, &events = d.events](request_context& ctx) { return menu(ctx, stats, events); }});
    r.add({http::verb::post, "/api/voice/status", "voice_status", twilio,
        [&stats = d.stats, &events = d.events](
            request_context& ctx) { return call_status_webhook(ctx, stats, events); }});
    // No automatic reply to an incoming message: an empty messaging response.
    r.add({http::verb::post, "/api/sms/incoming", "sms_incoming", twilio,
        [&events = d.events](request_context& ctx) { return sms_incoming_webhook(ctx, events, {}); }});
    r.add({http::verb::post, "/api/sms/status", "sms_status", twilio,
        [&events = d.events](request_context& ctx) { return sms_status_webhook(ctx, events); }});
    r.add({http::verb::get, "/api/voice/health", "voice_health", {.rate_limited = true},
        [&events = d.events, started = d.started](request_context& ctx) { return health(ctx, events, started); }});
}

} // namespace switchboard
