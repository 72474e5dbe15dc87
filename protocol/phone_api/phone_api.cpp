// The operator API's JSON requests (calls, messages, purchases, number updates): each field
// validated, 400 naming it; the webhook and fallback URLs a number gets. GET queries are
// phone_api_queries.cpp's, Twilio's forms, errors and costs phone_api_forms.cpp's.
#include "protocol/phone_api/phone_api.hpp"

#include "protocol/core/error.hpp"
#include "protocol/core/form.hpp"
#include "protocol/core/phone.hpp"
#include "protocol/core/text.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/connection_overrides.hpp"
#include "protocol/twilio/twiml.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <initializer_list>
#include <tuple>
#include <utility>

namespace switchboard::phone_api {
namespace {

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
        if (text::code_points(s) > max) {
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

} // namespace

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

} // namespace switchboard::phone_api
