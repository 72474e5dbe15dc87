// JSON string escaping of log fields: whatever a caller passes, each line stays valid JSON.
#include "service/ops/log.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(logging)

BOOST_AUTO_TEST_CASE(escaped_strings_round_trip_through_a_json_parser)
{
    const std::string hostile = "plain \"quoted\" back\\slash \n\r\t ctl\x01\x1f end caf\xC3\xA9";
    std::string doc = "\"";
    log::append_json_escaped(doc, hostile);
    doc += '"';
    BOOST_TEST(boost::json::parse(doc).as_string() == hostile);
    std::string empty;
    log::append_json_escaped(empty, "");
    BOOST_TEST(empty.empty());
}

BOOST_AUTO_TEST_CASE(ill_formed_utf8_becomes_replacement_characters)
{
    const auto escaped = [](std::string_view s) {
        std::string doc = "\"";
        log::append_json_escaped(doc, s);
        doc += '"';
        return std::string(boost::json::parse(doc).as_string()); // throws on ill-formed UTF-8
    };
    const std::string fffd = "\xEF\xBF\xBD";
    // The request target of GET /\xff\xfe: each stray byte is one U+FFFD.
    BOOST_TEST(escaped("/\xff\xfe") == "/" + fffd + fffd);
    BOOST_TEST(escaped("a\x80z") == "a" + fffd + "z");
    // Well-formed sequences of every length pass unchanged.
    const std::string good = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x93\x9E \xF4\x8F\xBF\xBF";
    BOOST_TEST(escaped(good) == good);
    // Overlong forms, surrogates, beyond U+10FFFF: their maximal subparts are one byte long, so
    // one U+FFFD per byte.
    BOOST_TEST(escaped("\xC0\xAF") == fffd + fffd);
    BOOST_TEST(escaped("\xE0\x80\xAF") == fffd + fffd + fffd);
    BOOST_TEST(escaped("\xED\xA0\x80") == fffd + fffd + fffd);
    BOOST_TEST(escaped("\xF4\x90\x80\x80") == fffd + fffd + fffd + fffd);
    BOOST_TEST(escaped("\xF5") == fffd);
    // A truncated sequence is one U+FFFD (its maximal subpart), then what follows.
    BOOST_TEST(escaped("\xF0\x9F\x93x") == fffd + "x");
    BOOST_TEST(escaped("\xE2\x82") == fffd);
    BOOST_TEST(escaped("\xC3") == fffd);
    BOOST_TEST(escaped("\xC3\"") == fffd + "\"");
}

BOOST_AUTO_TEST_SUITE_END()
