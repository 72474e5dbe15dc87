// protocol/ivr/ivr_engine.cpp: the shipped JobMatch definition byte for byte, every action's TwiML,
// state in the callback URLs, business hours, and the assistant hand-off.
#include "protocol/ivr/ivr_engine.hpp"
#include "protocol/ivr/ivr_menu.hpp"

#include "tests/unit/protocol/ivr/sample_menus.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fstream>
#include <sstream>

using namespace switchboard;

using switchboard::test::sample;

namespace {

const std::string head = R"(<?xml version="1.0" encoding="UTF-8"?><Response>)";
const ivr::call_info caller{"+18005550100", "+14155551212"};

std::string say_hangup(std::string_view text)
{
    return head + R"(<Say voice="Polly.Joanna">)" + std::string(text) + "</Say><Hangup/></Response>";
}

std::shared_ptr<const ivr::definition> jobmatch()
{
    static const auto def = ivr::parse(ivr::default_definition_json()).def;
    BOOST_REQUIRE(def);
    return def;
}

ivr::call_state at(std::string menu, std::string trail = {}, std::string action = {}, int attempt = 0)
{
    return {std::move(menu), std::move(trail), std::move(action), attempt};
}

// A local time on a given weekday and minute (the date is only compared with holidays).
ivr::clock_fn clock_at(unsigned weekday, unsigned minute, std::string date = "2026-11-23")
{
    return [=](std::string_view) {
        hours::local_time t;
        t.year = std::stoi(date.substr(0, 4));
        t.month = static_cast<unsigned>(std::stoi(date.substr(5, 2)));
        t.day = static_cast<unsigned>(std::stoi(date.substr(8, 2)));
        t.weekday = weekday;
        t.minute_of_day = minute;
        return std::optional<hours::local_time>(t);
    };
}

// A minimal valid definition with one menu whose body is spliced in.
std::string one_menu(std::string_view menu_body, std::string_view extra_menus = "", std::string_view line = "")
{
    return R"({"version": 1, "lines": {"main": {"menu": "m")" + std::string(line) + R"(}}, "menus": {"m": )"
        + std::string(menu_body) + std::string(extra_menus) + "}}";
}

} // namespace

BOOST_AUTO_TEST_SUITE(jobmatch_definition)

BOOST_AUTO_TEST_CASE(welcome_menu_is_the_foundation_document)
{
    BOOST_TEST(ivr::answer(*jobmatch(), caller, {}).twiml
        == head
            + R"(<Gather numDigits="1" action="/api/voice/menu" method="POST" timeout="10"><Say voice="Polly.Joanna">)"
              "Welcome to Job Match dot zip, the AI-powered job matching platform for LLC owners. Press 1 to learn "
              "about our services. Press 2 to speak with our AI assistant. Press 3 to schedule a callback. Press 9 "
              "to end this call."
              R"(</Say></Gather><Redirect method="POST">/api/voice/menu</Redirect></Response>)");
}

BOOST_AUTO_TEST_CASE(each_choice_says_its_seed_text_and_hangs_up)
{
    const std::pair<const char*, const char*> seed[] = {
        {"1",
            "Job Match helps LLC owners find perfect job matches using AI. We analyze your skills, experience, and "
            "goals to match you with opportunities. Visit jobmatch dot zip to get started. Goodbye!"},
        {"2",
            "Our AI assistant is available on our website at jobmatch dot zip. You can chat with our intelligent "
            "matching system 24/7. Visit us online to get started. Goodbye!"},
        {"3",
            "To schedule a callback, please visit jobmatch dot zip and fill out our contact form. Our team will "
            "reach out within 24 hours. Goodbye!"},
        {"9", "Thank you for calling Job Match. Goodbye!"},
    };
    for (const auto& [digit, text] : seed) {
        const auto out = ivr::select(*jobmatch(), caller, {}, digit, "");
        BOOST_TEST(out.matched);
        BOOST_TEST(out.twiml == say_hangup(text));
        BOOST_TEST(out.choice == digit);
        BOOST_TEST(out.menu == "welcome");
        BOOST_TEST(out.action == "hangup");
    }
}

BOOST_AUTO_TEST_CASE(retries_then_goodbye)
{
    const std::string options
        = R"(<Say voice="Polly.Joanna">Press 1 to learn about our services. Press 2 to speak )"
          "with our AI assistant. Press 3 to schedule a callback. Press 9 to end this call.</Say>";
    const auto first = ivr::select(*jobmatch(), caller, {}, "7", "");
    BOOST_TEST(!first.matched);
    BOOST_TEST(first.choice == "invalid");
    BOOST_TEST(first.twiml
        == head + R"(<Say voice="Polly.Joanna">Sorry, that is not a valid option.</Say>)"
            + R"(<Gather numDigits="1" action="/api/voice/menu?attempt=1" method="POST" timeout="10">)" + options
            + R"(</Gather><Redirect method="POST">/api/voice/menu?attempt=1</Redirect></Response>)");

    const auto second = ivr::select(*jobmatch(), caller, at("", "", "", 1), "", "");
    BOOST_TEST(second.choice == "none");
    BOOST_TEST(second.twiml.find("<Say voice=\"Polly.Joanna\">Sorry, we didn't receive your selection.</Say>")
        != std::string::npos);
    BOOST_TEST(second.twiml.find("action=\"/api/voice/menu?attempt=2\"") != std::string::npos);

    const auto last = ivr::select(*jobmatch(), caller, at("", "", "", 2), "#", "");
    BOOST_TEST(
        last.twiml == say_hangup("We did not receive a valid selection. Thank you for calling Job Match. Goodbye!"));
    BOOST_TEST(last.choice == "invalid");
}

BOOST_AUTO_TEST_CASE(the_state_in_the_url_is_parsed_robustly)
{
    BOOST_TEST(ivr::parse_state(parse_form("")).attempt == 0);
    BOOST_TEST(ivr::parse_state(parse_form("attempt=1")).attempt == 1);
    BOOST_TEST(ivr::parse_state(parse_form("attempt=-1")).attempt == 0);
    BOOST_TEST(ivr::parse_state(parse_form("attempt=1x")).attempt == 0);
    BOOST_TEST(ivr::parse_state(parse_form("attempt=99999999999")).attempt == 0);
    const auto s = ivr::parse_state(parse_form("menu=sales&trail=a.b&at=o1.n&attempt=2"));
    BOOST_TEST(s.menu == "sales");
    BOOST_TEST(s.trail == "a.b");
    BOOST_TEST(s.at == "o1.n");
    // An attempt beyond the retries gives up rather than looping.
    BOOST_TEST(ivr::select(*jobmatch(), caller, at("", "", "", 50), "", "").twiml.find("Hangup") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_menu_the_definition_no_longer_has_restarts_the_caller)
{
    const auto out = ivr::select(*jobmatch(), caller, at("gone"), "1", "");
    BOOST_TEST(out.restarted);
    BOOST_TEST(!out.matched);
    BOOST_TEST(out.twiml == ivr::answer(*jobmatch(), caller, {}).twiml);
    const auto dial = ivr::dial_result(*jobmatch(), caller, at("welcome", "", "o7"), "no-answer");
    BOOST_TEST(dial.restarted);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ivr_actions)

BOOST_AUTO_TEST_CASE(business_hours_choose_the_closed_menu)
{
    const auto d = sample();
    const ivr::call_info samsaek{"+18005550199", "+14155551212"};
    const auto monday_10 = ivr::answer(*d, samsaek, clock_at(1, 600));
    BOOST_TEST(monday_10.menu == "samsaek_main");
    BOOST_TEST(monday_10.twiml.find(R"(action="/api/voice/menu")") != std::string::npos); // the start: implied
    const auto monday_17 = ivr::answer(*d, samsaek, clock_at(1, 17 * 60)); // the end is exclusive
    BOOST_TEST(monday_17.menu == "samsaek_closed");
    BOOST_TEST(monday_17.twiml.find(R"(action="/api/voice/menu?menu=samsaek_closed")") != std::string::npos);
    BOOST_TEST(ivr::answer(*d, samsaek, clock_at(5, 16 * 60 + 30)).menu == "samsaek_closed"); // Friday ends at 16:00
    BOOST_TEST(ivr::answer(*d, samsaek, clock_at(0, 600)).menu == "samsaek_closed"); // Sunday
    BOOST_TEST(ivr::answer(*d, samsaek, clock_at(5, 600, "2026-12-25")).menu == "samsaek_closed"); // holiday
    BOOST_TEST(ivr::answer(*d, samsaek, {}).menu == "samsaek_main"); // no clock: open
}

BOOST_AUTO_TEST_CASE(speech_and_digits_select_options)
{
    const auto d = sample();
    const ivr::call_info samsaek{"+18005550199", "+14155551212"};
    const auto main = ivr::answer(*d, samsaek, clock_at(1, 600)).twiml;
    BOOST_TEST(main
        == head
            + R"(<Gather input="dtmf speech" numDigits="1" action="/api/voice/menu" method="POST" timeout="6" )"
              R"(speechTimeout="auto" hints="sales, support, message" language="en-US">)"
              R"(<Say voice="Polly.Matthew">Welcome to Samsaek.</Say><Pause length="1"/><Say voice="Polly.Joanna">)"
              "Say sales or press 1. Say support or press 2. Press 3 and we will text you our callback form. Press 0 "
              "to leave a message.</Say></Gather>"
              R"(<Redirect method="POST">/api/voice/menu</Redirect></Response>)");
    const auto by_voice = ivr::select(*d, samsaek, {}, "", "I'd like to talk to SALES, please.");
    BOOST_TEST(by_voice.choice == "sales");
    BOOST_TEST(
        by_voice.twiml.find(R"(action="/api/voice/menu?menu=sales&amp;trail=samsaek_main")") != std::string::npos);
    BOOST_TEST(ivr::select(*d, samsaek, {}, "", "call back").choice == "callback_form");
    BOOST_TEST(ivr::select(*d, samsaek, {}, "", "callback").choice == "callback_form");
    BOOST_TEST(ivr::select(*d, samsaek, {}, "", "2").choice == "support"); // a spoken digit
    BOOST_TEST(ivr::select(*d, samsaek, {}, "", "salesman").choice == "invalid"); // whole words only
}

BOOST_AUTO_TEST_CASE(submenu_back_and_repeat_carry_the_trail)
{
    const auto d = sample();
    const ivr::call_info samsaek{"+18005550199", "+14155551212"};
    const auto hours = ivr::select(*d, samsaek, at("sales", "samsaek_main"), "2", "");
    BOOST_TEST(hours.action == "repeat");
    BOOST_TEST(hours.twiml.find("<Say voice=\"Polly.Joanna\">We are open Monday") != std::string::npos);
    // Back in a state it was in: the next round, so the same choice made again is a new event.
    BOOST_TEST(hours.twiml.find(R"(action="/api/voice/menu?menu=sales&amp;trail=samsaek_main&amp;round=1")")
        != std::string::npos);
    const auto back = ivr::select(*d, samsaek, at("sales", "samsaek_main"), "9", "");
    BOOST_TEST(back.menu == "sales"); // where the choice was made
    BOOST_TEST(back.twiml.find(R"(action="/api/voice/menu?round=1")") != std::string::npos);
    // The round carries on through the call and counts each revisit once per request.
    auto in_round = at("sales", "samsaek_main");
    in_round.round = 4;
    const auto again = ivr::select(*d, samsaek, in_round, "2", "");
    BOOST_TEST(again.twiml.find("round=5\"") != std::string::npos);
    BOOST_TEST(again.twiml.find("round=6") == std::string::npos);
    const auto forward = ivr::select(*d, samsaek, in_round, "1", ""); // a dial: same round
    BOOST_TEST(forward.twiml.find("round=4") != std::string::npos);
    form_params q;
    q.add("round", "77");
    BOOST_TEST(ivr::parse_state(q).round == 77);
    form_params bad;
    bad.add("round", "-3");
    BOOST_TEST(ivr::parse_state(bad).round == 0);
    // A give_up of `back` without a trail hears the same menu again rather than failing.
    const auto lost = ivr::select(*d, samsaek, at("sales", "", "", 1), "7", "");
    BOOST_TEST(lost.menu == "sales");
}

// The state's values were written into the callback URLs unescaped, so a trail holding
// "&menu=evil&attempt=99" came back as parameters of its own.
BOOST_AUTO_TEST_CASE(state_values_are_percent_encoded_in_callback_urls)
{
    const auto d = sample();
    const ivr::call_info samsaek{"+18005550199", "+14155551212"};
    const auto state = ivr::parse_state(parse_form("menu=sales&trail=x%26menu%3Devil%26attempt%3D99"));
    BOOST_TEST(state.trail == "x&menu=evil&attempt=99");
    const auto again = ivr::select(*d, samsaek, state, "7", ""); // invalid: the menu again, attempt 1
    const std::string action = "/api/voice/menu?menu=sales&trail=x%26menu%3Devil%26attempt%3D99&attempt=1";
    BOOST_TEST(again.twiml.find(R"(action="/api/voice/menu?menu=sales&amp;trail=x%26menu%3Devil%26attempt%3D99&amp;)"
                                R"(attempt=1")")
        != std::string::npos);
    const auto next = ivr::parse_state(parse_form(action.substr(action.find('?') + 1)));
    BOOST_TEST(next.menu == "sales");
    BOOST_TEST(next.trail == "x&menu=evil&attempt=99");
    BOOST_TEST(next.attempt == 1);
    // Dial and voicemail callbacks carry `at` the same way.
    const auto dial = ivr::select(*d, samsaek, ivr::parse_state(parse_form("menu=sales&trail=a%20b")), "1", "");
    BOOST_TEST(dial.twiml.find("trail=a%20b") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dial_falls_back_to_voicemail_and_records)
{
    const auto d = sample();
    const ivr::call_info samsaek{"+18005550199", "+14155551212"};
    const auto dial = ivr::select(*d, samsaek, at("sales", "samsaek_main"), "1", "");
    BOOST_TEST(dial.twiml
        == head + R"(<Say voice="Polly.Joanna">Connecting you to sales.</Say>)"
            + R"(<Dial action="/api/voice/dial?menu=sales&amp;trail=samsaek_main&amp;at=o0" method="POST" )"
              R"(timeout="20" callerId="+18005550199">+14155550100</Dial></Response>)");
    const auto answered = ivr::dial_result(*d, samsaek, at("sales", "samsaek_main", "o0"), "completed");
    BOOST_TEST(answered.twiml == head + "<Hangup/></Response>");
    const auto busy = ivr::dial_result(*d, samsaek, at("sales", "samsaek_main", "o0"), "no-answer");
    BOOST_TEST(busy.action == "voicemail");
    BOOST_TEST(busy.twiml
        == head + R"(<Say voice="Polly.Joanna">Our sales team is busy. Leave a message after the beep.</Say>)"
            + R"(<Record action="/api/voice/recording?menu=sales&amp;trail=samsaek_main&amp;at=o0.n" )"
              R"(method="POST" maxLength="120" playBeep="true" finishOnKey="#"/></Response>)");
    const auto done = ivr::recorded(*d, samsaek, at("sales", "samsaek_main", "o0.n"));
    BOOST_TEST(done.twiml
        == head
            + R"(<Say voice="Polly.Joanna">Thank you. Sales will call you back. Goodbye!</Say><Hangup/></Response>)");
    // A stale address still ends the call politely (the recording is kept by the caller).
    BOOST_TEST(ivr::recorded(*d, samsaek, at("sales", "", "o9.n")).twiml == head + "<Hangup/></Response>");
}

BOOST_AUTO_TEST_CASE(sms_action_has_sent_and_failed_documents)
{
    const auto d = sample();
    const ivr::call_info samsaek{"+18005550199", "+14155551212"};
    const auto out = ivr::select(*d, samsaek, {}, "3", "");
    BOOST_REQUIRE(out.sms.has_value());
    BOOST_TEST(out.sms->to == "+14155551212");
    BOOST_TEST(out.sms->from == "+18005550199");
    BOOST_TEST(out.sms->body == "Book a callback with Samsaek: https://jobmatch.zip/callback");
    BOOST_TEST(out.twiml == say_hangup("We have texted you a link to our callback form. Goodbye!"));
    BOOST_TEST(out.sms->twiml_failed
        == say_hangup(
            "Sorry, we could not send a text right now. Please visit jobmatch dot zip slash callback. Goodbye!"));
}

BOOST_AUTO_TEST_CASE(redirect_reject_and_hostile_text)
{
    const auto r = ivr::parse(one_menu(R"({"prompt": {"say": "<b>\"Tom\" & 'Jerry'</b>", "language": "fr-FR"},
        "options": [{"digits": "1", "action": {"type": "redirect", "url": "https://example.com/next?a=1&b=2"}},
                    {"digits": "2", "action": {"type": "reject", "reason": "busy"}},
                    {"digits": "3", "action": {"type": "hangup"}},
                    {"digits": "4", "action": {"type": "redirect", "url": "/api/voice/incoming", "method": "GET"}},
                    {"digits": "5", "action": {"type": "menu", "menu": "m"}}]})"));
    BOOST_REQUIRE(r.def);
    const ivr::call_info c{"+1", "+2"};
    BOOST_TEST(ivr::answer(*r.def, c, {}).twiml
        == head
            + R"(<Gather action="/api/voice/menu" method="POST"><Say language="fr-FR">&lt;b&gt;"Tom" &amp; 'Jerry'&lt;/b&gt;</Say></Gather>)"
              R"(<Redirect method="POST">/api/voice/menu</Redirect></Response>)");
    BOOST_TEST(ivr::select(*r.def, c, {}, "1", "").twiml
        == head + R"(<Redirect method="POST">https://example.com/next?a=1&amp;b=2</Redirect></Response>)");
    BOOST_TEST(ivr::select(*r.def, c, {}, "2", "").twiml == head + R"(<Reject reason="busy"/></Response>)");
    BOOST_TEST(ivr::select(*r.def, c, {}, "3", "").twiml == head + "<Hangup/></Response>");
    BOOST_TEST(ivr::select(*r.def, c, {}, "4", "").twiml
        == head + R"(<Redirect method="GET">/api/voice/incoming</Redirect></Response>)");
    // A menu leading to itself: the trail grows but stays bounded.
    ivr::call_state s;
    for (int i = 0; i < 30; ++i) {
        const auto out = ivr::select(*r.def, c, s, "5", "");
        const auto q = out.twiml.find("trail=");
        BOOST_REQUIRE(q != std::string::npos);
        s.trail = out.twiml.substr(q + 6, out.twiml.find('"', q) - q - 6);
    }
    BOOST_TEST(std::count(s.trail.begin(), s.trail.end(), '.') == 9);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(assistant_hand_off)

namespace {

std::shared_ptr<const ivr::definition> example_with(std::string assistant_url)
{
    std::ifstream in(SWITCHBOARD_SOURCE_DIR "/deploy/menus/lines.example.json");
    std::ostringstream s;
    s << in.rdbuf();
    ivr::parse_options o;
    o.assistant_url = std::move(assistant_url);
    auto r = ivr::parse(s.str(), o);
    BOOST_REQUIRE(r.def);
    return r.def;
}

const ivr::call_info jobmatch_call{"+18005550100", "+14155551212", "CA0123456789abcdef0123456789abcdef"};

} // namespace

BOOST_AUTO_TEST_CASE(option_2_connects_when_an_assistant_is_configured)
{
    const auto def = example_with("wss://assistant.jobmatch.zip/relay");
    const auto out = ivr::select(*def, jobmatch_call, {}, "2", "");
    BOOST_TEST(out.action == "assistant");
    BOOST_TEST(out.twiml
        == head
            + R"(<Say voice="Polly.Joanna">Connecting you to the Job Match AI assistant.</Say>)"
              R"(<Connect action="/api/voice/assistant?menu=welcome&amp;at=o1" method="POST">)"
              R"(<ConversationRelay url="wss://assistant.jobmatch.zip/relay" welcomeGreeting="Hi, I am the Job Match )"
              R"(assistant. Tell me about your skills and the work you are looking for." voice="en-US-Journey-O" )"
              R"(language="en-US" ttsProvider="Google" transcriptionProvider="Deepgram" interruptible="any" )"
              R"(dtmfDetection="true">)"
              R"(<Parameter name="call_sid" value="CA0123456789abcdef0123456789abcdef"/>)"
              R"(<Parameter name="caller" value="+14155551212"/><Parameter name="menu_trail" value="welcome"/>)"
              R"(</ConversationRelay></Connect></Response>)");
}

BOOST_AUTO_TEST_CASE(without_an_assistant_option_2_keeps_the_seed_text)
{
    const auto out = ivr::select(*example_with(""), jobmatch_call, {}, "2", "");
    BOOST_TEST(out.action == "hangup");
    BOOST_TEST(out.twiml
        == say_hangup("Our AI assistant is available on our website at jobmatch dot zip. You can chat with our "
                      "intelligent matching system 24/7. Visit us online to get started. Goodbye!"));
}

BOOST_AUTO_TEST_CASE(the_session_end_runs_then_and_a_stale_state_restarts)
{
    const auto def = example_with("wss://assistant.jobmatch.zip/relay");
    auto end = ivr::assistant_ended(*def, jobmatch_call, at("welcome", "", "o1"));
    BOOST_TEST(!end.restarted);
    BOOST_TEST(end.assistant == "conversation_relay");
    BOOST_TEST(end.menu == "welcome");
    BOOST_TEST(end.twiml == say_hangup("Thank you for talking with the Job Match assistant. Goodbye!"));
    // An address that is no assistant (option 1 hangs up), or a menu the definition lost.
    for (const auto& state : {at("welcome", "", "o0"), at("gone", "", "o1"), at("welcome", "", "o1.e")}) {
        BOOST_TEST_CONTEXT(state.menu << " " << state.at)
        {
            end = ivr::assistant_ended(*def, jobmatch_call, state);
            BOOST_TEST(end.restarted);
            BOOST_TEST(end.twiml.find("<Gather") != std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(streams_back_to_a_menu_and_nested_addresses)
{
    // A submenu whose assistant streams audio, then the caller is back in the submenu's parent;
    // the fallback (no URL here) is a dial whose own callback address goes through .u.
    const std::string json = R"({"version": 1, "voice": "Polly.Joanna", "lines": {"main": {"menu": "m"}}, "menus": {
        "m": {"prompt": "x", "options": [{"digits": "1", "action": {"type": "menu", "menu": "sub"}}]},
        "sub": {"prompt": "y", "options": [
            {"digits": "1", "action": {"type": "assistant", "say": "One moment.",
                "stream": {"url": "wss://media.example.com/s?x=1&y=2", "name": "agent",
                           "parameters": {"trail": "{trail}", "to": "{to}", "menu": "{menu}", "raw": "a {x"}},
                "then": {"type": "back", "say": "Welcome back."}}},
            {"digits": "2", "action": {"type": "assistant", "conversation_relay": {},
                "unavailable": {"type": "dial", "number": "+14155550111",
                                "no_answer": {"type": "hangup", "say": "Nobody is free."}}}}]}}})";
    const auto r = ivr::parse(json);
    for (const auto& p : r.problems) {
        BOOST_TEST_MESSAGE(p.path << ": " << p.message);
    }
    BOOST_REQUIRE(r.def);
    const auto out = ivr::select(*r.def, jobmatch_call, at("sub", "m"), "1", "");
    BOOST_TEST(out.twiml
        == head
            + R"(<Say voice="Polly.Joanna">One moment.</Say>)"
              R"(<Connect action="/api/voice/assistant?menu=sub&amp;trail=m&amp;at=o0" method="POST">)"
              R"(<Stream url="wss://media.example.com/s?x=1&amp;y=2" name="agent">)"
              R"(<Parameter name="trail" value="m.sub"/><Parameter name="to" value="+18005550100"/>)"
              R"(<Parameter name="menu" value="sub"/><Parameter name="raw" value="a {x"/>)"
              R"(</Stream></Connect></Response>)");
    const auto back = ivr::assistant_ended(*r.def, jobmatch_call, at("sub", "m", "o0"));
    BOOST_TEST(back.assistant == "stream");
    BOOST_TEST(back.twiml.find(R"(<Say voice="Polly.Joanna">Welcome back.</Say><Gather action="/api/voice/menu)")
        != std::string::npos);
    // No URL anywhere: the fallback dial runs, addressed through .u.
    const auto dial = ivr::select(*r.def, jobmatch_call, at("sub", "m"), "2", "");
    BOOST_TEST(dial.action == "dial");
    BOOST_TEST(
        dial.twiml.find(R"(<Dial action="/api/voice/dial?menu=sub&amp;trail=m&amp;at=o1.u")") != std::string::npos);
    const auto nobody = ivr::dial_result(*r.def, jobmatch_call, at("sub", "m", "o1.u"), "no-answer");
    BOOST_TEST(nobody.twiml == say_hangup("Nobody is free."));
}

BOOST_AUTO_TEST_SUITE_END()
