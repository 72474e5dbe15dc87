// SMS webhooks: an incoming message and a message status callback, validated.
#pragma once

#include "protocol/core/form.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard {

struct sms_message {
    std::string message_sid;
    std::string account_sid;
    std::string from;
    std::string to;
    std::string body; // incoming messages only
    std::optional<std::int64_t> num_media;
    std::string status; // MessageStatus (SmsStatus); "received" for incoming messages
    std::string error_code; // status callbacks of failed or undelivered messages
};

// Incoming message webhook: MessageSid (SM/MM + 32 hex), From and To are required; Body may be
// empty (a picture message). Errors: missing_parameter, invalid_parameter; `problem` names the
// field.
boost::system::result<sms_message> parse_incoming_sms(const form_params& params, std::string* problem = nullptr);

// Message status callback: MessageSid and MessageStatus (or the older SmsStatus), one of the
// statuses Twilio sends. Errors as above.
boost::system::result<sms_message> parse_sms_status(const form_params& params, std::string* problem = nullptr);

bool is_sms_status(std::string_view s) noexcept;
// delivered, undelivered, failed, read, canceled, received: nothing follows but "read".
bool is_terminal_sms_status(std::string_view s) noexcept;

} // namespace switchboard
