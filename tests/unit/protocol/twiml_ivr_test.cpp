// TwiML escaping and the JobMatch menu: seed texts exactly, structure per branch.
#include "protocol/jobmatch_ivr.hpp"
#include "protocol/twiml.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

namespace {

const std::string head = R"(<?xml version="1.0" encoding="UTF-8"?><Response>)";

std::string say_hangup(std::string_view text)
{
    return head + R"(<Say voice="Polly.Joanna">)" + std::string(text) + "</Say><Hangup/></Response>";
}

} // namespace

BOOST_AUTO_TEST_SUITE(twiml_builder)

BOOST_AUTO_TEST_CASE(escaping_matches_the_helper_library)
{
    // VoiceResponse().say({voice: 'x"y'}, 'a & b < c > " d \' \t\r\n') in twilio-node 6.2.0
    twiml::response r;
    r.say("a & b < c > \" d ' \t\r\n", "x\"y<&>\t\n");
    BOOST_TEST(std::move(r).str()
        == head
            + "<Say voice=\"x&quot;y&lt;&amp;>&#x9;&#xA;\">a &amp; b &lt; c &gt; \" d ' \t&#xD;\n</Say></Response>");
}

BOOST_AUTO_TEST_CASE(illegal_xml_characters_are_dropped)
{
    BOOST_TEST(twiml::escape_text(std::string("a\x01"
                                              "b\x1F"
                                              "c\0d",
                   7))
        == "abcd");
    BOOST_TEST(twiml::escape_text("x\xEF\xBF\xBEy\xEF\xBF\xBDz") == "xy\xEF\xBF\xBDz");
}

BOOST_AUTO_TEST_CASE(empty_response_and_nesting)
{
    BOOST_TEST(twiml::response().str() == R"(<?xml version="1.0" encoding="UTF-8"?><Response/>)");
    twiml::response r;
    r.open("Gather", {{"input", "dtmf"}}).say("hi").pause(2);
    BOOST_TEST(
        std::move(r).str() == head + R"(<Gather input="dtmf"><Say>hi</Say><Pause length="2"/></Gather></Response>)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(jobmatch_ivr)

BOOST_AUTO_TEST_CASE(welcome_menu)
{
    BOOST_TEST(jobmatch::incoming()
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
        const auto out = jobmatch::menu(digit, 0);
        BOOST_TEST(out.hung_up);
        BOOST_TEST(out.twiml == say_hangup(text));
        BOOST_TEST(jobmatch::to_label(out.chosen) == digit);
    }
}

BOOST_AUTO_TEST_CASE(retries_then_goodbye)
{
    const auto first = jobmatch::menu("7", 0);
    BOOST_TEST(!first.hung_up);
    BOOST_TEST(jobmatch::to_label(first.chosen) == "invalid");
    BOOST_TEST(first.twiml.find("Sorry, that is not a valid option.") != std::string::npos);
    BOOST_TEST(first.twiml.find(R"(action="/api/voice/menu?attempt=1")") != std::string::npos);
    BOOST_TEST(
        first.twiml.find(R"(<Redirect method="POST">/api/voice/menu?attempt=1</Redirect>)") != std::string::npos);

    const auto second = jobmatch::menu("", 1);
    BOOST_TEST(!second.hung_up);
    BOOST_TEST(jobmatch::to_label(second.chosen) == "none");
    BOOST_TEST(second.twiml.find("Sorry, we didn't receive your selection.") != std::string::npos);
    BOOST_TEST(second.twiml.find("attempt=2") != std::string::npos);

    const auto last = jobmatch::menu("#", 2);
    BOOST_TEST(last.hung_up);
    BOOST_TEST(
        last.twiml == say_hangup("We did not receive a valid selection. Thank you for calling Job Match. Goodbye!"));
}

BOOST_AUTO_TEST_CASE(attempt_parameter_is_robust)
{
    BOOST_TEST(jobmatch::parse_attempt("") == 0);
    BOOST_TEST(jobmatch::parse_attempt("1") == 1);
    BOOST_TEST(jobmatch::parse_attempt("99") == 2);
    BOOST_TEST(jobmatch::parse_attempt("-1") == 0);
    BOOST_TEST(jobmatch::parse_attempt("1x") == 0);
    BOOST_TEST((jobmatch::classify("12") == jobmatch::choice::invalid));
}

BOOST_AUTO_TEST_SUITE_END()
