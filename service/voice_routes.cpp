// Handlers for /api/voice/*: parse input, call protocol/ logic, map the result to a response.
#include "service/voice_routes.hpp"

#include "protocol/call_status.hpp"
#include "protocol/error.hpp"
#include "protocol/jobmatch_ivr.hpp"
#include "protocol/twiml.hpp"
#include "service/call_tracker.hpp"
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

task<http_response> incoming(request_context& ctx)
{
    note_caller(ctx);
    co_return twiml_response(jobmatch::incoming());
}

task<http_response> menu(request_context& ctx, metrics& stats)
{
    note_caller(ctx);
    const std::string_view digits = ctx.params.get("Digits");
    const int attempt = jobmatch::parse_attempt(parse_form(ctx.query).get("attempt"));
    auto outcome = jobmatch::menu(digits, attempt);
    ctx.log.digits = digits;
    stats.ivr_selections[jobmatch::to_label(outcome.chosen)].Increment();
    co_return twiml_response(std::move(outcome.twiml));
}

task<http_response> status(request_context& ctx, metrics& stats, call_tracker& calls)
{
    note_caller(ctx);
    auto update = parse_call_status_update(ctx.params);
    if (!update) {
        co_return error_response(update.error(),
            update.error() == error::missing_parameter
                ? "status callback: CallSid and CallStatus are required"
                : "status callback: SequenceNumber and CallDuration must be whole numbers");
    }
    ctx.log.call_status = update->raw_status;
    ctx.log.duration_seconds = update->duration_seconds;
    ctx.log.sequence_number = update->sequence_number;
    stats.call_status_callbacks[to_string(update->status)].Increment();
    const apply_result applied = calls.record(*update);
    if (applied != apply_result::applied) {
        log::line(log::level::info, "status callback out of order")
            .str("request_id", ctx.request_id)
            .str("call_sid", update->call_sid)
            .str("call_status", update->raw_status)
            .str("outcome", applied == apply_result::stale ? "stale" : "after_terminal")
            .emit();
    }
    co_return http_response{http::status::no_content, 11};
}

task<http_response> health(request_context&, call_tracker& calls, std::chrono::steady_clock::time_point started)
{
    const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    std::string body = R"({"status":"ok","service":"voice","ivr":"jobmatch","uptime_seconds":)";
    body += std::to_string(uptime.count());
    body += R"(,"calls_tracked":)";
    body += std::to_string(calls.size());
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
        [&stats = d.stats](request_context& ctx) { return menu(ctx, stats); }});
    r.add({http::verb::post, "/api/voice/status", "voice_status", twilio,
        [&stats = d.stats, &calls = d.calls](request_context& ctx) { return status(ctx, stats, calls); }});
    r.add({http::verb::get, "/api/voice/health", "voice_health", {.rate_limited = true},
        [&calls = d.calls, started = d.started](request_context& ctx) { return health(ctx, calls, started); }});
}

} // namespace switchboard
