// Bearer tokens (protocol/jwt): the unverified header peek, base64url, and the claim checks at
// any time with any leeway and lifetime cap. Input: 8 bytes of "now", 8 bytes of leeway, 8 bytes
// of the lifetime cap, then token NUL claims JSON NUL issuer NUL audience NUL permission. A token
// is expired exactly when now >= exp + leeway, not yet valid exactly when now + leeway < nbf, and
// too long-lived exactly when exp - now or exp - iat exceeds cap + leeway, in exact (128-bit)
// arithmetic.
#include "protocol/auth/jwt.hpp"
#include "tests/fuzz/fuzz.hpp"

#include <boost/json/parse.hpp>

using namespace switchboard;

namespace {

// The claim as check_claims reads it, in 128 bits: no overflow in the reference arithmetic.
std::optional<__int128> seconds(const boost::json::object& o, std::string_view name)
{
    const auto* v = o.if_contains(name);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64()) {
        return INT64_MAX; // read as "far in the future"
    }
    return static_cast<__int128>(static_cast<std::int64_t>(v->get_double()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size < 24) {
        return 0;
    }
    const std::string_view in = fuzz::as_text(data, size);
    const std::int64_t now = fuzz::number(in.substr(0, 8));
    const std::int64_t leeway = fuzz::number(in.substr(8, 8));
    const std::int64_t lifetime = fuzz::number(in.substr(16, 8));
    const auto f = fuzz::fields(in.substr(24), 5);
    fuzz::total([&] {
        if (jwt::peek_header(f[0])) {
            // RFC 7515 §4.1.11: we understand no extension, so a "crit" header is refused.
            const auto header = jwt::base64url_decode(f[0].substr(0, f[0].find('.')));
            fuzz::check(header.has_value(), "an accepted header is base64url");
            fuzz::check(!boost::json::parse(*header).as_object().contains("crit"), "a crit header is refused");
        }
        (void)jwt::base64url_decode(f[0]);

        jwt::claim_policy policy;
        policy.issuer = f[2];
        policy.audience = f[3];
        policy.leeway = std::chrono::seconds(leeway);
        policy.max_lifetime = std::chrono::seconds(lifetime);
        const auto verdict = jwt::check_claims(f[1], policy, now);
        (void)jwt::to_string(verdict.failure);
        if (verdict.failure == jwt::claim_failure::none || verdict.failure == jwt::claim_failure::expired
            || verdict.failure == jwt::claim_failure::not_yet_valid
            || verdict.failure == jwt::claim_failure::too_long_lived) {
            const auto claims = boost::json::parse(f[1]).as_object();
            const auto exp = seconds(claims, "exp");
            const auto nbf = seconds(claims, "nbf");
            const auto iat = seconds(claims, "iat");
            fuzz::check(exp.has_value(), "a token checked for time has exp");
            const bool expired = static_cast<__int128>(now) >= *exp + leeway;
            const bool early = nbf && static_cast<__int128>(now) + leeway < *nbf;
            fuzz::check(expired == (verdict.failure == jwt::claim_failure::expired), "exp is compared exactly");
            if (!expired) {
                fuzz::check(early == (verdict.failure == jwt::claim_failure::not_yet_valid), "nbf is compared exactly");
            }
            if (!expired && !early) {
                const __int128 cap = static_cast<__int128>(lifetime) + leeway;
                const bool too_long = lifetime > 0 && (*exp - now > cap || (iat && *exp - *iat > cap));
                fuzz::check(too_long == (verdict.failure == jwt::claim_failure::too_long_lived),
                    "the lifetime is compared exactly");
            }
        }
        if (verdict.failure == jwt::claim_failure::none) {
            (void)jwt::allows(verdict.who, f[4]);
        }
    });
    return 0;
}
