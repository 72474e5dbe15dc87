// Trusted proxies: which peers may set X-Forwarded-For/-Proto/-Host, and what the original
// client address, scheme and host were.
#pragma once

#include <boost/system/result.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::forwarded {

// An IPv4 or IPv6 network; IPv4 is held as IPv4-mapped IPv6 so one comparison serves both.
struct network {
    std::array<std::uint8_t, 16> address{};
    int prefix = 128;

    bool operator==(const network&) const = default;
};

// "10.0.0.0/8, 127.0.0.1, ::1, fd00::/8"; empty input gives an empty list.
// Error: invalid_config, with `bad` set to the offending item.
boost::system::result<std::vector<network>> parse_networks(std::string_view list, std::string* bad = nullptr);

// Parses a literal IPv4/IPv6 address (IPv4-mapped IPv6 is folded to IPv4 semantics).
bool parse_address(std::string_view text, std::array<std::uint8_t, 16>& out) noexcept;

bool contains(const std::vector<network>& nets, std::string_view address) noexcept;

// The client address: the peer itself unless it is trusted; then the right-most
// X-Forwarded-For entry that is not a trusted proxy (or the left-most if all are).
std::string client_address(
    const std::vector<network>& trusted, std::string_view peer, std::string_view x_forwarded_for);

// The key a client's rate budget is kept under: an IPv4 address (or IPv4-mapped IPv6, folded to
// IPv4) as itself; an IPv6 address as its /64 ("2001:db8:1:2::/64"), since one subscriber is
// routinely given a whole /64 (RFC 6177) and could otherwise spend 2^64 budgets. Anything that
// does not parse as an address is kept as it is.
std::string budget_key(std::string_view address);

// The first entry of a comma-separated forwarding header, trimmed.
std::string_view first_value(std::string_view header) noexcept;

} // namespace switchboard::forwarded
