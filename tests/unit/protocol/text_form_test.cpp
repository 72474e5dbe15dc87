// Percent decoding, UTF-8 repair, UTF-16 ordering and form parsing.
#include "protocol/form.hpp"
#include "protocol/text.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(text_and_form)

BOOST_AUTO_TEST_CASE(percent_decode_is_lenient_like_node)
{
    BOOST_TEST(text::percent_decode("a%20b+c", true) == "a b c");
    BOOST_TEST(text::percent_decode("a+b", false) == "a+b");
    BOOST_TEST(text::percent_decode("%zz%4", true) == "%zz%4");
    BOOST_TEST(text::percent_decode("%", true) == "%");
    BOOST_TEST(text::percent_decode("%c3%A9", true) == "\xC3\xA9");
}

BOOST_AUTO_TEST_CASE(repair_utf8_uses_maximal_subparts)
{
    BOOST_TEST(text::repair_utf8("ok") == "ok");
    BOOST_TEST(text::repair_utf8("\xC3") == "\xEF\xBF\xBD");
    // E0 A4 is a truncated 3-byte sequence: one replacement, then 'x'.
    BOOST_TEST(text::repair_utf8("\xE0\xA4x") == "\xEF\xBF\xBDx");
    // Surrogates encoded in UTF-8 are invalid: one replacement per byte.
    BOOST_TEST(text::repair_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
    BOOST_TEST(text::repair_utf8("\xFF") == "\xEF\xBF\xBD");
    BOOST_TEST(text::is_valid_utf8("\xF0\x9F\x98\x80"));
}

BOOST_AUTO_TEST_CASE(utf16_order_differs_from_code_point_order_only_above_the_bmp)
{
    BOOST_TEST(text::utf16_less("B", "a"));
    BOOST_TEST(text::utf16_less("a", "ab"));
    BOOST_TEST(!text::utf16_less("ab", "a"));
    BOOST_TEST(!text::utf16_less("a", "a"));
    // U+1F600 (surrogates D83D DE00) sorts before U+E000 in JavaScript, after it by code point.
    BOOST_TEST(text::utf16_less("\xF0\x9F\x98\x80", "\xEE\x80\x80"));
    BOOST_TEST(!text::utf16_less("\xEE\x80\x80", "\xF0\x9F\x98\x80"));
    BOOST_TEST(text::utf16_less("\xC3\xA9", "\xE4\xB8\xAD"));
}

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
