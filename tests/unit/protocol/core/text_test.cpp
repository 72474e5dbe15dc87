// protocol/core/text.cpp: percent decoding, UTF-8 repair and UTF-16 ordering.
#include "protocol/core/text.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(core_text)

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

BOOST_AUTO_TEST_SUITE_END()
