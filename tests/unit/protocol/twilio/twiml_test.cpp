// The TwiML builder: escaping exactly as the helper library does it, nesting, empty documents.
#include "protocol/twilio/twiml.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

namespace {

const std::string head = R"(<?xml version="1.0" encoding="UTF-8"?><Response>)";

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
