// protocol/phone_api/phone_api.cpp: the operator API's request validation, Twilio form bodies and
// errors, the webhooks and fallbacks of a number (with their connection overrides), the cost estimate.
#include "protocol/core/error.hpp"
#include "protocol/phone_api/phone_api.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(phone_api_requests)

BOOST_AUTO_TEST_CASE(call_request)
{
    std::string problem;
    auto c = phone_api::parse_call_request(
        R"({"to":"+14155551212","message":"Hi","record":true,"voice":"Polly.Joanna-Neural","language":"en-GB",
            "call_purpose":"reminder","workflow_id":"wf-1","agent_name":"Ada"})",
        &problem);
    BOOST_REQUIRE(c);
    BOOST_TEST(c->record);
    BOOST_TEST(c->voice == "Polly.Joanna-Neural");
    const auto refused = [&](std::string_view body, error e, std::string_view says) {
        problem.clear();
        auto r = phone_api::parse_call_request(body, &problem);
        BOOST_TEST(!r);
        BOOST_TEST((r.error() == e), body);
        BOOST_TEST(problem.find(says) != std::string::npos, problem << " should say " << says);
    };
    refused("nope", error::malformed_json, "not valid JSON");
    refused("[1]", error::malformed_json, "JSON object");
    refused(R"({"message":"x"})", error::missing_parameter, "to is required");
    refused(R"({"to":"+14155551212"})", error::missing_parameter, "message is required");
    refused(R"({"to":"4155551212","message":"x"})", error::invalid_parameter, "E.164");
    refused(R"({"to":"+14155551212","message":"x","extra":1})", error::invalid_parameter, "unknown field 'extra'");
    refused(R"({"to":"+14155551212","message":"x","voice":"Polly.<x>"})", error::invalid_parameter, "voice");
    refused(R"({"to":"+14155551212","message":"x","language":"EN"})", error::invalid_parameter, "language");
    refused(R"({"to":"+14155551212","message":"x","record":1})", error::invalid_parameter, "record");
    refused(R"({"to":"+14155551212","message":"\u00ff\u00fe\u00fd","agent_name":5})", error::invalid_parameter,
        "agent_name must be a string");
}

BOOST_AUTO_TEST_CASE(sms_length_counts_characters)
{
    std::string body = R"({"to":"+14155551212","message":")";
    for (int i = 0; i < 1600; ++i) {
        body += "\xc3\xa9"; // é: two bytes, one character
    }
    BOOST_TEST(static_cast<bool>(phone_api::parse_sms_request(body + "\"}", nullptr)));
    BOOST_TEST(!phone_api::parse_sms_request(body + "x\"}", nullptr));
}

BOOST_AUTO_TEST_CASE(call_twiml_fits_twilios_limit)
{
    std::string problem;
    // 4000 characters pass the field check, but the TwiML Twilio receives is longer.
    const std::string plain(4000, 'x');
    BOOST_REQUIRE(phone_api::parse_call_request(R"({"to":"+14155551212","message":")" + plain + "\"}", &problem));
    auto r = phone_api::checked_call_twiml(plain, "Polly.Joanna", "en-US", &problem);
    BOOST_TEST(!r);
    BOOST_TEST((r.error() == error::invalid_parameter));
    BOOST_TEST(problem.rfind("message ", 0) == 0u, problem);
    BOOST_TEST(problem.find("4000") != std::string::npos, problem);
    // What fits exactly passes, and is call_twiml's output.
    const std::size_t wrapping = phone_api::call_twiml("x", "Polly.Joanna", "en-US").size() - 1;
    const std::string fits(phone_api::max_twiml_characters - wrapping, 'x');
    r = phone_api::checked_call_twiml(fits, "Polly.Joanna", "en-US", &problem);
    BOOST_REQUIRE(r);
    BOOST_TEST(r->size() == phone_api::max_twiml_characters);
    BOOST_TEST(*r == phone_api::call_twiml(fits, "Polly.Joanna", "en-US"));
    BOOST_TEST(!phone_api::checked_call_twiml(fits + "x", "Polly.Joanna", "en-US", &problem));
    // Escaping counts: 1000 '&' are 5000 characters of TwiML.
    BOOST_TEST(!phone_api::checked_call_twiml(std::string(1000, '&'), "alice", "en-US", &problem));
    // Characters, not bytes: as many e-acute as 'x' fit.
    std::string accented;
    for (std::size_t i = 0; i < fits.size(); ++i) {
        accented += "\xc3\xa9";
    }
    BOOST_TEST(static_cast<bool>(phone_api::checked_call_twiml(accented, "Polly.Joanna", "en-US", &problem)));
}

BOOST_AUTO_TEST_CASE(queries)
{
    std::string problem;
    auto s = phone_api::parse_number_search("area_code=415&contains=55*&sms_enabled=true&limit=5", &problem);
    BOOST_REQUIRE(s);
    BOOST_TEST(phone_api::search_query(*s) == "AreaCode=415&Contains=55%2A&SmsEnabled=true&PageSize=5");
    BOOST_TEST(!phone_api::parse_number_search("limit=51", &problem));
    BOOST_TEST(!phone_api::parse_number_search("country=us", &problem));

    const std::string sid = "CA" + std::string(32, 'f');
    auto h = phone_api::parse_history_query(
        "limit=2&status=in-progress&direction=outbound&cursor=" + phone_api::history_cursor(1234, sid), &problem);
    BOOST_REQUIRE(h);
    BOOST_TEST(*h->before_started_at_ms == 1234);
    BOOST_TEST(h->before_call_sid == sid);
    BOOST_TEST(!phone_api::parse_history_query("cursor=1234." + sid.substr(1), &problem));
    BOOST_TEST(!phone_api::parse_history_query("cursor=-1." + sid, &problem));
    BOOST_TEST(!phone_api::parse_history_query("status=other", &problem));
}

BOOST_AUTO_TEST_CASE(twilio_forms_and_errors)
{
    phone_api::call_request c;
    c.to = "+14155551212";
    c.record = true;
    const auto twiml = phone_api::call_twiml("Tom & Jerry <3", "alice", "en-US");
    BOOST_TEST(twiml
        == R"(<?xml version="1.0" encoding="UTF-8"?><Response><Say voice="alice" language="en-US">Tom &amp; Jerry &lt;3</Say></Response>)");
    const auto form = phone_api::create_call_form(c, "+14155550100", "<Response/>", "https://x.example/s?a=1");
    BOOST_TEST(form
        == "To=%2B14155551212&From=%2B14155550100&Twiml=%3CResponse%2F%3E&StatusCallback=https%3A%2F%2Fx.example%2Fs%"
           "3Fa%3D1&StatusCallbackMethod=POST&StatusCallbackEvent=initiated&StatusCallbackEvent=ringing&"
           "StatusCallbackEvent=answered&StatusCallbackEvent=completed&Record=true");

    const auto e = phone_api::parse_twilio_error(
        R"({"code":21211,"message":"Invalid 'To'","more_info":"https://www.twilio.com/docs/errors/21211","status":400})");
    BOOST_TEST(*e.code == 21211);
    BOOST_TEST(e.message == "Invalid 'To'");
    BOOST_TEST(e.more_info == "https://www.twilio.com/docs/errors/21211");
    const auto problem = phone_api::parse_twilio_error(R"({"type":"x","title":"Invalid request","status":422})");
    BOOST_TEST(!problem.code);
    BOOST_TEST(problem.message == "Invalid request");
    BOOST_TEST(phone_api::parse_twilio_error("<html>").message.empty());
}

// Found by tests/fuzz/phone_api_fuzz: a code above INT64_MAX was cast to a negative number
// and reported to the operator as Twilio's.
BOOST_AUTO_TEST_CASE(twilio_error_codes_out_of_range_are_left_out)
{
    const auto e = phone_api::parse_twilio_error(R"({"code":18446744073709551615,"message":"m"})");
    BOOST_TEST(!e.code);
    BOOST_TEST(e.message == "m");
    BOOST_TEST(*phone_api::parse_twilio_error(R"({"code":9223372036854775807})").code == INT64_MAX);
}

BOOST_AUTO_TEST_CASE(costs)
{
    const auto c = phone_api::estimate_cost({7, 3, 2}, {});
    BOOST_TEST(phone_api::money(c.voice) == "0.0595");
    BOOST_TEST(phone_api::money(c.sms) == "0.0225");
    BOOST_TEST(phone_api::money(c.numbers) == "2.0000");
    BOOST_TEST(phone_api::money(c.total) == "2.0820");
    BOOST_TEST(phone_api::money(-0.5) == "-0.5000");
}

// The Samsaek seed's purchase: webhook_url is the base of the three webhooks.
BOOST_AUTO_TEST_CASE(number_updates_change_only_what_is_given)
{
    std::string problem;
    BOOST_TEST(!phone_api::parse_number_update("{}", &problem));
    BOOST_TEST(problem.find("nothing to change") == 0u);
    auto u = phone_api::parse_number_update(R"({"webhook_url":"https://h.example/w/"})", &problem);
    BOOST_REQUIRE(u);
    auto w = phone_api::update_webhooks(*u, false, &problem);
    BOOST_REQUIRE(w);
    BOOST_TEST(w->voice_url == "https://h.example/w/call");
    BOOST_TEST(w->status_callback_url == "https://h.example/w/status");
    u = phone_api::parse_number_update(R"({"sms_url":"https://h.example/s","friendly_name":"L"})", &problem);
    BOOST_REQUIRE(u);
    w = phone_api::update_webhooks(*u, false, &problem);
    BOOST_REQUIRE(w);
    BOOST_TEST(w->voice_url.empty());
    auto f = phone_api::update_fallbacks(*u, false, &problem);
    BOOST_REQUIRE(f);
    BOOST_TEST(phone_api::number_update_form(*u, *w, *f)
        == "FriendlyName=L&SmsUrl=https%3A%2F%2Fh.example%2Fs&SmsMethod=POST");
    u = phone_api::parse_number_update(R"({"voice_fallback_url":"https://b.example/v"})", &problem);
    BOOST_REQUIRE(u);
    w = phone_api::update_webhooks(*u, false, &problem);
    f = phone_api::update_fallbacks(*u, false, &problem);
    BOOST_REQUIRE((w && f));
    BOOST_TEST(phone_api::number_update_form(*u, *w, *f)
        == "VoiceFallbackUrl=https%3A%2F%2Fb.example%2Fv&VoiceFallbackMethod=POST");
    u = phone_api::parse_number_update(R"({"sms_fallback_url":"http://b.example/s"})", &problem);
    BOOST_REQUIRE(u);
    BOOST_TEST(!phone_api::update_fallbacks(*u, false, &problem));
    BOOST_TEST(problem.find("sms_fallback_url must be an https:// URL") == 0u);
    u = phone_api::parse_number_update(R"({"voice_url":"http://localhost:8080/c"})", &problem);
    BOOST_REQUIRE(u);
    BOOST_TEST(!phone_api::update_webhooks(*u, false, &problem));
    BOOST_TEST(problem.find("voice_url must be an https:// URL") == 0u);
    BOOST_TEST(phone_api::update_webhooks(*u, true, &problem).has_value());
}

BOOST_AUTO_TEST_CASE(purchase_fallbacks_default_to_the_jobmatch_handlers)
{
    std::string problem;
    phone_api::purchase_request r;
    auto f = phone_api::purchase_fallbacks(r, "", "", "https://voice.example.com/", false, &problem);
    BOOST_REQUIRE(f);
    BOOST_TEST(f->voice_url == "https://voice.example.com/api/voice/incoming");
    BOOST_TEST(f->sms_url == "https://voice.example.com/api/sms/incoming");
    f = phone_api::purchase_fallbacks(r, "https://b.example/v", "none", "https://voice.example.com", false, &problem);
    BOOST_REQUIRE(f);
    BOOST_TEST(f->voice_url == "https://b.example/v");
    BOOST_TEST(f->sms_url.empty());
    f = phone_api::purchase_fallbacks(r, "", "", "", false, &problem);
    BOOST_REQUIRE(f);
    BOOST_TEST((f->voice_url.empty() && f->sms_url.empty())); // no public URL: no fallback
    const auto http_root = phone_api::purchase_fallbacks(r, "", "", "http://voice.example.com", false, &problem);
    BOOST_REQUIRE(!http_root);
    BOOST_TEST(http_root.error() == make_error_code(error::not_configured));
    BOOST_TEST(problem.find("SWITCHBOARD_PUBLIC_URL must be an https:// URL") == 0u);
    r.sms_fallback_url = "http://b.example/s";
    BOOST_TEST(!phone_api::purchase_fallbacks(r, "", "", "", false, &problem));
    BOOST_TEST(problem.find("sms_fallback_url must be an https:// URL") == 0u);
    phone_api::number_fallbacks both{"https://a.example/v", "https://a.example/s"};
    r.phone_number = "+14155550123";
    const std::string form = phone_api::purchase_form(r, "", "", "", both);
    BOOST_TEST(form.find("VoiceFallbackUrl=https%3A%2F%2Fa.example%2Fv&VoiceFallbackMethod=POST") != std::string::npos);
    BOOST_TEST(form.find("SmsFallbackUrl=https%3A%2F%2Fa.example%2Fs&SmsFallbackMethod=POST") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(purchase_webhooks_follow_the_seed)
{
    std::string problem;
    auto p = phone_api::parse_purchase_request(
        R"({"phone_number":"+14155550123","friendly_name":"Samsaek Main Line","webhook_url":"https://yourdomain.com/api/phone/webhook"})",
        &problem);
    BOOST_REQUIRE(p);
    auto w = phone_api::purchase_webhooks(*p, "", "https://voice.example.com", false, &problem);
    BOOST_REQUIRE(w);
    BOOST_TEST(w->voice_url == "https://yourdomain.com/api/phone/webhook/call");
    BOOST_TEST(w->sms_url == "https://yourdomain.com/api/phone/webhook/sms");
    BOOST_TEST(w->status_callback_url == "https://yourdomain.com/api/phone/webhook/status");

    // Without webhook_url: the configured base (a trailing slash dropped), else the public URL.
    p->webhook_url.clear();
    w = phone_api::purchase_webhooks(
        *p, "https://hooks.example.com/base", "https://voice.example.com", false, &problem);
    BOOST_REQUIRE(w);
    BOOST_TEST(w->sms_url == "https://hooks.example.com/base/sms");
    w = phone_api::purchase_webhooks(*p, "", "https://voice.example.com/", false, &problem);
    BOOST_REQUIRE(w);
    BOOST_TEST(w->voice_url == "https://voice.example.com/api/phone/webhook/call");
    BOOST_TEST(w->status_callback_url == "https://voice.example.com/api/phone/webhook/status");

    // Explicit URLs win over the base's.
    p->voice_url = "https://ivr.example.com/api/voice/incoming";
    w = phone_api::purchase_webhooks(*p, "", "https://voice.example.com", false, &problem);
    BOOST_REQUIRE(w);
    BOOST_TEST(w->voice_url == "https://ivr.example.com/api/voice/incoming");
    BOOST_TEST(w->sms_url == "https://voice.example.com/api/phone/webhook/sms");

    // No base at all: every webhook must be given.
    BOOST_TEST(!phone_api::purchase_webhooks(*p, "", "", false, &problem));
    BOOST_TEST(problem.find("sms_url") != std::string::npos);
    p->sms_url = "https://a.example.com/s";
    p->status_callback_url = "https://a.example.com/t";
    BOOST_TEST(phone_api::purchase_webhooks(*p, "", "", false, &problem).has_value());

    // https only; http://localhost and 127.0.0.1 in development.
    phone_api::purchase_request plain;
    plain.webhook_url = "http://yourdomain.com/api/phone/webhook";
    BOOST_TEST(!phone_api::purchase_webhooks(plain, "", "", true, &problem));
    BOOST_TEST(problem.find("webhook_url must be an https:// URL") == 0u);
    plain.webhook_url = "http://localhost:8080/api/phone/webhook";
    BOOST_TEST(!phone_api::purchase_webhooks(plain, "", "", false, &problem));
    BOOST_TEST(phone_api::purchase_webhooks(plain, "", "", true, &problem).has_value());
    plain.webhook_url = "http://127.0.0.1/api/phone/webhook";
    BOOST_TEST(phone_api::purchase_webhooks(plain, "", "", true, &problem).has_value());
    plain.webhook_url = "http://localhost.evil.example/api/phone/webhook";
    BOOST_TEST(!phone_api::purchase_webhooks(plain, "", "", true, &problem));
    // An http public URL is the operator's problem (503 not_configured), not the client's.
    const auto from_config = phone_api::purchase_webhooks({}, "", "http://voice.example.com", false, &problem);
    BOOST_REQUIRE(!from_config);
    BOOST_TEST(from_config.error() == make_error_code(error::not_configured));
    BOOST_TEST(problem.find("SWITCHBOARD_PUBLIC_URL must be an https:// URL") == 0u);
    plain.webhook_url = "https://yourdomain.com";
    plain.voice_url = "http://yourdomain.com/call";
    BOOST_TEST(!phone_api::purchase_webhooks(plain, "", "", false, &problem));
    BOOST_TEST(problem.find("voice_url") == 0u);

    // The form Twilio receives: each URL with its method.
    p = phone_api::parse_purchase_request(
        R"({"phone_number":"+14155550123","webhook_url":"https://h.example/w"})", &problem);
    BOOST_REQUIRE(p);
    w = phone_api::purchase_webhooks(*p, "", "", false, &problem);
    BOOST_REQUIRE(w);
    const std::string form = phone_api::purchase_form(*p, w->voice_url, w->sms_url, w->status_callback_url);
    BOOST_TEST(form.find("VoiceUrl=https%3A%2F%2Fh.example%2Fw%2Fcall&VoiceMethod=POST") != std::string::npos);
    BOOST_TEST(form.find("SmsUrl=https%3A%2F%2Fh.example%2Fw%2Fsms&SmsMethod=POST") != std::string::npos);
    BOOST_TEST(form.find("StatusCallback=https%3A%2F%2Fh.example%2Fw%2Fstatus&StatusCallbackMethod=POST")
        != std::string::npos);
    BOOST_TEST(!phone_api::parse_purchase_request(R"({"phone_number":"+14155550123","sms_url":"ftp://x"})", &problem));
    BOOST_TEST(problem.find("sms_url") == 0u);
}

BOOST_AUTO_TEST_CASE(numbers_carry_the_configured_overrides)
{
    std::string problem;
    phone_api::purchase_request r;
    r.phone_number = "+14155550123";
    r.webhook_url = "https://h.example/api/phone/webhook";
    r.sms_url = "https://h.example/own#ct=500";
    auto w = phone_api::purchase_webhooks(r, "", "", false, &problem);
    auto f = phone_api::purchase_fallbacks(r, "", "", "https://h.example", false, &problem);
    BOOST_REQUIRE((w && f));
    phone_api::add_overrides(*w, *f, "ct=2000", "rt=5000&rc=2");
    BOOST_TEST(w->voice_url == "https://h.example/api/phone/webhook/call#ct=2000");
    BOOST_TEST(w->sms_url == "https://h.example/own#ct=500");
    BOOST_TEST(w->status_callback_url == "https://h.example/api/phone/webhook/status#rt=5000&rc=2");
    BOOST_TEST(f->voice_url == "https://h.example/api/voice/incoming#ct=2000");
    BOOST_TEST(f->sms_url == "https://h.example/api/sms/incoming#ct=2000");
    const std::string form = phone_api::purchase_form(r, w->voice_url, w->sms_url, w->status_callback_url, *f);
    BOOST_TEST(
        form.find("StatusCallback=https%3A%2F%2Fh.example%2Fapi%2Fphone%2Fwebhook%2Fstatus%23rt%3D5000%26rc%3D2&")
        != std::string::npos);
    // A request's fragment must be overrides Twilio understands.
    BOOST_TEST(!phone_api::parse_purchase_request(
        R"({"phone_number":"+14155550123","voice_url":"https://h.example/v#section"})", &problem));
    BOOST_TEST(problem.find("voice_url: unknown connection override 'section'") == 0u, problem);
    // A base takes no fragment or query: the suffixes would land after them.
    for (const char* body : {R"({"phone_number":"+14155550123","webhook_url":"https://h.example/w#rc=2"})",
             R"({"phone_number":"+14155550123","webhook_url":"https://h.example/w?a=1"})"}) {
        BOOST_TEST(!phone_api::parse_purchase_request(body, &problem));
        BOOST_TEST(problem.find("webhook_url is the base of the number's webhooks") == 0u, problem);
    }
    BOOST_TEST(!phone_api::parse_number_update(R"({"webhook_url":"https://h.example/w#rc=2"})", &problem));
    BOOST_TEST(!phone_api::parse_number_update(R"({"status_callback_url":"https://h.example/s#rc=9"})", &problem));
    BOOST_TEST(problem.find("status_callback_url: rc (retry count)") == 0u, problem);
}

BOOST_AUTO_TEST_SUITE_END()
