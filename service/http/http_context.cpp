// JSON error and plain response helpers.
#include "service/http/http_context.hpp"

#include "protocol/twilio/twiml.hpp"
#include "service/ops/log.hpp"

#include <boost/beast/http/field.hpp>

namespace switchboard {

http_response json_error(http::status status, std::string_view code, std::string_view message)
{
    std::string body = "{\"code\":\"";
    log::append_json_escaped(body, code);
    body += "\",\"message\":\"";
    log::append_json_escaped(body, message);
    body += "\"}";
    return json_response(status, std::move(body));
}

http_response json_response(http::status status, std::string body)
{
    return text_response(status, std::move(body), "application/json");
}

http_response text_response(http::status status, std::string body, std::string_view content_type)
{
    http_response res{status, 11};
    res.set(http::field::content_type, content_type);
    res.body() = std::move(body);
    return res;
}

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

} // namespace switchboard
