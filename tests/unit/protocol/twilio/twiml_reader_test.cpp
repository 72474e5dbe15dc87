// The TwiML reader: round trips of our writer's documents, hand-written XML, and every rejection
// with its message.
#include "protocol/core/error.hpp"
#include "protocol/twilio/twiml.hpp"
#include "protocol/twilio/twiml_reader.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

namespace {

const std::string hostile = R"(<b>"Tom" & 'Jerry'</b>)";

// The message of a rejected document, checking the error code on the way.
std::string rejection(std::string_view document)
{
    std::string problem;
    const auto parsed = twiml::read(document, &problem);
    BOOST_TEST(parsed.has_error());
    if (parsed.has_error()) {
        BOOST_TEST(parsed.error() == make_error_code(error::invalid_parameter));
    }
    return problem;
}

twiml::node parse(std::string_view document)
{
    std::string problem;
    auto parsed = twiml::read(document, &problem);
    BOOST_TEST_REQUIRE(parsed.has_value(), problem);
    return std::move(*parsed);
}

std::string nested(int depth)
{
    std::string doc;
    for (int i = 0; i < depth; ++i) {
        doc += "<a>";
    }
    for (int i = 0; i < depth; ++i) {
        doc += "</a>";
    }
    return doc;
}

} // namespace

BOOST_AUTO_TEST_SUITE(twiml_reader)

BOOST_AUTO_TEST_CASE(round_trip_of_a_menu)
{
    twiml::response r;
    r.open("Gather", {{"numDigits", "1"}, {"action", "/api/voice/menu?attempt=1&x=<y>"}, {"method", "POST"}})
        .say("Press 1.", "Polly.Joanna")
        .say(hostile, "", "en-US")
        .pause(2)
        .close();
    r.redirect("/api/voice/menu?attempt=1").hangup();
    const auto root = parse(std::move(r).str());

    BOOST_TEST(root.name == "Response");
    BOOST_TEST(root.attributes.empty());
    BOOST_TEST(root.text.empty());
    BOOST_TEST_REQUIRE(root.children.size() == 3U);
    const auto& gather = root.children[0];
    BOOST_TEST(gather.name == "Gather");
    BOOST_TEST_REQUIRE(gather.attributes.size() == 3U);
    BOOST_TEST(gather.attributes[0].first == "numDigits");
    BOOST_TEST(gather.attributes[1].first == "action");
    BOOST_TEST(gather.attributes[2].first == "method");
    BOOST_TEST(gather.attribute("action") == "/api/voice/menu?attempt=1&x=<y>");
    BOOST_TEST(gather.attribute("timeout") == "");
    BOOST_TEST_REQUIRE(gather.children.size() == 3U);
    BOOST_TEST(gather.children[0].name == "Say");
    BOOST_TEST(gather.children[0].attribute("voice") == "Polly.Joanna");
    BOOST_TEST(gather.children[0].text == "Press 1.");
    BOOST_TEST(gather.children[1].attribute("language") == "en-US");
    BOOST_TEST(gather.children[1].text == hostile);
    BOOST_TEST(gather.children[2].name == "Pause");
    BOOST_TEST(gather.children[2].attribute("length") == "2");
    BOOST_TEST(gather.child("Say") == &gather.children[0]);
    BOOST_TEST((gather.child("Play") == nullptr));

    const auto* redirect = root.child("Redirect");
    BOOST_TEST_REQUIRE((redirect != nullptr));
    BOOST_TEST(redirect->attribute("method") == "POST");
    BOOST_TEST(redirect->text == "/api/voice/menu?attempt=1");
    BOOST_TEST(redirect->children.empty());
    BOOST_TEST(root.children[2].name == "Hangup");
    BOOST_TEST(root.children[2].attributes.empty());
}

BOOST_AUTO_TEST_CASE(round_trip_of_hostile_and_non_ascii_values)
{
    const std::string voice = hostile + " é 한국어 \t\n\r";
    twiml::response r;
    r.say("Café — 한국어 " + hostile, voice, "ko-KR");
    r.element("Say", {{"voice", "'single' \"double\""}}, "a\r\nb\rc");
    const auto root = parse(std::move(r).str());

    BOOST_TEST_REQUIRE(root.children.size() == 2U);
    BOOST_TEST(root.children[0].text == "Café — 한국어 " + hostile);
    BOOST_TEST(root.children[0].attribute("voice") == voice); // the writer keeps \t\n\r as references
    BOOST_TEST(root.children[0].attribute("language") == "ko-KR");
    BOOST_TEST(root.children[1].attribute("voice") == R"('single' "double")");
    BOOST_TEST(root.children[1].text == "a\r\nb\rc");
}

BOOST_AUTO_TEST_CASE(empty_response)
{
    const auto root = parse(twiml::response().str());
    BOOST_TEST(root.name == "Response");
    BOOST_TEST(root.children.empty());
}

BOOST_AUTO_TEST_CASE(hand_written_xml)
{
    const auto root = parse("\xEF\xBB\xBF<?xml version='1.0'?>\n<!-- head -->\n<Response>\n"
                            "  <Say voice='Polly.Joanna' language = \"en-US\" >\n   one &amp; &lt;two&gt; "
                            "&quot;&apos; &#65;&#x42;&#xe9;&#x1F600; <!-- c --> three  \n</Say >\n"
                            "  <Play loop=\"a\tb\r\nc\nd\"><![CDATA[<x> & y]]></Play>\n"
                            "  <Hangup />\n</Response>\n<!-- tail -->\n");
    BOOST_TEST_REQUIRE(root.children.size() == 3U);
    const auto& say = root.children[0];
    BOOST_TEST(say.attribute("voice") == "Polly.Joanna");
    BOOST_TEST(say.attribute("language") == "en-US");
    BOOST_TEST(say.text == "one & <two> \"' AB\xC3\xA9\xF0\x9F\x98\x80  three");
    BOOST_TEST(root.children[1].attribute("loop") == "a b c d"); // attribute-value normalisation
    BOOST_TEST(root.children[1].text == "<x> & y");
    BOOST_TEST(root.children[2].name == "Hangup");
    BOOST_TEST(parse("<Say>a\r\nb\rc</Say>").text == "a\nb\nc"); // line-end normalisation
    BOOST_TEST(parse("<Say>&#x20; x &#32;</Say>").text == "x");
    BOOST_TEST(parse("<Say>&#x10FFFF;&#xD7FF;&#xE000;</Say>").text == "\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80");
}

BOOST_AUTO_TEST_CASE(nesting_is_bounded)
{
    BOOST_TEST(parse(nested(32)).name == "a");
    BOOST_TEST(rejection(nested(33)) == "elements nested deeper than 32 at offset 96");
    BOOST_TEST(rejection(std::string(100000, '<')) == "malformed tag at offset 0");
    BOOST_TEST(rejection(nested(100000)) == "elements nested deeper than 32 at offset 96");
}

BOOST_AUTO_TEST_CASE(structure_errors)
{
    BOOST_TEST(rejection("") == "unexpected end of document at offset 0");
    BOOST_TEST(rejection("<?xml version=\"1.0\"?>  ") == "unexpected end of document at offset 23");
    BOOST_TEST(rejection("<Response><Say>hi</Say>") == "unexpected end of document at offset 23");
    BOOST_TEST(rejection("<Response><Say>hi") == "unexpected end of document at offset 17");
    BOOST_TEST(rejection("<Response><Say") == "unexpected end of document at offset 14");
    BOOST_TEST(rejection("<Response></Response") == "unexpected end of document at offset 20");
    BOOST_TEST(rejection("<Response><!-- x -></Response>") == "unexpected end of document at offset 30");
    BOOST_TEST(rejection("<Response><![CDATA[x]]</Response>") == "unexpected end of document at offset 33");
    BOOST_TEST(rejection("<Response><Gather><Say>x</Gather></Response>")
        == "mismatched </Gather> at offset 24, expected </Say>");
    BOOST_TEST(rejection("<Response></response>") == "mismatched </response> at offset 10, expected </Response>");
    BOOST_TEST(rejection("hi<Response/>") == "text outside the root element at offset 0");
    BOOST_TEST(rejection("<Response/> bye") == "text outside the root element at offset 12");
    BOOST_TEST(rejection("<Response/><![CDATA[x]]>") == "text outside the root element at offset 11");
    BOOST_TEST(rejection("<Response/>\n<Response/>") == "second root element at offset 12");
    BOOST_TEST(rejection("<Response/></Response>") == "unexpected close tag at offset 11");
    BOOST_TEST(rejection("<!DOCTYPE x><Response/>") == "unsupported markup at offset 0");
    BOOST_TEST(rejection("<Response><?pi x?></Response>") == "unsupported markup at offset 10");
    BOOST_TEST(rejection(" <?xml version='1.0'?><Response/>") == "unsupported markup at offset 1");
    BOOST_TEST(rejection("< Response/>") == "malformed tag at offset 0");
    BOOST_TEST(rejection("<Response></ Response>") == "malformed tag at offset 10");
    BOOST_TEST(rejection("<Response></Response x>") == "malformed tag at offset 10");
    BOOST_TEST(rejection(std::string("<Say>a\0b</Say>", 14)) == "control character at offset 6");
    BOOST_TEST(twiml::read("<Response>").has_error()); // no problem string asked for
}

BOOST_AUTO_TEST_CASE(attribute_errors)
{
    BOOST_TEST(rejection("<Say voice=Polly/>") == "malformed attribute at offset 5");
    BOOST_TEST(rejection("<Say voice/>") == "malformed attribute at offset 5");
    BOOST_TEST(rejection("<Say =\"x\"/>") == "malformed attribute at offset 5");
    BOOST_TEST(rejection("<Say a=\"1\"b=\"2\"/>") == "malformed attribute at offset 10");
    BOOST_TEST(rejection("<Say a=\"1\" a='2'/>") == "duplicate attribute a at offset 11");
    BOOST_TEST(rejection("<Say a=\"<\"/>") == "malformed attribute: '<' in value at offset 8");
    BOOST_TEST(rejection("<Say a=\"1'/>") == "unexpected end of document at offset 12");
    BOOST_TEST(rejection("<Say a=\"&bogus;\"/>") == "unknown entity &bogus; at offset 8");
    std::string many = "<Say";
    for (std::size_t i = 0; i <= twiml::max_attributes; ++i) {
        many += " a" + std::to_string(i) + "=''";
    }
    BOOST_TEST(rejection(many + "/>").starts_with("too many attributes at offset "));
}

BOOST_AUTO_TEST_CASE(entity_errors)
{
    BOOST_TEST(rejection("<Say>&nbsp;</Say>") == "unknown entity &nbsp; at offset 5");
    BOOST_TEST(rejection("<Say>&AMP;</Say>") == "unknown entity &AMP; at offset 5");
    BOOST_TEST(rejection("<Say>Tom & Jerry</Say>") == "malformed entity at offset 9");
    BOOST_TEST(rejection("<Say>&amp</Say>") == "malformed entity at offset 5");
    BOOST_TEST(rejection("<Say>&;</Say>") == "malformed entity at offset 5");
    BOOST_TEST(rejection("<Say>&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;</Say>") == "malformed entity at offset 5");
    BOOST_TEST(rejection("<Say>&amp") == "unexpected end of document at offset 9");
    for (const char* bad : {"&#0;", "&#x0;", "&#8;", "&#xD800;", "&#xDFFF;", "&#xFFFE;", "&#xFFFF;", "&#x110000;",
             "&#99999999999999;", "&#;", "&#x;", "&#12a;", "&#X41;", "&#-65;", "&#x-41;"}) {
        BOOST_TEST(rejection("<Say>" + std::string(bad) + "</Say>")
            == "invalid character reference " + std::string(bad) + " at offset 5");
    }
}

BOOST_AUTO_TEST_SUITE_END()
