// The operator API's answers: JSON documents, the error mapping (400 naming the field, 503
// for a store or Twilio that cannot answer now, Twilio's own errors passed on), and the shapes
// of a call from the call log and from Twilio. Internal to service/phone/.
#pragma once

#include "service/client/twilio_client.hpp"
#include "service/http/http_context.hpp"
#include "service/store/event_store.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::phone_answers {

namespace json = boost::json;

http_response json_ok(http::status status, const json::value& v);

// A 400/401/... in the one error shape, with the message for this request.
http_response bad(boost::system::error_code ec, std::string_view problem);

// Twilio failed or refused: our error shape plus Twilio's code and more_info.
http_response twilio_failure(const twilio_result& r, std::string_view operation);

std::string text(const json::value& v, std::string_view key);

// One of Twilio's own fields, as sent (null when absent).
json::value field(const json::value& v, std::string_view key);

// Several of them, by name.
json::object pick(const json::value& v, std::initializer_list<std::string_view> keys);

json::value optional_ms(const std::optional<std::int64_t>& ms);

json::object call_json(const call_record& c);

// One call as Twilio lists it, in the call log's shape.
json::object twilio_call_json(const json::value& c);

} // namespace switchboard::phone_answers
