// protocol/core/form.cpp: form parsing (like querystring.parse), form encoding and content types.
#include "protocol/core/form.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(core_form)

BOOST_AUTO_TEST_CASE(parse_form_like_querystring_parse)
{
    const auto p = parse_form("a=1&&b=2&=x&c&d=%zz&e=%C3&f=a+b&a=3");
    BOOST_TEST(p.size() == 8u);
    BOOST_TEST(p.get("a") == "1");
    BOOST_TEST(p.get("") == "x");
    BOOST_TEST(p.get("c") == "");
    BOOST_TEST(p.find("c").has_value());
    BOOST_TEST(!p.find("zz").has_value());
    BOOST_TEST(p.get("d") == "%zz");
    BOOST_TEST(p.get("e") == "\xEF\xBF\xBD");
    BOOST_TEST(p.get("f") == "a b");
    BOOST_TEST(p.back().value == "3");
    BOOST_TEST(parse_form("").empty());
}

BOOST_AUTO_TEST_CASE(form_encode_round_trips)
{
    form_params p;
    p.add("To", "+1 (415)");
    p.add("Body", "caf\xC3\xA9 & more=yes");
    const auto back = parse_form(form_encode(p));
    BOOST_TEST(back.get("To") == "+1 (415)");
    BOOST_TEST(back.get("Body") == "caf\xC3\xA9 & more=yes");
}

BOOST_AUTO_TEST_CASE(content_types)
{
    BOOST_TEST(is_form_content_type("application/x-www-form-urlencoded"));
    BOOST_TEST(is_form_content_type("Application/X-WWW-Form-Urlencoded; charset=UTF-8"));
    BOOST_TEST(!is_form_content_type("application/json"));
    BOOST_TEST(is_json_content_type(" application/json ;charset=utf-8"));
}

BOOST_AUTO_TEST_SUITE_END()
