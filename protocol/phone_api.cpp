// Operator phone API: request validation, Twilio REST form bodies, errors and costs.
#include "protocol/phone_api.hpp"

#include "protocol/call_status.hpp"
#include "protocol/connection_overrides.hpp"
#include "protocol/error.hpp"
#include "protocol/form.hpp"
#include "protocol/phone.hpp"
#include "protocol/text.hpp"
#include "protocol/twiml.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <tuple>
#include <utility>

namespace switchboard::phone_api {
namespace {

bool unreserved(unsigned char b) noexcept
{
    return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '.'
        || b == '_' || b == '~';
}

bool all_of(std::string_view s, bool (*pred)(char)) noexcept
{
    return std::all_of(s.begin(), s.end(), pred);
}

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

// Characters: UTF-8 code points, not bytes.
std::size_t characters(std::string_view s) noexcept
{
    return static_cast<std::size_t>(
        std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Reads one JSON object's fields, refusing unknown keys and wrong types; the first problem wins.
bool is_http_url(std::string_view u) noexcept
{
    const bool scheme = u.starts_with("https://") || u.starts_with("http://");
    const std::size_t host_at = u.find("://") + 3;
    return scheme && u.size() > host_at && u[host_at] != '/'
        && std::none_of(u.begin(), u.end(), [](char c) { return c <= ' ' || c == '"' || c == '<' || c == '>'; });
}

class reader {
public:
    reader(std::string_view body, std::string* problem, std::initializer_list<std::string_view> known)
        : problem_(problem)
    {
        boost::system::error_code ec;
        doc_ = boost::json::parse(body, ec);
        if (ec || !doc_.is_object()) {
            ec_ = error::malformed_json;
            say(ec ? "the body is not valid JSON: " + ec.message() : std::string("the body must be a JSON object"));
            return;
        }
        for (const auto& [key, value] : doc_.get_object()) {
            (void)value;
            if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
                fail(error::invalid_parameter, "unknown field '" + std::string(key) + "'");
                return;
            }
        }
    }

    bool ok() const noexcept { return !ec_; }
    error code() const noexcept { return ec_ ? static_cast<error>(ec_.value()) : error::ok; }

    // A URL field (at most 2048 characters, absolute http:// or https://, without spaces,
    // quotes or angle brackets); "" when absent. Whether Twilio may call it is decided later.
    // A fragment must be Twilio connection overrides (#ct=…&rc=…).
    std::string url(std::string_view name)
    {
        std::string u = text(name, false, 2048);
        if (ok() && !u.empty() && !is_http_url(u)) {
            fail(error::invalid_parameter, std::string(name) + " must be an absolute https:// URL");
            return {};
        }
        if (const std::size_t hash = u.find('#'); ok() && hash != std::string::npos) {
            std::string why;
            if (!connection_overrides::parse(std::string_view(u).substr(hash + 1), &why)) {
                fail(error::invalid_parameter, std::string(name) + ": " + why);
                return {};
            }
        }
        return u;
    }

    // The base of a number's webhooks ({base}/call, …): a URL without query or fragment, which
    // the suffixes would land after.
    std::string base_url(std::string_view name)
    {
        std::string u = url(name);
        if (ok() && u.find_first_of("?#") != std::string::npos) {
            fail(error::invalid_parameter,
                std::string(name)
                    + " is the base of the number's webhooks ({base}/call, {base}/sms, {base}/status) and takes no "
                      "query or fragment; connection overrides go on voice_url, sms_url, status_callback_url or in "
                      "SWITCHBOARD_TWILIO_WEBHOOK_OVERRIDES");
            return {};
        }
        return u;
    }

    // A string field; "" when absent. `max` counts characters.
    std::string text(std::string_view name, bool required, std::size_t max)
    {
        if (!ok()) {
            return {};
        }
        const auto* v = doc_.get_object().if_contains(name);
        if (v == nullptr || v->is_null()) {
            if (required) {
                fail(error::missing_parameter, std::string(name) + " is required");
            }
            return {};
        }
        if (!v->is_string()) {
            fail(error::invalid_parameter, std::string(name) + " must be a string");
            return {};
        }
        std::string s(v->get_string());
        if (!text::is_valid_utf8(s)) {
            fail(error::invalid_parameter, std::string(name) + " must be valid UTF-8");
            return {};
        }
        if (required && s.find_first_not_of(" \t\r\n") == std::string::npos) {
            fail(error::missing_parameter, std::string(name) + " must not be empty");
            return {};
        }
        if (characters(s) > max) {
            fail(
                error::invalid_parameter, std::string(name) + " is longer than " + std::to_string(max) + " characters");
            return {};
        }
        return s;
    }

    bool boolean(std::string_view name, bool fallback)
    {
        if (!ok()) {
            return fallback;
        }
        const auto* v = doc_.get_object().if_contains(name);
        if (v == nullptr || v->is_null()) {
            return fallback;
        }
        if (!v->is_bool()) {
            fail(error::invalid_parameter, std::string(name) + " must be true or false");
            return fallback;
        }
        return v->get_bool();
    }

    std::string phone(std::string_view name)
    {
        std::string s = text(name, true, 32);
        if (ok() && !phone::is_e164(s)) {
            fail(error::invalid_parameter,
                std::string(name) + " must be an E.164 number: '+' and 8 to 15 digits, e.g. +14155551212");
        }
        return s;
    }

    void fail(error e, std::string why)
    {
        if (ok()) {
            ec_ = e;
            say(std::move(why));
        }
    }

private:
    void say(std::string why)
    {
        if (problem_ != nullptr) {
            *problem_ = std::move(why);
        }
    }

    boost::json::value doc_;
    std::string* problem_;
    boost::system::error_code ec_;
};

template <class T> parsed<T> finish(reader& r, T value)
{
    if (!r.ok()) {
        return make_error_code(r.code());
    }
    return value;
}

// The URL fields a purchase and an update share: the webhook base, the three webhooks and the
// two fallbacks.
template <class Request> void read_webhook_urls(reader& r, Request& out)
{
    out.webhook_url = r.base_url("webhook_url");
    out.voice_url = r.url("voice_url");
    out.sms_url = r.url("sms_url");
    out.status_callback_url = r.url("status_callback_url");
    out.voice_fallback_url = r.url("voice_fallback_url");
    out.sms_fallback_url = r.url("sms_fallback_url");
}

// A number's webhooks in an IncomingPhoneNumbers form, each with its method; an empty one is
// left out (on an update: unchanged).
void add_webhooks(form& f, std::string_view voice_url, std::string_view sms_url, std::string_view status_callback)
{
    if (!voice_url.empty()) {
        f.add("VoiceUrl", voice_url).add("VoiceMethod", "POST");
    }
    if (!sms_url.empty()) {
        f.add("SmsUrl", sms_url).add("SmsMethod", "POST");
    }
    if (!status_callback.empty()) {
        f.add("StatusCallback", status_callback).add("StatusCallbackMethod", "POST");
    }
}

// A number's fallback URLs, each with its method; an empty one is left out.
void add_fallbacks(form& f, const number_fallbacks& fallbacks)
{
    if (!fallbacks.voice_url.empty()) {
        f.add("VoiceFallbackUrl", fallbacks.voice_url).add("VoiceFallbackMethod", "POST");
    }
    if (!fallbacks.sms_url.empty()) {
        f.add("SmsFallbackUrl", fallbacks.sms_url).add("SmsFallbackMethod", "POST");
    }
}

} // namespace

bool is_valid_voice(std::string_view v) noexcept
{
    if (v == "alice" || v == "man" || v == "woman") {
        return true;
    }
    for (const std::string_view prefix : {"Polly.", "Google."}) {
        if (v.starts_with(prefix) && v.size() > prefix.size() && v.size() <= 64) {
            const auto name = v.substr(prefix.size());
            return std::all_of(name.begin(), name.end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
            });
        }
    }
    return false;
}

bool is_valid_language(std::string_view v) noexcept
{
    // ll, lll, ll-CC, lll-CC, and Twilio's ll-CCC (e.g. es-419 is not used; cmn-CN is).
    const std::size_t dash = v.find('-');
    const auto lang = v.substr(0, dash);
    if (lang.size() < 2 || lang.size() > 3
        || !std::all_of(lang.begin(), lang.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
        return false;
    }
    if (dash == std::string_view::npos) {
        return true;
    }
    const auto region = v.substr(dash + 1);
    return (region.size() == 2 && std::all_of(region.begin(), region.end(), [](char c) {
        return c >= 'A' && c <= 'Z';
    })) || (region.size() == 3 && all_of(region, is_digit));
}

parsed<call_request> parse_call_request(std::string_view body, std::string* problem)
{
    reader r(
        body, problem, {"to", "message", "agent_name", "record", "voice", "language", "call_purpose", "workflow_id"});
    call_request c;
    c.to = r.phone("to");
    c.message = r.text("message", true, 4000);
    c.agent_name = r.text("agent_name", false, 100);
    c.record = r.boolean("record", false);
    c.voice = r.text("voice", false, 64);
    if (r.ok() && !c.voice.empty() && !is_valid_voice(c.voice)) {
        r.fail(error::invalid_parameter,
            "voice must be alice, man, woman, Polly.<Name> (e.g. Polly.Joanna-Neural) or Google.<voice>, got '"
                + c.voice + "'");
    }
    c.language = r.text("language", false, 16);
    if (r.ok() && !c.language.empty() && !is_valid_language(c.language)) {
        r.fail(error::invalid_parameter, "language must look like en-US, got '" + c.language + "'");
    }
    c.call_purpose = r.text("call_purpose", false, 100);
    c.workflow_id = r.text("workflow_id", false, 200);
    return finish(r, std::move(c));
}

parsed<sms_request> parse_sms_request(std::string_view body, std::string* problem)
{
    reader r(body, problem, {"to", "message", "agent_name"});
    sms_request s;
    s.to = r.phone("to");
    s.message = r.text("message", true, 1600);
    s.agent_name = r.text("agent_name", false, 100);
    return finish(r, std::move(s));
}

parsed<purchase_request> parse_purchase_request(std::string_view body, std::string* problem)
{
    reader r(body, problem,
        {"phone_number", "friendly_name", "webhook_url", "voice_url", "sms_url", "status_callback_url",
            "voice_fallback_url", "sms_fallback_url"});
    purchase_request p;
    p.phone_number = r.phone("phone_number");
    p.friendly_name = r.text("friendly_name", false, 64);
    read_webhook_urls(r, p);
    return finish(r, std::move(p));
}

parsed<number_fallbacks> purchase_fallbacks(const purchase_request& r, std::string_view voice_default,
    std::string_view sms_default, std::string_view public_url, bool development, std::string* problem)
{
    const std::string root(text::without_trailing_slashes(public_url));
    number_fallbacks out;
    for (auto [given, configured, route, name, field] :
        {std::tuple{&r.voice_fallback_url, voice_default, "/api/voice/incoming", "voice_fallback_url", &out.voice_url},
            std::tuple{&r.sms_fallback_url, sms_default, "/api/sms/incoming", "sms_fallback_url", &out.sms_url}}) {
        if (!given->empty()) {
            *field = *given;
        } else if (configured == "none") {
            continue;
        } else if (!configured.empty()) {
            *field = std::string(configured);
        } else if (!root.empty()) {
            *field = root + route;
        }
        if (!field->empty() && !is_twilio_webhook_url(*field, development)) {
            // The request's own URL is a bad request; a default is the operator's to fix (the
            // configured fallbacks are checked at start-up, so this is an http public URL).
            const bool requested = !given->empty();
            if (problem != nullptr) {
                *problem = (requested ? std::string(name) : std::string("SWITCHBOARD_PUBLIC_URL"))
                    + " must be an https:// URL (Twilio calls webhooks over https only)";
            }
            return make_error_code(requested ? error::invalid_parameter : error::not_configured);
        }
    }
    return out;
}

parsed<number_update> parse_number_update(std::string_view body, std::string* problem)
{
    reader r(body, problem,
        {"friendly_name", "webhook_url", "voice_url", "sms_url", "status_callback_url", "voice_fallback_url",
            "sms_fallback_url"});
    number_update u;
    u.friendly_name = r.text("friendly_name", false, 64);
    read_webhook_urls(r, u);
    if (r.ok() && u.friendly_name.empty() && u.webhook_url.empty() && u.voice_url.empty() && u.sms_url.empty()
        && u.status_callback_url.empty() && u.voice_fallback_url.empty() && u.sms_fallback_url.empty()) {
        r.fail(error::missing_parameter,
            "nothing to change: give friendly_name, webhook_url, voice_url, sms_url, status_callback_url, "
            "voice_fallback_url or sms_fallback_url");
    }
    return finish(r, std::move(u));
}

namespace {

std::error_code refuse_url(std::string_view name, std::string* problem)
{
    if (problem != nullptr) {
        *problem = std::string(name) + " must be an https:// URL (Twilio calls webhooks over https only)";
    }
    return make_error_code(error::invalid_parameter);
}

// A number's three webhooks: an explicit URL (which must be one Twilio may call) wins, else
// `base` + the route's suffix. Without either a webhook stays empty (an update leaves it as it
// is), or, when `every` is set (a purchase), that is a not_configured error.
parsed<number_webhooks> resolve_webhooks(std::string_view base, const std::string& voice, const std::string& sms,
    const std::string& status, bool every, bool development, std::string* problem)
{
    number_webhooks w;
    for (auto [explicit_url, suffix, name, out] :
        {std::tuple{&voice, "/call", "voice_url", &w.voice_url}, std::tuple{&sms, "/sms", "sms_url", &w.sms_url},
            std::tuple{&status, "/status", "status_callback_url", &w.status_callback_url}}) {
        if (!explicit_url->empty()) {
            if (!is_twilio_webhook_url(*explicit_url, development)) {
                return refuse_url(name, problem);
            }
            *out = *explicit_url;
        } else if (!base.empty()) {
            *out = std::string(base) + suffix;
        } else if (every) {
            if (problem != nullptr) {
                *problem = "no webhook base for " + std::string(name)
                    + ": give webhook_url, or set SWITCHBOARD_TWILIO_WEBHOOK_URL or SWITCHBOARD_PUBLIC_URL";
            }
            return make_error_code(error::not_configured);
        }
    }
    return w;
}

} // namespace

parsed<number_webhooks> update_webhooks(const number_update& u, bool development, std::string* problem)
{
    const std::string_view base = text::without_trailing_slashes(u.webhook_url);
    if (!base.empty() && !is_twilio_webhook_url(base, development)) {
        return refuse_url("webhook_url", problem);
    }
    return resolve_webhooks(base, u.voice_url, u.sms_url, u.status_callback_url, false, development, problem);
}

parsed<number_fallbacks> update_fallbacks(const number_update& u, bool development, std::string* problem)
{
    for (auto [url, name] :
        {std::pair{&u.voice_fallback_url, "voice_fallback_url"}, std::pair{&u.sms_fallback_url, "sms_fallback_url"}}) {
        if (!url->empty() && !is_twilio_webhook_url(*url, development)) {
            return refuse_url(name, problem);
        }
    }
    return number_fallbacks{u.voice_fallback_url, u.sms_fallback_url};
}

std::string number_update_form(const number_update& u, const number_webhooks& w, const number_fallbacks& fallbacks)
{
    form f;
    if (!u.friendly_name.empty()) {
        f.add("FriendlyName", u.friendly_name);
    }
    add_webhooks(f, w.voice_url, w.sms_url, w.status_callback_url);
    add_fallbacks(f, fallbacks);
    return f.str();
}

void add_overrides(number_webhooks& w, number_fallbacks& f, std::string_view webhook, std::string_view status)
{
    for (std::string* url : {&w.voice_url, &w.sms_url, &f.voice_url, &f.sms_url}) {
        if (!url->empty()) {
            *url = connection_overrides::apply(*url, webhook);
        }
    }
    if (!w.status_callback_url.empty()) {
        w.status_callback_url = connection_overrides::apply(w.status_callback_url, status);
    }
}

bool is_twilio_webhook_url(std::string_view url, bool development) noexcept
{
    if (!is_http_url(url)) {
        return false;
    }
    if (url.starts_with("https://")) {
        return true;
    }
    if (!development) {
        return false;
    }
    std::string_view host = url.substr(7);
    host = host.substr(0, host.find_first_of(":/?#"));
    return host == "localhost" || host == "127.0.0.1";
}

parsed<number_webhooks> purchase_webhooks(const purchase_request& r, std::string_view configured_base,
    std::string_view public_url, bool development, std::string* problem)
{
    std::string base;
    std::string_view from = "webhook_url";
    if (!r.webhook_url.empty()) {
        base = text::without_trailing_slashes(r.webhook_url);
    } else if (!configured_base.empty()) {
        base = text::without_trailing_slashes(configured_base);
        from = "SWITCHBOARD_TWILIO_WEBHOOK_URL";
    } else if (!public_url.empty()) {
        base = std::string(text::without_trailing_slashes(public_url)) + "/api/phone/webhook";
        from = "SWITCHBOARD_PUBLIC_URL";
    }
    if (!base.empty() && !is_twilio_webhook_url(base, development)) {
        // The client's own webhook_url is a bad request; a configured base (an http
        // SWITCHBOARD_PUBLIC_URL, say) is the operator's to fix.
        if (problem != nullptr) {
            *problem = std::string(from)
                + " must be an https:// URL (Twilio calls webhooks over https only; http is accepted for "
                  "localhost in development)";
        }
        return make_error_code(from == "webhook_url" ? error::invalid_parameter : error::not_configured);
    }
    return resolve_webhooks(base, r.voice_url, r.sms_url, r.status_callback_url, true, development, problem);
}

parsed<number_search> parse_number_search(std::string_view query, std::string* problem)
{
    const auto fail = [&](error e, std::string why) -> parsed<number_search> {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return make_error_code(e);
    };
    const form_params q = parse_form(query);
    number_search s;
    for (std::size_t i = 0; i < q.size(); ++i) {
        const auto [name, value] = q[i];
        if (value.empty()) {
            continue; // a blank field of a form: not given
        }
        if (name == "country") {
            if (value.size() != 2
                || !std::all_of(value.begin(), value.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
                return fail(error::invalid_parameter, "country must be an ISO 3166 two-letter code such as US");
            }
            s.country = value;
        } else if (name == "area_code") {
            if (value.size() != 3 || !all_of(value, is_digit)) {
                return fail(error::invalid_parameter, "area_code must be three digits");
            }
            s.area_code = value;
        } else if (name == "contains") {
            const bool ok = !value.empty() && value.size() <= 16 && std::all_of(value.begin(), value.end(), [](char c) {
                return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '*';
            });
            if (!ok) {
                return fail(error::invalid_parameter, "contains must be 1 to 16 digits, letters or '*'");
            }
            s.contains = value;
        } else if (name == "sms_enabled" || name == "voice_enabled") {
            if (value != "true" && value != "false") {
                return fail(error::invalid_parameter, std::string(name) + " must be true or false");
            }
            (name == "sms_enabled" ? s.sms_enabled : s.voice_enabled) = value == "true";
        } else if (name == "limit") {
            const auto n = text::to_integer<int>(value);
            if (!n || *n < 1 || *n > 50) {
                return fail(error::invalid_parameter, "limit must be a whole number from 1 to 50");
            }
            s.limit = *n;
        } else {
            return fail(error::invalid_parameter, "unknown query parameter '" + std::string(name) + "'");
        }
    }
    return s;
}

parsed<history_query> parse_history_query(std::string_view query, std::string* problem)
{
    const auto fail = [&](std::string why) -> parsed<history_query> {
        if (problem != nullptr) {
            *problem = std::move(why);
        }
        return make_error_code(error::invalid_parameter);
    };
    const form_params q = parse_form(query);
    history_query h;
    for (std::size_t i = 0; i < q.size(); ++i) {
        const auto [name, value] = q[i];
        if (value.empty()) {
            continue; // a blank field of a form: not given
        }
        if (name == "limit") {
            const auto n = text::to_integer<int>(value);
            if (!n || *n < 1 || *n > 200) {
                return fail("limit must be a whole number from 1 to 200");
            }
            h.limit = *n;
        } else if (name == "status") {
            if (parse_call_status(value) == call_status::other) {
                return fail("status must be one of queued, initiated, ringing, in-progress, completed, busy, "
                            "no-answer, canceled, failed");
            }
            h.status = value;
        } else if (name == "direction") {
            if (value != "inbound" && value != "outbound" && value != "outbound-api" && value != "outbound-dial") {
                return fail("direction must be inbound, outbound, outbound-api or outbound-dial");
            }
            h.direction = value;
        } else if (name == "source") {
            if (value != "local" && value != "twilio") {
                return fail("source must be local (the call log, default) or twilio");
            }
            h.from_twilio = value == "twilio";
        } else if (name == "cursor") {
            const std::size_t dot = value.find('.');
            std::int64_t at = 0;
            const auto head = value.substr(0, dot);
            const auto [end, ec] = std::from_chars(head.data(), head.data() + head.size(), at);
            if (dot == std::string_view::npos || ec != std::errc{} || end != head.data() + head.size() || at < 0
                || !is_twilio_sid(value.substr(dot + 1), "CA")) {
                return fail("cursor is not one this API returned (use next_cursor from the previous page)");
            }
            h.before_started_at_ms = at;
            h.before_call_sid = std::string(value.substr(dot + 1));
        } else {
            return fail("unknown query parameter '" + std::string(name) + "'");
        }
    }
    if (h.from_twilio && h.before_started_at_ms) {
        return fail("cursor pages the local call log; it cannot be combined with source=twilio");
    }
    return h;
}

std::string history_cursor(std::int64_t started_at_ms, std::string_view call_sid)
{
    return std::to_string(started_at_ms) + "." + std::string(call_sid);
}

std::string account_path(std::string_view account_sid, std::string_view rest)
{
    std::string p = "/2010-04-01/Accounts/";
    p.append(account_sid).append("/").append(rest);
    return p;
}

form& form::add(std::string_view name, std::string_view value)
{
    if (!out_.empty()) {
        out_ += '&';
    }
    out_ += text::percent_encode(name, unreserved);
    out_ += '=';
    out_ += text::percent_encode(value, unreserved);
    return *this;
}

std::string call_twiml(std::string_view message, std::string_view voice, std::string_view language)
{
    twiml::response r;
    r.say(message, voice, language);
    return std::move(r).str();
}

parsed<std::string> checked_call_twiml(
    std::string_view message, std::string_view voice, std::string_view language, std::string* problem)
{
    std::string twiml = call_twiml(message, voice, language);
    const std::size_t length = characters(twiml);
    if (length > max_twiml_characters) {
        if (problem != nullptr) {
            *problem = "message is too long: Twilio accepts at most " + std::to_string(max_twiml_characters)
                + " characters of TwiML, and this message makes " + std::to_string(length)
                + " once wrapped in <Say> and XML-escaped (& < > count as 4 to 5 characters each)";
        }
        return error::invalid_parameter;
    }
    return twiml;
}

std::string create_call_form(
    const call_request& r, std::string_view from, std::string_view twiml, std::string_view status_callback)
{
    form f;
    f.add("To", r.to).add("From", from).add("Twiml", twiml);
    if (!status_callback.empty()) {
        f.add("StatusCallback", status_callback).add("StatusCallbackMethod", "POST");
        for (const std::string_view e : {"initiated", "ringing", "answered", "completed"}) {
            f.add("StatusCallbackEvent", e);
        }
    }
    if (r.record) {
        f.add("Record", "true");
    }
    return f.str();
}

std::string send_sms_form(const sms_request& r, std::string_view from, std::string_view status_callback)
{
    form f;
    f.add("To", r.to).add("From", from).add("Body", r.message);
    if (!status_callback.empty()) {
        f.add("StatusCallback", status_callback);
    }
    return f.str();
}

std::string purchase_form(const purchase_request& r, std::string_view voice_url, std::string_view sms_url,
    std::string_view status_callback, const number_fallbacks& fallbacks)
{
    form f;
    f.add("PhoneNumber", r.phone_number);
    if (!r.friendly_name.empty()) {
        f.add("FriendlyName", r.friendly_name);
    }
    add_webhooks(f, voice_url, sms_url, status_callback);
    add_fallbacks(f, fallbacks);
    return f.str();
}

std::string search_query(const number_search& s)
{
    form f;
    if (!s.area_code.empty()) {
        f.add("AreaCode", s.area_code);
    }
    if (!s.contains.empty()) {
        f.add("Contains", s.contains);
    }
    if (s.sms_enabled) {
        f.add("SmsEnabled", *s.sms_enabled ? "true" : "false");
    }
    if (s.voice_enabled) {
        f.add("VoiceEnabled", *s.voice_enabled ? "true" : "false");
    }
    f.add("PageSize", std::to_string(s.limit));
    return f.str();
}

twilio_error parse_twilio_error(std::string_view body)
{
    twilio_error e;
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) {
        return e;
    }
    const auto& o = v.get_object();
    // Boost.JSON holds only integers above INT64_MAX as uint64: no Twilio code, so none is read
    // (the cast made them negative).
    if (const auto* c = o.if_contains("code"); c != nullptr && c->is_int64()) {
        e.code = c->get_int64();
    }
    for (const auto& [name, out] : {std::pair{"message", &e.message}, std::pair{"more_info", &e.more_info}}) {
        if (const auto* m = o.if_contains(name); m != nullptr && m->is_string()) {
            *out = std::string(std::string_view(m->get_string()).substr(0, 1000));
        }
    }
    if (e.message.empty()) { // RFC 7807 problem documents (title/detail)
        if (const auto* d = o.if_contains("detail"); d != nullptr && d->is_string()) {
            e.message = std::string(std::string_view(d->get_string()).substr(0, 1000));
        } else if (const auto* t = o.if_contains("title"); t != nullptr && t->is_string()) {
            e.message = std::string(std::string_view(t->get_string()).substr(0, 1000));
        }
    }
    return e;
}

std::string money(double amount)
{
    const auto units = static_cast<std::int64_t>(std::llround(amount * 10000.0)); // 1/10000ths
    const std::int64_t whole = units / 10000;
    const std::int64_t frac = std::abs(units % 10000);
    std::string f = std::to_string(frac);
    return std::string(units < 0 && whole == 0 ? "-" : "") + std::to_string(whole) + "."
        + std::string(4 - f.size(), '0') + f;
}

cost_estimate estimate_cost(const usage& u, const prices& p) noexcept
{
    // Rounded to hundredths of a cent, as Twilio prices are quoted.
    const auto round4 = [](double v) { return std::round(v * 10000.0) / 10000.0; };
    cost_estimate c;
    c.voice = round4(static_cast<double>(u.billed_minutes) * p.voice_minute);
    c.sms = round4(static_cast<double>(u.sms_sent) * p.sms);
    c.numbers = round4(static_cast<double>(u.numbers) * p.number_month);
    c.total = round4(c.voice + c.sms + c.numbers);
    return c;
}

} // namespace switchboard::phone_api
