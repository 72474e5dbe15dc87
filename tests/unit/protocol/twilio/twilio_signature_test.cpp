// X-Twilio-Signature: published test vectors of the Twilio signature (computed with twilio-node 6.2.0).
#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "protocol/twilio/twilio_signature.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;
namespace sig = switchboard::twilio_signature;

namespace {

form_params params(std::initializer_list<std::pair<const char*, const char*>> items)
{
    form_params p;
    for (const auto& [k, v] : items) {
        p.add(k, v);
    }
    return p;
}

const std::vector<std::string> token{"12345"};

bool accepts(std::string_view url, std::string_view signature, const form_params& p)
{
    return sig::matches(token, signature, url, p);
}

} // namespace

BOOST_AUTO_TEST_SUITE(twilio_signature)

BOOST_AUTO_TEST_CASE(classic_vector_and_default_port_form)
{
    const auto p = params({{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
        {"From", "+12349013030"}, {"To", "+18005551212"}});
    BOOST_TEST(
        sig::compute("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", p) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
    BOOST_TEST(accepts("https://mycompany.com/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", p));
    BOOST_TEST(accepts("https://mycompany.com:443/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", p));
    // twilio-node removes any port before its first try, so a port-less signature fits any port.
    BOOST_TEST(accepts("https://mycompany.com:8443/myapp.php?foo=1&bar=2", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", p));
    BOOST_TEST(!accepts("https://mycompany.com/myapp.php?foo=1&bar=3", "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", p));
}

// A callback URL configured with Twilio connection overrides
// (https://mycompany.com/myapp.php?foo=1&bar=2#rc=2&rp=ct,rt,5xx): the request carries no
// fragment and Twilio signs the URL without it. A signature over the URL with the fragment
// (S0gio…, twilio-node's getExpectedTwilioSignature) does not verify the request as received.
BOOST_AUTO_TEST_CASE(connection_override_fragments_are_not_signed)
{
    const auto p = params({{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
        {"From", "+12349013030"}, {"To", "+18005551212"}});
    const std::string_view received = "https://mycompany.com/myapp.php?foo=1&bar=2";
    BOOST_TEST(accepts(received, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", p));
    BOOST_TEST(sig::compute("12345", "https://mycompany.com/myapp.php?foo=1&bar=2#rc=2&rp=ct,rt,5xx", p)
        == "S0gioIKo/kArVcdXgB0nOsFAg4A=");
    BOOST_TEST(!accepts(received, "S0gioIKo/kArVcdXgB0nOsFAg4A=", p));
}

BOOST_AUTO_TEST_CASE(explicit_port_is_signed_and_required)
{
    const auto p = params(
        {{"AccountSid", "ACxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}, {"CallSid", "CA0123456789abcdef0123456789abcdef"},
            {"From", "+15005550006"}, {"To", "+14155551212"}, {"CallStatus", "ringing"}});
    const std::string url = "https://example.com:8443/voice/incoming?tenant=a%20b";
    BOOST_TEST(sig::compute("12345", url, p) == "kR4FoITUUCT0TdlmZ8odbO94pN8=");
    BOOST_TEST(accepts(url, "kR4FoITUUCT0TdlmZ8odbO94pN8=", p));
    BOOST_TEST(
        sig::compute("12345", "https://example.com/voice/incoming?tenant=a%20b", p) != "kR4FoITUUCT0TdlmZ8odbO94pN8=");
}

BOOST_AUTO_TEST_CASE(repeated_names_are_deduplicated_and_sorted)
{
    const auto p = params({{"To", "+14155551212"}, {"StatusCallbackEvent", "ringing"},
        {"StatusCallbackEvent", "answered"}, {"StatusCallbackEvent", "initiated"}, {"a", "2"}, {"a", "1"}, {"a", "2"}});
    BOOST_TEST(sig::compute("12345", "https://example.com/status", p) == "dTvtbZE1UUxRqmVho33LyWXO/4w=");
    BOOST_TEST(sig::params_suffix(p)
        == "StatusCallbackEventansweredStatusCallbackEventinitiatedStatusCallbackEventringingTo+14155551212a1a2");
    // The same parameters signed without de-duplication ("a1a2a2": HMAC cf6de4e4…, base64
    // beginning with a lower-case z) are refused.
    const auto digest = crypto::hmac_sha1("12345",
        "https://example.com/status"
        "StatusCallbackEventansweredStatusCallbackEventinitiatedStatusCallbackEventringingTo+14155551212a1a2a2");
    BOOST_TEST(crypto::hex_lower(digest) == "cf6de4e4b0ccc996b03c2305ed001d7f4f80c1a4");
    BOOST_TEST(!accepts("https://example.com/status", crypto::base64_encode(digest), p));
}

BOOST_AUTO_TEST_CASE(names_sort_by_code_unit)
{
    const auto p = params({{"b", "5"}, {"a_b", "4"}, {"aB", "3"}, {"a.b", "2"}, {"B", "1"}});
    BOOST_TEST(sig::params_suffix(p) == "B1a.b2aB3a_b4b5");
}

BOOST_AUTO_TEST_CASE(body_sha256)
{
    const std::string url
        = "https://example.com/myapp?bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    const std::string body = R"({"property": "value", "boolean": true})";
    BOOST_TEST(sig::compute("12345", url, {}) == "Klp85180pYIxzIO5cuyxpfh1BKw=");
    sig::webhook_request r{url, "Klp85180pYIxzIO5cuyxpfh1BKw=", "application/json", body, true};
    BOOST_TEST(!sig::verify(token, r).ec);
    const std::string tampered = body + " ";
    r.body = tampered;
    BOOST_TEST(sig::verify(token, r).ec == error::body_hash_mismatch);
}

BOOST_AUTO_TEST_CASE(unicode_and_empty_values)
{
    BOOST_TEST(sig::compute("12345", "https://example.com/sms", params({{"Body", "h\xC3\xA9llo \xE2\x9C\x93"}}))
        == "P3BxTTBr9FP74w83ir6paBemUYk=");
    BOOST_TEST(sig::compute("12345", "https://example.com/x", params({{"Digits", ""}, {"From", "+1"}}))
        == "bHYY43s5GJ9RRSFUtMVD2BJh/n8=");
}

BOOST_AUTO_TEST_CASE(verify_parses_the_form_body_once_and_returns_it)
{
    const std::string body = "Digits=1&From=%2B1&Body=a+b";
    const std::string url = "https://example.com/x";
    const std::string s = sig::compute("12345", url, parse_form(body));
    const auto v = sig::verify(token, {url, s, "application/x-www-form-urlencoded", body, true});
    BOOST_TEST(!v.ec);
    BOOST_TEST(v.params.get("Body") == "a b");
    BOOST_TEST(v.params.get("From") == "+1");
}

BOOST_AUTO_TEST_CASE(get_webhooks_sign_the_url_only)
{
    const std::string url = "https://example.com/voice?CallSid=CA1&From=%2B14155551212";
    const std::string s = sig::compute("12345", url, {});
    const auto v = sig::verify(token, {url, s, "", "", false});
    BOOST_TEST(!v.ec);
    BOOST_TEST(v.params.get("From") == "+14155551212");
}

BOOST_AUTO_TEST_CASE(missing_and_wrong_signatures)
{
    BOOST_TEST(sig::verify(token, {"https://example.com/x", "", "", "", true}).ec == error::signature_missing);
    BOOST_TEST(sig::verify(token, {"https://example.com/x", "AAAA", "", "", true}).ec == error::signature_mismatch);
}

BOOST_AUTO_TEST_CASE(secondary_token)
{
    const std::vector<std::string> both{"old", "new"};
    const std::string url = "https://example.com/x";
    BOOST_TEST(sig::matches(both, sig::compute("new", url, {}), url, {}));
    BOOST_TEST(sig::matches(both, sig::compute("old", url, {}), url, {}));
    BOOST_TEST(!sig::matches(both, sig::compute("other", url, {}), url, {}));
}

BOOST_AUTO_TEST_SUITE_END()
