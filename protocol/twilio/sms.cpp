// SMS webhook parsing.
#include "protocol/twilio/sms.hpp"

#include "protocol/core/error.hpp"
#include "protocol/twilio/call_status.hpp"

#include <array>
#include <charconv>

namespace switchboard {
namespace {

using parsed = boost::system::result<sms_message>;

parsed fail(std::string* problem, error e, std::string why)
{
    if (problem != nullptr) {
        *problem = std::move(why);
    }
    return e;
}

bool is_message_sid(std::string_view s) noexcept
{
    return is_twilio_sid(s, "SM") || is_twilio_sid(s, "MM");
}

// What both webhooks share: MessageSid and AccountSid checked, From/To copied.
parsed common(const form_params& params, std::string* problem, std::string_view what)
{
    sms_message m;
    m.message_sid = params.get("MessageSid");
    if (m.message_sid.empty()) {
        m.message_sid = params.get("SmsSid");
    }
    if (m.message_sid.empty()) {
        return fail(problem, error::missing_parameter, std::string(what) + ": MessageSid is required");
    }
    if (!is_message_sid(m.message_sid)) {
        return fail(problem, error::invalid_parameter,
            std::string(what) + ": MessageSid must be SM or MM followed by 32 hex digits");
    }
    m.account_sid = params.get("AccountSid");
    if (!m.account_sid.empty() && !is_twilio_sid(m.account_sid, "AC")) {
        return fail(
            problem, error::invalid_parameter, std::string(what) + ": AccountSid must be AC followed by 32 hex digits");
    }
    m.from = params.get("From");
    m.to = params.get("To");
    return m;
}

constexpr std::array<std::string_view, 13> statuses = {"accepted", "scheduled", "canceled", "queued", "sending", "sent",
    "failed", "delivered", "undelivered", "receiving", "received", "read", "partially_delivered"};

} // namespace

bool is_sms_status(std::string_view s) noexcept
{
    for (const auto known : statuses) {
        if (s == known) {
            return true;
        }
    }
    return false;
}

bool is_terminal_sms_status(std::string_view s) noexcept
{
    return s == "delivered" || s == "undelivered" || s == "failed" || s == "read" || s == "canceled" || s == "received";
}

parsed parse_incoming_sms(const form_params& params, std::string* problem)
{
    auto m = common(params, problem, "incoming SMS");
    if (!m) {
        return m;
    }
    if (m->from.empty() || m->to.empty()) {
        return fail(problem, error::missing_parameter, "incoming SMS: From and To are required");
    }
    m->body = params.get("Body");
    m->status = "received";
    const std::string_view media = params.get("NumMedia");
    if (!media.empty()) {
        std::int64_t n = 0;
        const auto [end, ec] = std::from_chars(media.data(), media.data() + media.size(), n);
        if (ec != std::errc{} || end != media.data() + media.size() || n < 0) {
            return fail(problem, error::invalid_parameter, "incoming SMS: NumMedia must be a whole number");
        }
        m->num_media = n;
    }
    return m;
}

parsed parse_sms_status(const form_params& params, std::string* problem)
{
    auto m = common(params, problem, "SMS status callback");
    if (!m) {
        return m;
    }
    m->status = params.get("MessageStatus");
    if (m->status.empty()) {
        m->status = params.get("SmsStatus");
    }
    if (m->status.empty()) {
        return fail(problem, error::missing_parameter, "SMS status callback: MessageStatus is required");
    }
    if (!is_sms_status(m->status)) {
        return fail(problem, error::invalid_parameter,
            "SMS status callback: MessageStatus must be one of accepted, scheduled, canceled, queued, sending, sent, "
            "failed, delivered, undelivered, receiving, received, read, partially_delivered");
    }
    m->error_code = params.get("ErrorCode");
    return m;
}

} // namespace switchboard
