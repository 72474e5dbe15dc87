// Percent coding, UTF-8 repair and UTF-16 code-unit ordering.
#include "protocol/core/text.hpp"

#include <cstdint>

namespace switchboard::text {
namespace {

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Length of the valid UTF-8 sequence at in[i], or 0 when the bytes there are not one.
// On failure, *bad is set to the length of the maximal subpart to replace (at least 1).
std::size_t utf8_sequence(std::string_view in, std::size_t i, std::size_t* bad) noexcept
{
    const auto b0 = static_cast<unsigned char>(in[i]);
    *bad = 1;
    if (b0 < 0x80) {
        return 1;
    }
    std::size_t need = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        need = 1;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 2;
        if (b0 == 0xE0) {
            lo = 0xA0;
        } else if (b0 == 0xED) {
            hi = 0x9F;
        }
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 3;
        if (b0 == 0xF0) {
            lo = 0x90;
        } else if (b0 == 0xF4) {
            hi = 0x8F;
        }
    } else {
        return 0;
    }
    for (std::size_t k = 1; k <= need; ++k) {
        if (i + k >= in.size()) {
            *bad = k;
            return 0;
        }
        const auto b = static_cast<unsigned char>(in[i + k]);
        if (b < lo || b > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

// Decodes one code point from valid UTF-8, advancing i.
std::uint32_t next_code_point(std::string_view s, std::size_t& i) noexcept
{
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = b0 < 0x80 ? 1 : b0 < 0xE0 ? 2 : b0 < 0xF0 ? 3 : 4;
    if (i + len > s.size()) {
        len = s.size() - i;
    }
    std::uint32_t cp = len == 1 ? b0 : len == 2 ? (b0 & 0x1Fu) : len == 3 ? (b0 & 0x0Fu) : (b0 & 0x07u);
    for (std::size_t k = 1; k < len; ++k) {
        cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3Fu);
    }
    i += len;
    return cp;
}

// The first UTF-16 code unit of a code point: what JavaScript compares first.
std::uint32_t utf16_lead(std::uint32_t cp) noexcept
{
    return cp < 0x10000 ? cp : 0xD800 + ((cp - 0x10000) >> 10);
}

std::uint32_t utf16_trail(std::uint32_t cp) noexcept
{
    return 0xDC00 + ((cp - 0x10000) & 0x3FF);
}

} // namespace

void percent_decode_append(std::string& out, std::string_view in, bool plus_as_space)
{
    std::size_t plain = 0; // start of the run copied as it is
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c != '%' && (c != '+' || !plus_as_space)) {
            continue;
        }
        out.append(in.data() + plain, i - plain);
        plain = i + 1;
        if (c == '+') {
            out.push_back(' ');
            continue;
        }
        const int hi = i + 2 < in.size() ? hex_value(in[i + 1]) : -1;
        const int lo = hi >= 0 ? hex_value(in[i + 2]) : -1;
        if (lo >= 0) {
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
            plain = i + 1;
        } else {
            out.push_back('%'); // malformed escape: kept literally
        }
    }
    out.append(in.data() + plain, in.size() - plain);
}

std::string percent_decode(std::string_view in, bool plus_as_space)
{
    std::string out;
    out.reserve(in.size());
    percent_decode_append(out, in, plus_as_space);
    return out;
}

bool is_valid_utf8(std::string_view in) noexcept
{
    std::size_t bad = 0;
    for (std::size_t i = 0; i < in.size();) {
        if (static_cast<unsigned char>(in[i]) < 0x80) {
            ++i;
            continue;
        }
        const std::size_t n = utf8_sequence(in, i, &bad);
        if (n == 0) {
            return false;
        }
        i += n;
    }
    return true;
}

std::string repair_utf8(std::string in)
{
    if (is_valid_utf8(in)) {
        return in;
    }
    std::string out;
    out.reserve(in.size() + 8);
    std::size_t bad = 0;
    for (std::size_t i = 0; i < in.size();) {
        const std::size_t n = utf8_sequence(in, i, &bad);
        if (n == 0) {
            out += "\xEF\xBF\xBD";
            i += bad;
        } else {
            out.append(in.substr(i, n));
            i += n;
        }
    }
    return out;
}

bool utf16_less(std::string_view a, std::string_view b) noexcept
{
    std::size_t i = 0;
    std::size_t j = 0;
    while (i < a.size() && j < b.size()) {
        const auto ca = static_cast<unsigned char>(a[i]);
        const auto cb = static_cast<unsigned char>(b[j]);
        if (ca < 0x80 && cb < 0x80) {
            if (ca != cb) {
                return ca < cb;
            }
            ++i;
            ++j;
            continue;
        }
        const std::uint32_t pa = next_code_point(a, i);
        const std::uint32_t pb = next_code_point(b, j);
        if (pa == pb) {
            continue;
        }
        const std::uint32_t la = utf16_lead(pa);
        const std::uint32_t lb = utf16_lead(pb);
        if (la != lb) {
            return la < lb;
        }
        // Same lead surrogate: both are supplementary, the trail decides.
        return utf16_trail(pa) < utf16_trail(pb);
    }
    return i == a.size() && j < b.size();
}

bool is_querystring_safe(unsigned char b) noexcept
{
    return (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') || b == '-' || b == '_'
        || b == '.' || b == '!' || b == '~' || b == '*' || b == '\'' || b == '(' || b == ')';
}

std::string ascii_lower(std::string_view in)
{
    std::string out(in);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

bool iequals(std::string_view a, std::string_view b) noexcept
{
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = static_cast<char>(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = static_cast<char>(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

std::size_t code_points(std::string_view in) noexcept
{
    std::size_t n = 0;
    for (const char c : in) {
        n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
    }
    return n;
}

} // namespace switchboard::text
