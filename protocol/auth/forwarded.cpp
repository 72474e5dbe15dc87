// Trusted proxy networks and X-Forwarded-* interpretation.
#include "protocol/auth/forwarded.hpp"

#include "protocol/core/error.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace switchboard::forwarded {
namespace {

std::string_view trim(std::string_view s) noexcept
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

bool matches(const network& n, const std::array<std::uint8_t, 16>& a) noexcept
{
    int bits = n.prefix;
    for (std::size_t i = 0; i < 16 && bits > 0; ++i, bits -= 8) {
        const auto mask = static_cast<std::uint8_t>(bits >= 8 ? 0xFF : 0xFF << (8 - bits));
        if ((n.address[i] & mask) != (a[i] & mask)) {
            return false;
        }
    }
    return true;
}

} // namespace

bool parse_address(std::string_view text, std::array<std::uint8_t, 16>& out) noexcept
{
    text = trim(text);
    if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
        text = text.substr(1, text.size() - 2);
    }
    char buf[64];
    if (text.empty() || text.size() >= sizeof buf) {
        return false;
    }
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    in_addr v4{};
    if (inet_pton(AF_INET, buf, &v4) == 1) {
        out = {};
        out[10] = 0xFF;
        out[11] = 0xFF;
        std::memcpy(out.data() + 12, &v4, 4);
        return true;
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, buf, &v6) == 1) {
        std::memcpy(out.data(), &v6, 16);
        return true;
    }
    return false;
}

boost::system::result<std::vector<network>> parse_networks(std::string_view list, std::string* bad)
{
    std::vector<network> out;
    while (!list.empty()) {
        const std::size_t comma = list.find(',');
        const std::string_view item = trim(list.substr(0, comma));
        list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
        if (item.empty()) {
            continue;
        }
        network n;
        const std::size_t slash = item.find('/');
        const std::string_view addr = item.substr(0, slash);
        const bool v4 = addr.find(':') == std::string_view::npos;
        bool ok = parse_address(addr, n.address);
        n.prefix = 128;
        if (ok && slash != std::string_view::npos) {
            const std::string_view bits = item.substr(slash + 1);
            int prefix = -1;
            const auto [end, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
            const int max = v4 ? 32 : 128;
            ok = ec == std::errc{} && end == bits.data() + bits.size() && prefix >= 0 && prefix <= max;
            n.prefix = v4 ? prefix + 96 : prefix;
        }
        if (!ok) {
            if (bad != nullptr) {
                *bad = std::string(item);
            }
            return error::invalid_config;
        }
        out.push_back(n);
    }
    return out;
}

bool contains(const std::vector<network>& nets, std::string_view address) noexcept
{
    std::array<std::uint8_t, 16> a{};
    if (nets.empty() || !parse_address(address, a)) {
        return false;
    }
    for (const auto& n : nets) {
        if (matches(n, a)) {
            return true;
        }
    }
    return false;
}

std::string client_address(const std::vector<network>& trusted, std::string_view peer, std::string_view x_forwarded_for)
{
    if (x_forwarded_for.empty() || !contains(trusted, peer)) {
        return std::string(peer);
    }
    std::string_view rest = x_forwarded_for;
    std::string_view leftmost;
    while (!rest.empty()) {
        const std::size_t comma = rest.rfind(',');
        const std::string_view hop = trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(0, comma);
        std::array<std::uint8_t, 16> a{};
        if (!parse_address(hop, a)) {
            // A hop we cannot parse was written by something we do not trust.
            return std::string(peer);
        }
        if (!contains(trusted, hop)) {
            return std::string(hop);
        }
        leftmost = hop;
    }
    return leftmost.empty() ? std::string(peer) : std::string(leftmost);
}

std::string budget_key(std::string_view address)
{
    std::array<std::uint8_t, 16> a{};
    if (!parse_address(address, a)) {
        return std::string(address);
    }
    const bool v4 = std::all_of(a.begin(), a.begin() + 10, [](std::uint8_t b) { return b == 0; }) && a[10] == 0xFF
        && a[11] == 0xFF;
    char text[64] = {}; // INET6_ADDRSTRLEN is 46
    if (v4) {
        inet_ntop(AF_INET, a.data() + 12, text, sizeof text);
        return text;
    }
    std::fill(a.begin() + 8, a.end(), std::uint8_t{0});
    inet_ntop(AF_INET6, a.data(), text, sizeof text);
    return std::string(text) + "/64";
}

std::string_view first_value(std::string_view header) noexcept
{
    return trim(header.substr(0, header.find(',')));
}

} // namespace switchboard::forwarded
