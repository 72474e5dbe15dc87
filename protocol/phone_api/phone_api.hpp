// The operator phone API's wire formats: request bodies and queries (validated, with a message
// naming the field), the form bodies and paths sent to Twilio's REST API, Twilio's error JSON,
// and the cost estimate. Pure: service/phone/phone_routes.cpp does the I/O.
#pragma once

#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::phone_api {

// Errors below: malformed_json (not a JSON object), missing_parameter, invalid_parameter;
// `problem` receives the message for the client, naming the field.
template <class T> using parsed = boost::system::result<T>;

struct call_request {
    std::string to; // E.164
    std::string message; // spoken with <Say>
    std::string agent_name;
    bool record = false;
    std::string voice; // default: the configured one
    std::string language; // default: the configured one
    std::string call_purpose;
    std::string workflow_id;
};
parsed<call_request> parse_call_request(std::string_view body, std::string* problem);

struct sms_request {
    std::string to;
    std::string message; // 1..1600 characters (Twilio's limit)
    std::string agent_name;
};
parsed<sms_request> parse_sms_request(std::string_view body, std::string* problem);

struct purchase_request {
    std::string phone_number;
    std::string friendly_name;
    // The base of the number's three webhooks (the Samsaek seed's SAMSAEK_TWILIO_WEBHOOK_URL):
    // voice {base}/call, SMS {base}/sms, status callback {base}/status.
    std::string webhook_url;
    std::string voice_url; // each of these, when given, instead of the base's
    std::string sms_url;
    std::string status_callback_url;
    std::string voice_fallback_url; // what Twilio requests when the voice webhook fails
    std::string sms_fallback_url;
};
parsed<purchase_request> parse_purchase_request(std::string_view body, std::string* problem);

// A bought number's fallback URLs: the request's, else the configured ones ("none": no
// fallback), else `public_url` + /api/voice/incoming and /api/sms/incoming (the JobMatch seed's
// handlers), else none. https only, as for the webhooks.
struct number_fallbacks {
    std::string voice_url;
    std::string sms_url;
};
parsed<number_fallbacks> purchase_fallbacks(const purchase_request& r, std::string_view voice_default,
    std::string_view sms_default, std::string_view public_url, bool development, std::string* problem);

// Where Twilio will call a number's webhooks.
struct number_webhooks {
    std::string voice_url;
    std::string sms_url;
    std::string status_callback_url;
};
// The base is the request's webhook_url, else `configured_base` (SWITCHBOARD_TWILIO_WEBHOOK_URL),
// else `public_url` + "/api/phone/webhook"; a trailing '/' is dropped. Twilio requires https:
// http is accepted only for localhost and 127.0.0.1 when `development` is set. Errors:
// not_configured (no base and not every URL given, or a configured base that is not https),
// invalid_parameter (a URL of the request that is not https),
// with the message, naming the field or setting, in `problem`.
parsed<number_webhooks> purchase_webhooks(const purchase_request& r, std::string_view configured_base,
    std::string_view public_url, bool development, std::string* problem);
// What to change on a number the account already owns (PATCH /api/phone/numbers/{sid}): at
// least one field. webhook_url is a base as in a purchase; an explicit URL wins over it.
struct number_update {
    std::string friendly_name;
    std::string webhook_url;
    std::string voice_url;
    std::string sms_url;
    std::string status_callback_url;
    std::string voice_fallback_url;
    std::string sms_fallback_url;
};
parsed<number_update> parse_number_update(std::string_view body, std::string* problem);
// The webhooks an update sets; an empty one stays as it is at Twilio. Errors as for a purchase.
parsed<number_webhooks> update_webhooks(const number_update& u, bool development, std::string* problem);
// The fallbacks an update sets (only those the request names); invalid_parameter for one that
// Twilio may not call.
parsed<number_fallbacks> update_fallbacks(const number_update& u, bool development, std::string* problem);
// The IncomingPhoneNumbers update form: only what changes, each URL with its POST method.
std::string number_update_form(const number_update& u, const number_webhooks& w, const number_fallbacks& fallbacks);
// Appends Twilio's connection overrides (canonical text, see connection_overrides.hpp) to the
// URLs handed to Twilio: `webhook` to the voice, SMS and fallback URLs, `status` to the status
// callback. A URL that carries its own fragment keeps it.
void add_overrides(number_webhooks& w, number_fallbacks& f, std::string_view webhook, std::string_view status);

// https://, or http://localhost / http://127.0.0.1 (any port) when `development` is set.
bool is_twilio_webhook_url(std::string_view url, bool development) noexcept;

struct number_search {
    std::string country = "US";
    std::string area_code;
    std::string contains;
    std::optional<bool> sms_enabled;
    std::optional<bool> voice_enabled;
    int limit = 20;
};
parsed<number_search> parse_number_search(std::string_view query, std::string* problem);

struct history_query {
    int limit = 50;
    std::string status; // a call status, or empty
    std::string direction; // inbound, outbound (any outbound-*), outbound-api, outbound-dial, or empty
    std::optional<std::int64_t> before_started_at_ms; // from the cursor
    std::string before_call_sid;
    bool from_twilio = false; // source=twilio: Twilio's own call list instead of the local log
};
parsed<history_query> parse_history_query(std::string_view query, std::string* problem);
// The opaque cursor for the page after a row: "<started_at_ms>.<call_sid>".
std::string history_cursor(std::int64_t started_at_ms, std::string_view call_sid);

// Voices Twilio's <Say> takes: alice, man, woman, Polly.<Name>[-Neural|-Generative],
// Google.<lang>-<Variant>; languages like en-US.
bool is_valid_voice(std::string_view v) noexcept;
bool is_valid_language(std::string_view v) noexcept;

// Twilio REST paths (always .json) under the account.
std::string account_path(std::string_view account_sid, std::string_view rest); // "/2010-04-01/Accounts/AC…/" + rest

// application/x-www-form-urlencoded builder: repeated keys for arrays, RFC 3986 escaping.
class form {
public:
    form& add(std::string_view name, std::string_view value);
    const std::string& str() const noexcept { return out_; }

private:
    std::string out_;
};

// The TwiML spoken on an API-placed call: <Say voice language>message</Say>.
std::string call_twiml(std::string_view message, std::string_view voice, std::string_view language);
// Twilio refuses a call whose Twiml parameter is longer than this many characters
// (https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource).
inline constexpr std::size_t max_twiml_characters = 4000;
// call_twiml, checked against that limit: the wrapping and the XML escaping (& is &amp;) make a
// message of up to 4000 characters longer. Error: invalid_parameter, `problem` naming `message`.
parsed<std::string> checked_call_twiml(
    std::string_view message, std::string_view voice, std::string_view language, std::string* problem);
std::string create_call_form(
    const call_request& r, std::string_view from, std::string_view twiml, std::string_view status_callback);
std::string send_sms_form(const sms_request& r, std::string_view from, std::string_view status_callback);
std::string purchase_form(const purchase_request& r, std::string_view voice_url, std::string_view sms_url,
    std::string_view status_callback, const number_fallbacks& fallbacks = {});
std::string search_query(const number_search& s); // AreaCode=…&PageSize=…

// Twilio's error document {"code", "message", "more_info", "status"}; tolerant of other bodies.
struct twilio_error {
    std::optional<std::int64_t> code;
    std::string message;
    std::string more_info;
};
twilio_error parse_twilio_error(std::string_view body);

// Prices for the stats estimate (defaults from the Samsaek seed, USD).
struct prices {
    double voice_minute = 0.0085;
    double sms = 0.0075;
    double number_month = 1.0;
};
struct usage {
    std::int64_t billed_minutes = 0; // summed per call (protocol/events/records.hpp billed_minutes)
    std::int64_t sms_sent = 0;
    std::int64_t numbers = 0;
};
struct cost_estimate {
    double voice = 0;
    double sms = 0;
    double numbers = 0; // one month
    double total = 0;
};
cost_estimate estimate_cost(const usage& u, const prices& p) noexcept;

// An amount with 4 decimals, as a string: 0.0085 -> "0.0085", 2 -> "2.0000".
std::string money(double amount);

} // namespace switchboard::phone_api
