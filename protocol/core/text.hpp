// Text helpers shared by the wire formats: percent coding, UTF-8 repair, UTF-16 ordering,
// trailing slashes.
#pragma once

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::text {

// Decodes %XX escapes (and '+' as space when plus_as_space). Malformed escapes are kept as
// literal text, as Node's querystring.unescape and Twilio's helper libraries do.
std::string percent_decode(std::string_view in, bool plus_as_space);
void percent_decode_append(std::string& out, std::string_view in, bool plus_as_space);

// Replaces each maximal invalid UTF-8 subpart by U+FFFD (WHATWG "decode" semantics, as V8
// and Node's Buffer#toString do), so byte strings hash the way JavaScript strings do.
std::string repair_utf8(std::string in);
bool is_valid_utf8(std::string_view in) noexcept;

// UTF-8 code points (bytes that are not continuation bytes): what a length limit in characters counts.
std::size_t code_points(std::string_view in) noexcept;

constexpr bool is_digit(char c) noexcept
{
    return c >= '0' && c <= '9';
}
// Every character 0-9 (true for the empty string).
constexpr bool is_digits(std::string_view s) noexcept
{
    for (const char c : s) {
        if (!is_digit(c)) {
            return false;
        }
    }
    return true;
}

// `in` without its trailing '/' characters: a base URL or path that a suffix starting with '/'
// is appended to.
constexpr std::string_view without_trailing_slashes(std::string_view in) noexcept
{
    while (!in.empty() && in.back() == '/') {
        in.remove_suffix(1);
    }
    return in;
}

// The decimal integer that is all of `s` (an optional '-' for signed types, no spaces, no '+'),
// or nullopt for anything else, an empty string or a value out of Int's range.
template <class Int> std::optional<Int> to_integer(std::string_view s) noexcept
{
    Int n{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || ec != std::errc{} || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return n;
}

// Orders valid UTF-8 strings by UTF-16 code units: JavaScript's default Array#sort order.
bool utf16_less(std::string_view a, std::string_view b) noexcept;

// Percent-encodes every byte for which keep(byte) is false, as %XX with uppercase hex.
template <class Keep> std::string percent_encode(std::string_view in, Keep keep)
{
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(in.size());
    for (const char c : in) {
        const auto b = static_cast<unsigned char>(c);
        if (keep(b)) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[b >> 4]);
            out.push_back(hex[b & 0xf]);
        }
    }
    return out;
}

// RFC 3986 unreserved plus Node querystring.escape's extras: A-Z a-z 0-9 - _ . ! ~ * ' ( )
bool is_querystring_safe(unsigned char b) noexcept;

// Lowercases ASCII letters only.
std::string ascii_lower(std::string_view in);
bool iequals(std::string_view a, std::string_view b) noexcept;

} // namespace switchboard::text
