// JSON string escaping of log fields: whatever a caller passes, each line stays valid JSON.
#include "service/log.hpp"

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

BOOST_AUTO_TEST_SUITE_END()
