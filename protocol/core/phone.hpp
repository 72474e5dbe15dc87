// Phone numbers: E.164 checks and masking for logs (country code and last two digits kept).
#pragma once

#include <string>
#include <string_view>

namespace switchboard::phone {

// '+' then 8 to 15 digits, the first not 0.
bool is_e164(std::string_view number) noexcept;

// The ITU country calling code of an E.164 number (1 to 3 digits), or empty.
std::string_view country_code(std::string_view e164) noexcept;

// "+14155551212" -> "+1********12"; anything else (client:alice, sip:…, Anonymous) keeps only
// its last two characters: "***ce". Empty stays empty.
std::string mask(std::string_view number);

// Free text (e.g. Twilio's "The 'To' number +14155551212 is not a valid phone number.") with
// every run of 7 or more digits masked as a number: "+14155551212" as mask() does, a bare run
// with all but its last two digits as '*'. Shorter runs (codes, counts) stay.
std::string mask_numbers_in(std::string_view text);

} // namespace switchboard::phone
