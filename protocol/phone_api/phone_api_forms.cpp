// What the operator API sends Twilio and reads back: REST form bodies (create call, send SMS,
// buy or update a number, search), the inline TwiML of a placed call, Twilio's error documents,
// and the cost estimate.
#include "protocol/phone_api/phone_api.hpp"

#include "protocol/core/error.hpp"
#include "protocol/core/form.hpp"
#include "protocol/core/text.hpp"
#include "protocol/twilio/call_status.hpp"
#include "protocol/twilio/twiml.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace switchboard::phone_api {
namespace {

bool unreserved(unsigned char b) noexcept
{
    return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '.'
        || b == '_' || b == '~';
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
    })) || (region.size() == 3 && text::is_digits(region));
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
    const std::size_t length = text::code_points(twiml);
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
