// protocol/events/webhook_signature.cpp: outbound webhook signatures (Standard Webhooks) and
// their secrets.
#include "protocol/events/webhook_signature.hpp"

#include <boost/test/unit_test.hpp>

#include <span>
#include <string>
#include <vector>

using namespace switchboard;

BOOST_AUTO_TEST_SUITE(outbound_webhook_signature)

BOOST_AUTO_TEST_CASE(standard_webhooks_reference_vector)
{
    // The example from the Standard Webhooks specification's reference libraries.
    const auto key = webhook_signature::parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    BOOST_REQUIRE(key);
    const std::string body = R"({"test": 2432232314})";
    BOOST_TEST(webhook_signature::sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

BOOST_AUTO_TEST_CASE(verify_accepts_any_listed_v1_signature)
{
    const auto key = *webhook_signature::parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    const std::string good = webhook_signature::sign(key, "id", 10, "body");
    BOOST_TEST(webhook_signature::verify(key, "id", 10, "body", good));
    BOOST_TEST(webhook_signature::verify(key, "id", 10, "body", "v1,bogus " + good));
    BOOST_TEST(!webhook_signature::verify(key, "id", 11, "body", good));
    BOOST_TEST(!webhook_signature::verify(key, "id", 10, "body!", good));
    BOOST_TEST(!webhook_signature::verify(key, "id", 10, "body", ""));
}

BOOST_AUTO_TEST_CASE(a_rotation_signs_with_every_key_in_order)
{
    const std::vector<std::string> keys
        = {*webhook_signature::parse_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"), std::string(32, 'k')};
    const std::string both = webhook_signature::sign(keys, "id", 10, "body");
    BOOST_TEST(both
        == webhook_signature::sign(keys[0], "id", 10, "body") + " "
            + webhook_signature::sign(keys[1], "id", 10, "body"));
    for (const auto& k : keys) {
        BOOST_TEST(webhook_signature::verify(k, "id", 10, "body", both));
    }
    BOOST_TEST(!webhook_signature::verify(std::string(32, 'x'), "id", 10, "body", both));
    BOOST_TEST(webhook_signature::sign(std::span(keys).first(1), "id", 10, "body")
        == webhook_signature::sign(keys[0], "id", 10, "body"));
}

BOOST_AUTO_TEST_CASE(secrets)
{
    BOOST_TEST(!webhook_signature::parse_secret("whsec_"));
    BOOST_TEST(!webhook_signature::parse_secret("whsec_not*base64"));
    BOOST_TEST(webhook_signature::parse_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").has_value());
    const std::string secret = webhook_signature::generate_secret(std::string(32, '\x07'));
    BOOST_TEST(secret.rfind("whsec_", 0) == 0u);
    BOOST_TEST(webhook_signature::parse_secret(secret)->size() == 32u);
}

BOOST_AUTO_TEST_CASE(secrets_have_at_least_24_bytes_of_key)
{
    std::string problem;
    // One byte of key ("whsec_AQ==") is guessed offline from a single signed delivery.
    BOOST_TEST(!webhook_signature::parse_secret("whsec_AQ==", &problem));
    BOOST_TEST(problem.find("decodes to 1 byte of key; at least 24") != std::string::npos, problem);
    BOOST_TEST(problem.find("AQ==") == std::string::npos); // never the secret itself
    const std::string short_one = webhook_signature::generate_secret(std::string(23, '\x07'));
    BOOST_TEST(!webhook_signature::parse_secret(short_one, &problem));
    BOOST_TEST(problem.find("23 bytes") != std::string::npos, problem);
    const std::string enough = webhook_signature::generate_secret(std::string(24, '\x07'));
    BOOST_TEST(webhook_signature::parse_secret(enough, &problem)->size() == 24u);
    BOOST_TEST(!webhook_signature::parse_secret("whsec_not*base64", &problem));
    BOOST_TEST(problem == "is not whsec_ followed by base64");
}

// Padding alone made the decoded length wrap and std::string throw length_error, so one bad
// subscriber secret terminated the process at start-up (tests/fuzz/crypto_fuzz finds it at once).
BOOST_AUTO_TEST_CASE(padding_only_secrets_are_refused)
{
    BOOST_TEST(!webhook_signature::parse_secret("whsec_===="));
    BOOST_TEST(!webhook_signature::parse_secret("whsec_1111===="));
}

BOOST_AUTO_TEST_SUITE_END()
