// The operator phone API's request validation (protocol/phone_api): JSON bodies, query strings,
// Idempotency-Key values, connection overrides and Twilio's error documents. Input: a selector byte, then the body or
// query. Refusals carry a message; accepted requests give Twilio form bodies that decode back to the request.
#include "protocol/core/form.hpp"
#include "protocol/core/phone.hpp"
#include "protocol/phone_api/idempotency.hpp"
#include "protocol/phone_api/phone_api.hpp"
#include "protocol/twilio/connection_overrides.hpp"
#include "protocol/twilio/twiml_reader.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

template <class Parsed> void check_refusal(const Parsed& p, const std::string& problem)
{
    if (!p) {
        fuzz::check(!problem.empty(), "a refusal says why");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    const std::string_view in = fuzz::as_text(data + 1, size - 1);
    fuzz::total([&] {
        std::string problem;
        switch (data[0] % 7) {
        case 0: {
            const auto r = phone_api::parse_call_request(in, &problem);
            check_refusal(r, problem);
            if (r) {
                fuzz::check(phone::is_e164(r->to), "the number is E.164");
                const std::string twiml = phone_api::call_twiml(r->message, r->voice, r->language);
                fuzz::check(twiml::read(twiml).has_value(), "the call's TwiML is well-formed");
                const form_params f = parse_form(phone_api::create_call_form(*r, "+14155550100", twiml, "/cb"));
                fuzz::check(f.get("To") == r->to && f.get("Twiml") == twiml, "the create form decodes back");
            }
            break;
        }
        case 1: {
            const auto r = phone_api::parse_sms_request(in, &problem);
            check_refusal(r, problem);
            if (r) {
                const form_params f = parse_form(phone_api::send_sms_form(*r, "+14155550100", ""));
                fuzz::check(f.get("Body") == r->message, "the message form decodes back");
            }
            break;
        }
        case 2: {
            const auto r = phone_api::parse_purchase_request(in, &problem);
            check_refusal(r, problem);
            if (r) {
                const form_params f = parse_form(phone_api::purchase_form(*r, r->webhook_url, "", ""));
                fuzz::check(f.get("PhoneNumber") == r->phone_number, "the purchase form decodes back");
                // Whatever the body, the webhooks handed to Twilio are https (or localhost in
                // development), and a refusal says why.
                for (const bool dev : {false, true}) {
                    std::string why;
                    const auto w = phone_api::purchase_webhooks(*r, "", "https://voice.example.com", dev, &why);
                    fuzz::check(w.has_value() != !why.empty(), "a webhook refusal says why");
                    const auto fb
                        = phone_api::purchase_fallbacks(*r, "", "none", "https://voice.example.com", dev, &why);
                    if (fb) {
                        fuzz::check(fb->sms_url.empty() == r->sms_fallback_url.empty(), "none means none");
                        fuzz::check(phone_api::is_twilio_webhook_url(fb->voice_url, dev), "a fallback Twilio may call");
                    }
                    if (w) {
                        for (const std::string* u : {&w->voice_url, &w->sms_url, &w->status_callback_url}) {
                            fuzz::check(
                                phone_api::is_twilio_webhook_url(*u, dev), "every webhook is one Twilio may call");
                        }
                    }
                }
            }
            // The same body as an update of an owned number.
            const auto u = phone_api::parse_number_update(in, &problem);
            check_refusal(u, problem);
            if (u) {
                std::string why;
                auto w = phone_api::update_webhooks(*u, false, &why);
                fuzz::check(w.has_value() != !why.empty(), "an update refusal says why");
                why.clear();
                auto fb = phone_api::update_fallbacks(*u, false, &why);
                fuzz::check(fb.has_value() != !why.empty(), "a fallback refusal says why");
                if (w && fb) {
                    // With connection overrides: an explicit fragment is kept, the rest get ours.
                    phone_api::add_overrides(*w, *fb, "ct=2000", "rc=2");
                    const form_params f = parse_form(phone_api::number_update_form(*u, *w, *fb));
                    fuzz::check(f.get("VoiceUrl") == w->voice_url, "the update form decodes back");
                    fuzz::check(f.get("VoiceFallbackUrl") == fb->voice_url, "the fallback decodes back");
                    fuzz::check(w->voice_url.empty() || w->voice_url.find('#') != std::string::npos,
                        "every URL handed to Twilio carries overrides (its own or ours)");
                }
            }
            break;
        }
        case 3: {
            const auto r = phone_api::parse_number_search(in, &problem);
            check_refusal(r, problem);
            if (r) {
                fuzz::check(r->limit >= 1 && r->limit <= 50, "the page size is bounded");
                (void)phone_api::search_query(*r);
            }
            break;
        }
        case 4: {
            const auto r = phone_api::parse_history_query(in, &problem);
            check_refusal(r, problem);
            if (r && r->before_started_at_ms) {
                const std::string cursor = phone_api::history_cursor(*r->before_started_at_ms, r->before_call_sid);
                const auto again = phone_api::parse_history_query("cursor=" + cursor, &problem);
                fuzz::check(again && again->before_started_at_ms == r->before_started_at_ms
                        && again->before_call_sid == r->before_call_sid,
                    "a cursor reads back");
            }
            break;
        }
        case 5: {
            // Header and fragment values a client controls: an Idempotency-Key, Twilio
            // connection overrides.
            const auto key = idempotency::parse_key(in, &problem);
            check_refusal(key, problem);
            if (key) {
                fuzz::check(!key->empty() && key->size() <= 255, "a key is bounded");
                fuzz::check(idempotency::scope("a", *key) != idempotency::scope("b", *key), "scopes are per subject");
            }
            problem.clear();
            const auto o = connection_overrides::parse(in, &problem);
            check_refusal(o, problem);
            if (o) {
                const auto again = connection_overrides::parse(*o, &problem);
                fuzz::check(again && *again == *o, "canonical overrides parse to themselves");
                fuzz::check(o->size() <= in.size() + 1, "canonical text is no longer than the input");
            }
            const auto record = idempotency::decode(in);
            if (record) {
                fuzz::check(idempotency::decode(idempotency::encode(*record)).has_value(), "a record round-trips");
            }
            break;
        }
        default: {
            const auto e = phone_api::parse_twilio_error(in);
            fuzz::check(!e.code || *e.code >= 0 || in.find('-') != std::string_view::npos,
                "a negative code is one the document wrote (a large unsigned one does not wrap)");
            fuzz::check(e.message.size() <= 1000 && e.more_info.size() <= 1000, "error texts are bounded");
            (void)phone_api::is_valid_voice(in);
            (void)phone_api::is_valid_language(in);
            (void)phone::mask(in);
            break;
        }
        }
    });
    return 0;
}
