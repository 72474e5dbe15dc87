// E.164 validation and masking.
#include "protocol/core/phone.hpp"

#include <algorithm>
#include <array>

namespace switchboard::phone {
namespace {

// Two-digit ITU-T E.164 country codes; 1 and 7 are the one-digit ones; all others have three.
constexpr std::array<int, 43> two_digit_codes = {20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49,
    51, 52, 53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90, 91, 92, 93, 94, 95};

bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}

} // namespace

bool is_e164(std::string_view n) noexcept
{
    if (n.size() < 9 || n.size() > 16 || n[0] != '+' || n[1] == '0') {
        return false;
    }
    return std::all_of(n.begin() + 1, n.end(), is_digit);
}

std::string_view country_code(std::string_view e164) noexcept
{
    if (!is_e164(e164)) {
        return {};
    }
    if (e164[1] == '1' || e164[1] == '7') {
        return e164.substr(1, 1);
    }
    const int two = (e164[1] - '0') * 10 + (e164[2] - '0');
    if (std::find(two_digit_codes.begin(), two_digit_codes.end(), two) != two_digit_codes.end() || two == 98) {
        return e164.substr(1, 2);
    }
    return e164.substr(1, 3);
}

std::string mask(std::string_view number)
{
    if (number.empty()) {
        return {};
    }
    const std::string_view cc = country_code(number);
    if (!cc.empty()) {
        const std::size_t hidden = number.size() - 1 - cc.size() - 2;
        std::string out = "+";
        out += cc;
        out.append(hidden, '*');
        out += number.substr(number.size() - 2);
        return out;
    }
    std::string out = "***";
    if (number.size() > 4) {
        out += number.substr(number.size() - 2);
    }
    return out;
}

std::string mask_numbers_in(std::string_view text)
{
    constexpr std::size_t min_run = 7;
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (!is_digit(text[i])) {
            out += text[i++];
            continue;
        }
        std::size_t end = i;
        while (end < text.size() && is_digit(text[end])) {
            ++end;
        }
        const std::string_view run = text.substr(i, end - i);
        const bool plus = i > 0 && text[i - 1] == '+'; // already copied to out
        if (run.size() < min_run) {
            out += run;
        } else if (plus && is_e164(text.substr(i - 1, run.size() + 1))) {
            out.pop_back();
            out += mask(text.substr(i - 1, run.size() + 1));
        } else {
            out.append(run.size() - 2, '*');
            out += run.substr(run.size() - 2);
        }
        i = end;
    }
    return out;
}

} // namespace switchboard::phone
