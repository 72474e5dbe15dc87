// JWT header peek and claim checks.
#include "protocol/auth/jwt.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <array>

namespace switchboard::jwt {
namespace {

constexpr std::array<signed char, 256> make_table()
{
    std::array<signed char, 256> t{};
    t.fill(-1);
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (std::size_t i = 0; i < alphabet.size(); ++i) {
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<signed char>(i);
    }
    return t;
}
constexpr auto table = make_table();

// A JSON number claim as whole seconds; nullopt when absent or not a number.
std::optional<std::int64_t> seconds_claim(const boost::json::object& o, std::string_view name, bool& malformed)
{
    const auto* v = o.if_contains(name);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return v->get_int64();
    }
    if (v->is_uint64()) {
        return static_cast<std::int64_t>(std::min<std::uint64_t>(v->get_uint64(), INT64_MAX));
    }
    if (v->is_double() && v->get_double() > -9e18 && v->get_double() < 9e18) {
        return static_cast<std::int64_t>(v->get_double());
    }
    malformed = true;
    return std::nullopt;
}

// 128-bit arithmetic for the time checks: exp, nbf, iat, now and the leeway each span the int64
// range, so a claim near INT64_MAX plus the leeway must not wrap.
__extension__ using wide = __int128;

} // namespace

std::string_view to_string(claim_failure f) noexcept
{
    switch (f) {
    case claim_failure::none:
        return "none";
    case claim_failure::malformed:
        return "malformed";
    case claim_failure::missing_exp:
        return "missing_exp";
    case claim_failure::expired:
        return "expired";
    case claim_failure::not_yet_valid:
        return "not_yet_valid";
    case claim_failure::too_long_lived:
        return "too_long_lived";
    case claim_failure::wrong_issuer:
        return "wrong_issuer";
    case claim_failure::wrong_audience:
        return "wrong_audience";
    }
    return "malformed";
}

std::optional<std::string> base64url_decode(std::string_view in)
{
    if (in.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t acc = 0;
    int bits = 0;
    for (const char c : in) {
        const int v = table[static_cast<unsigned char>(c)];
        if (v < 0) {
            return std::nullopt;
        }
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xFF));
        }
    }
    return out;
}

std::optional<header_info> peek_header(std::string_view token)
{
    const std::size_t dot = token.find('.');
    if (std::count(token.begin(), token.end(), '.') != 2) {
        return std::nullopt;
    }
    const auto json = base64url_decode(token.substr(0, dot));
    if (!json) {
        return std::nullopt;
    }
    boost::system::error_code ec;
    const auto v = boost::json::parse(*json, ec);
    if (ec || !v.is_object()) {
        return std::nullopt;
    }
    const auto& o = v.get_object();
    const auto* alg = o.if_contains("alg");
    if (alg == nullptr || !alg->is_string()) {
        return std::nullopt;
    }
    // RFC 7515 §4.1.11: a recipient that does not understand every extension "crit" lists must
    // reject the token. We understand none (and libjwt ignores the header), so none is accepted.
    if (o.contains("crit")) {
        return std::nullopt;
    }
    header_info h;
    h.alg = std::string(alg->get_string());
    if (const auto* kid = o.if_contains("kid"); kid != nullptr) {
        if (!kid->is_string()) {
            return std::nullopt;
        }
        h.kid = std::string(kid->get_string());
    }
    return h;
}

claim_verdict check_claims(std::string_view claims_json, const claim_policy& policy, std::int64_t now)
{
    claim_verdict out;
    boost::system::error_code ec;
    const auto v = boost::json::parse(claims_json, ec);
    if (ec || !v.is_object()) {
        out.failure = claim_failure::malformed;
        return out;
    }
    const auto& o = v.get_object();
    bool malformed = false;
    const auto exp = seconds_claim(o, "exp", malformed);
    const auto nbf = seconds_claim(o, "nbf", malformed);
    const auto iat = seconds_claim(o, "iat", malformed);
    if (malformed) {
        out.failure = claim_failure::malformed;
        return out;
    }
    const std::int64_t leeway = policy.leeway.count();
    if (!exp) {
        out.failure = claim_failure::missing_exp;
        return out;
    }
    // RFC 7519 §4.1.4: not accepted on or after exp (now >= exp + leeway).
    if (wide{*exp} + leeway <= now) {
        out.failure = claim_failure::expired;
        return out;
    }
    if (nbf && wide{now} + leeway < *nbf) { // §4.1.5: not before nbf (now + leeway < nbf)
        out.failure = claim_failure::not_yet_valid;
        return out;
    }
    if (policy.max_lifetime.count() > 0) {
        const wide cap = wide{policy.max_lifetime.count()} + leeway;
        const bool too_long = wide{*exp} - now > cap || (iat && wide{*exp} - *iat > cap);
        if (too_long) {
            out.failure = claim_failure::too_long_lived;
            return out;
        }
    }
    if (!policy.issuer.empty()) {
        const auto* iss = o.if_contains("iss");
        if (iss == nullptr || !iss->is_string() || iss->get_string() != policy.issuer) {
            out.failure = claim_failure::wrong_issuer;
            return out;
        }
    }
    if (!policy.audience.empty()) {
        const auto* aud = o.if_contains("aud");
        bool ok = false;
        if (aud != nullptr && aud->is_string()) {
            ok = aud->get_string() == policy.audience;
        } else if (aud != nullptr && aud->is_array()) {
            for (const auto& a : aud->get_array()) {
                ok = ok || (a.is_string() && a.get_string() == policy.audience);
            }
        }
        if (!ok) {
            out.failure = claim_failure::wrong_audience;
            return out;
        }
    }
    if (const auto* sub = o.if_contains("sub"); sub != nullptr && sub->is_string()) {
        out.who.subject = std::string(sub->get_string());
    }
    if (const auto* perms = o.if_contains("permissions"); perms != nullptr && perms->is_array()) {
        for (const auto& p : perms->get_array()) {
            if (p.is_string()) {
                out.who.permissions.emplace_back(p.get_string());
            }
        }
    } else if (const auto* scope = o.if_contains("scope"); scope != nullptr && scope->is_string()) {
        std::string_view s = scope->get_string();
        while (!s.empty()) {
            const std::size_t sp = s.find(' ');
            if (sp != 0) {
                out.who.permissions.emplace_back(s.substr(0, sp));
            }
            s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
        }
    }
    return out;
}

bool allows(const principal& who, std::string_view permission) noexcept
{
    for (const auto& p : who.permissions) {
        if (p == permission || (p == "phone:admin" && permission.starts_with("phone:"))) {
            return true;
        }
    }
    return false;
}

} // namespace switchboard::jwt
