// protocol/core/phone.cpp: E.164 checks and phone number masking.
#include "protocol/core/phone.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(phone_numbers)

BOOST_AUTO_TEST_CASE(e164)
{
    BOOST_TEST(phone::is_e164("+14155551212"));
    BOOST_TEST(phone::is_e164("+442071838750"));
    BOOST_TEST(!phone::is_e164("14155551212"));
    BOOST_TEST(!phone::is_e164("+0123456789"));
    BOOST_TEST(!phone::is_e164("+1234567"));
    BOOST_TEST(!phone::is_e164("+1234567890123456"));
    BOOST_TEST(!phone::is_e164("+1415555121a"));
}

BOOST_AUTO_TEST_CASE(mask_keeps_country_code_and_last_two)
{
    BOOST_TEST(phone::mask("+14155551212") == "+1********12");
    BOOST_TEST(phone::mask("+442071838750") == "+44********50");
    BOOST_TEST(phone::mask("+35312345678") == "+353******78");
    BOOST_TEST(phone::mask("+79161234567") == "+7********67");
    BOOST_TEST(phone::mask("client:alice") == "***ce");
    BOOST_TEST(phone::mask("266696687") == "***87");
    BOOST_TEST(phone::mask("abc") == "***");
    BOOST_TEST(phone::mask("") == "");
}

BOOST_AUTO_TEST_CASE(numbers_inside_messages)
{
    BOOST_TEST(phone::mask_numbers_in("The 'To' number +14155551212 is not a valid phone number.")
        == "The 'To' number +1********12 is not a valid phone number.");
    BOOST_TEST(phone::mask_numbers_in("To 4155551212, from +442071838750.") == "To ********12, from +44********50.");
    // Not E.164 after the '+' (too long): masked as a bare run, the '+' kept.
    BOOST_TEST(phone::mask_numbers_in("+12345678901234567") == "+***************67");
    BOOST_TEST(phone::mask_numbers_in("1234567") == "*****67");
    // Short runs are codes and counts, not numbers.
    BOOST_TEST(phone::mask_numbers_in("error 21211 after 123456 tries: HTTP 400")
        == "error 21211 after 123456 tries: HTTP 400");
    BOOST_TEST(phone::mask_numbers_in("").empty());
    BOOST_TEST(phone::mask_numbers_in("+") == "+");
}

BOOST_AUTO_TEST_SUITE_END()
