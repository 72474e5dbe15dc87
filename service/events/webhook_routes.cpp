// Status callbacks and SMS webhooks: parse, publish, answer.
#include "service/events/webhook_routes.hpp"

#include "protocol/events/call_event.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/sms.hpp"
#include "protocol/twilio/twiml.hpp"
#include "service/events/event_publisher.hpp"
#include "service/http/http_error.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"

namespace switchboard {

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

void add_webhook_routes(router& r, metrics& stats, event_publisher& events)
{
    const route_policy twilio{.twilio_signature = true, .rate_limited = true};
    r.add({http::verb::post, "/api/voice/status", "voice_status", twilio,
        [&stats, &events](request_context& ctx) { return call_status_webhook(ctx, stats, events); }});
    // No automatic reply to an incoming message: an empty messaging response.
    r.add({http::verb::post, "/api/sms/incoming", "sms_incoming", twilio,
        [&events](request_context& ctx) { return sms_incoming_webhook(ctx, events, {}); }});
    r.add({http::verb::post, "/api/sms/status", "sms_status", twilio,
        [&events](request_context& ctx) { return sms_status_webhook(ctx, events); }});
}

} // namespace switchboard
