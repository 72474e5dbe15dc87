// Trusted proxies and X-Forwarded-* (protocol/forwarded). Input: trusted list NUL peer NUL
// X-Forwarded-For NUL X-Forwarded-Proto. The client address is the peer, or one of the
// forwarded hops when the peer is trusted.
#include "protocol/auth/forwarded.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

namespace {

bool is_hop(std::string_view header, std::string_view address)
{
    while (true) {
        const std::size_t comma = header.find(',');
        std::string_view hop = header.substr(0, comma);
        while (!hop.empty() && (hop.front() == ' ' || hop.front() == '\t')) {
            hop.remove_prefix(1);
        }
        while (!hop.empty() && (hop.back() == ' ' || hop.back() == '\t')) {
            hop.remove_suffix(1);
        }
        if (hop == address) {
            return true;
        }
        if (comma == std::string_view::npos) {
            return false;
        }
        header.remove_prefix(comma + 1);
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto f = fuzz::fields(fuzz::as_text(data, size), 4);
    fuzz::total([&] {
        std::string bad;
        const auto nets = forwarded::parse_networks(f[0], &bad);
        if (!nets) {
            fuzz::check(!bad.empty(), "a refused list names the bad item");
            return;
        }
        for (const auto& n : *nets) {
            fuzz::check(n.prefix >= 0 && n.prefix <= 128, "prefixes are in range");
        }
        std::array<std::uint8_t, 16> a{};
        (void)forwarded::parse_address(f[1], a);
        const bool trusted = forwarded::contains(*nets, f[1]);
        const std::string client = forwarded::client_address(*nets, f[1], f[2]);
        if (!trusted) {
            fuzz::check(client == f[1], "an untrusted peer is the client");
        } else {
            fuzz::check(client == f[1] || is_hop(f[2], client), "the client is the peer or a forwarded hop");
        }
        const std::string_view proto = forwarded::first_value(f[3]);
        fuzz::check(proto.size() <= f[3].size(), "the first value is part of the header");
    });
    return 0;
}
