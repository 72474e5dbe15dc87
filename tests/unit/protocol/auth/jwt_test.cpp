// protocol/auth/jwt.cpp: base64url, the JWT header peek, claim checks and permissions.
#include "protocol/auth/jwt.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;

namespace {

std::string b64url(std::string_view s)
{
    static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    std::uint32_t acc = 0;
    int bits = 0;
    for (const unsigned char c : s) {
        acc = (acc << 8) | c;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out.push_back(alphabet[(acc >> bits) & 63]);
        }
    }
    if (bits > 0) {
        out.push_back(alphabet[(acc << (6 - bits)) & 63]);
    }
    return out;
}

const jwt::claim_policy policy{"https://auth.example.com", "switchboard", std::chrono::seconds(30)};
constexpr std::int64_t now = 1'800'000'000;

} // namespace

BOOST_AUTO_TEST_SUITE(jwt_checks)

BOOST_AUTO_TEST_CASE(base64url_round_trip_and_refusals)
{
    for (const std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
        BOOST_TEST(jwt::base64url_decode(b64url(s)).value() == s);
    }
    BOOST_TEST(!jwt::base64url_decode("ab+c"));
    BOOST_TEST(!jwt::base64url_decode("ab/c"));
    BOOST_TEST(!jwt::base64url_decode("abc="));
    BOOST_TEST(!jwt::base64url_decode("a"));
}

BOOST_AUTO_TEST_CASE(header_peek)
{
    const auto h = jwt::peek_header(b64url(R"({"alg":"RS256","kid":"k1"})") + ".e30.sig");
    BOOST_TEST(h->alg == "RS256");
    BOOST_TEST(h->kid == "k1");
    BOOST_TEST(!jwt::peek_header(b64url(R"({"alg":"RS256"})") + ".e30"));
    BOOST_TEST(!jwt::peek_header(b64url(R"({"alg":"RS256"})") + ".e30.sig.x"));
    BOOST_TEST(!jwt::peek_header(b64url(R"({"kid":"k1"})") + ".e30.sig"));
    BOOST_TEST(!jwt::peek_header(b64url(R"({"alg":5})") + ".e30.sig"));
    BOOST_TEST(!jwt::peek_header(b64url(R"({"alg":"HS256","kid":7})") + ".e30.sig"));
    BOOST_TEST(!jwt::peek_header(b64url("[]") + ".e30.sig"));
    BOOST_TEST(!jwt::peek_header("%%%.e30.sig"));
}

BOOST_AUTO_TEST_CASE(claims)
{
    const auto check = [](const std::string& json) { return jwt::check_claims(json, policy, now).failure; };
    const std::string ok_tail = R"(,"iss":"https://auth.example.com","aud":"switchboard"})";
    const std::string exp = R"({"exp":)" + std::to_string(now + 60);
    BOOST_TEST((check(exp + ok_tail) == jwt::claim_failure::none));
    BOOST_TEST((check(R"({"exp":)" + std::to_string(now - 29) + ok_tail) == jwt::claim_failure::none)); // leeway
    BOOST_TEST((check(R"({"exp":)" + std::to_string(now - 30) + ok_tail) == jwt::claim_failure::expired));
    BOOST_TEST((check(R"({"iat":1)" + ok_tail) == jwt::claim_failure::missing_exp));
    BOOST_TEST((check(R"({"exp":"soon")" + ok_tail) == jwt::claim_failure::malformed));
    BOOST_TEST((check(exp + R"(,"nbf":)" + std::to_string(now + 31) + ok_tail) == jwt::claim_failure::not_yet_valid));
    BOOST_TEST((check(exp + R"(,"nbf":)" + std::to_string(now + 30) + ok_tail) == jwt::claim_failure::none));
    BOOST_TEST((check(exp + R"(,"aud":"switchboard"})") == jwt::claim_failure::wrong_issuer));
    BOOST_TEST((check(exp + R"(,"iss":"https://evil","aud":"switchboard"})") == jwt::claim_failure::wrong_issuer));
    BOOST_TEST((check(exp + R"(,"iss":"https://auth.example.com"})") == jwt::claim_failure::wrong_audience));
    BOOST_TEST(
        (check(exp + R"(,"iss":"https://auth.example.com","aud":["a","switchboard"]})") == jwt::claim_failure::none));
    BOOST_TEST(
        (check(exp + R"(,"iss":"https://auth.example.com","aud":["a","b"]})") == jwt::claim_failure::wrong_audience));
    BOOST_TEST((check("[1]") == jwt::claim_failure::malformed));
    // Without a configured issuer and audience, neither is checked.
    BOOST_TEST((jwt::check_claims(exp + "}", {}, now).failure == jwt::claim_failure::none));
}

// A cap on the lifetime: exp - iat (when iat is present) and exp - now, each within cap + leeway.
BOOST_AUTO_TEST_CASE(claims_lifetime_cap)
{
    const jwt::claim_policy capped{"", "", std::chrono::seconds(30), std::chrono::seconds(3600)};
    const auto check = [&](const std::string& json) { return jwt::check_claims(json, capped, now).failure; };
    const auto exp_in = [](std::int64_t s) { return R"({"exp":)" + std::to_string(now + s); };
    BOOST_TEST((check(exp_in(3630) + "}") == jwt::claim_failure::none));
    BOOST_TEST((check(exp_in(3631) + "}") == jwt::claim_failure::too_long_lived));
    BOOST_TEST((check(exp_in(60) + R"(,"iat":)" + std::to_string(now - 3570) + "}") == jwt::claim_failure::none));
    BOOST_TEST(
        (check(exp_in(60) + R"(,"iat":)" + std::to_string(now - 3571) + "}") == jwt::claim_failure::too_long_lived));
    BOOST_TEST((check(R"({"exp":)" + std::to_string(INT64_MAX) + R"(,"iat":)" + std::to_string(INT64_MIN) + "}")
        == jwt::claim_failure::too_long_lived));
    BOOST_TEST((check(exp_in(60) + R"(,"iat":"yesterday"})") == jwt::claim_failure::malformed));
    // Expiry is reported before the lifetime: an expired token is "expired", whatever its iat.
    BOOST_TEST((check(exp_in(-60) + R"(,"iat":0})") == jwt::claim_failure::expired));
    // Without a cap (0), any lifetime passes.
    BOOST_TEST((jwt::check_claims(exp_in(10 * 366 * 86400) + "}", {}, now).failure == jwt::claim_failure::none));
}

// exp + leeway was a signed overflow (undefined behaviour) for exp near INT64_MAX, as was
// now + leeway for nbf; the comparisons are now exact over the whole range.
BOOST_AUTO_TEST_CASE(claims_at_the_ends_of_time)
{
    const auto at = [](const std::string& json, std::int64_t t, std::int64_t leeway = 30) {
        return jwt::check_claims(json, {"", "", std::chrono::seconds(leeway)}, t).failure;
    };
    const std::string max = std::to_string(INT64_MAX);
    const std::string min = std::to_string(INT64_MIN);
    BOOST_TEST((at(R"({"exp":)" + max + "}", now) == jwt::claim_failure::none));
    BOOST_TEST((at(R"({"exp":)" + max + "}", INT64_MAX) == jwt::claim_failure::none)); // INT64_MAX + 30 is later
    BOOST_TEST((at(R"({"exp":)" + max + "}", INT64_MAX, 0) == jwt::claim_failure::expired));
    BOOST_TEST((at(R"({"exp":18446744073709551615})", now) == jwt::claim_failure::none));
    BOOST_TEST((at(R"({"exp":)" + min + "}", INT64_MIN, 0) == jwt::claim_failure::expired));
    BOOST_TEST((at(R"({"exp":)" + min + "}", INT64_MIN, 1) == jwt::claim_failure::none));
    BOOST_TEST((at(R"({"exp":)" + min + "}", INT64_MIN, INT64_MIN) == jwt::claim_failure::expired));
    BOOST_TEST((at(R"({"exp":)" + max + R"(,"nbf":)" + max + "}", INT64_MAX - 1) == jwt::claim_failure::none));
    BOOST_TEST(
        (at(R"({"exp":)" + max + R"(,"nbf":)" + max + "}", INT64_MAX - 1, 0) == jwt::claim_failure::not_yet_valid));
    BOOST_TEST((at(R"({"exp":)" + max + R"(,"nbf":)" + max + "}", now, INT64_MAX) == jwt::claim_failure::none));
}

// RFC 7515 §4.1.11: extensions listed in "crit" must be understood; we understand none.
BOOST_AUTO_TEST_CASE(crit_headers_are_refused)
{
    BOOST_TEST(!jwt::peek_header(b64url(R"({"alg":"RS256","crit":["exp"],"exp":1})") + ".e30.sig"));
    BOOST_TEST(!jwt::peek_header(b64url(R"({"alg":"HS256","crit":[]})") + ".e30.sig"));
    BOOST_TEST(jwt::peek_header(b64url(R"({"alg":"HS256","critical":true})") + ".e30.sig").has_value());
}

BOOST_AUTO_TEST_CASE(permissions)
{
    const auto who = [](const std::string& claims) {
        return jwt::check_claims(R"({"exp":9999999999,"sub":"ops")" + claims + "}", {}, now).who;
    };
    const auto a = who(R"(,"permissions":["phone:view","phone:sms"])");
    BOOST_TEST(a.subject == "ops");
    BOOST_TEST(jwt::allows(a, "phone:view"));
    BOOST_TEST(jwt::allows(a, "phone:sms"));
    BOOST_TEST(!jwt::allows(a, "phone:call"));
    const auto b = who(R"(,"scope":"  phone:call  openid ")");
    BOOST_TEST(jwt::allows(b, "phone:call"));
    BOOST_TEST(!jwt::allows(b, "phone:view"));
    const auto admin = who(R"(,"scope":"phone:admin")");
    for (const auto* p : {"phone:view", "phone:call", "phone:sms", "phone:admin"}) {
        BOOST_TEST(jwt::allows(admin, p));
    }
    BOOST_TEST(!jwt::allows(admin, "billing:view"));
    // The array wins over scope; nothing at all grants nothing.
    BOOST_TEST(!jwt::allows(who(R"(,"permissions":[],"scope":"phone:admin")"), "phone:view"));
    BOOST_TEST(!jwt::allows(who(""), "phone:view"));
}

BOOST_AUTO_TEST_SUITE_END()
