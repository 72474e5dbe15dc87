// Events, outbound webhook signatures and the delivery retry policy.
#include "protocol/call_event.hpp"
#include "protocol/crypto.hpp"
#include "protocol/delivery_policy.hpp"
#include "protocol/error.hpp"
#include "protocol/webhook_signature.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

using namespace switchboard;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(events)

BOOST_AUTO_TEST_CASE(names_and_filters)
{
    BOOST_TEST(to_string(event_type::call_menu_selected) == "call.menu_selected");
    BOOST_TEST((parse_event_type("sms.received") == event_type::sms_received));
    BOOST_TEST(!parse_event_type("sms.sent"));
    BOOST_TEST(filter_matches("*", event_type::sms_status_changed));
    BOOST_TEST(filter_matches("call.*", event_type::call_status_changed));
    BOOST_TEST(!filter_matches("call.*", event_type::sms_received));
    BOOST_TEST(filter_matches("sms.received", event_type::sms_received));
    BOOST_TEST(!filter_matches("sms.rec", event_type::sms_received));
    BOOST_TEST(!filter_matches("ca*", event_type::call_status_changed));
    BOOST_TEST(is_valid_filter("call.*"));
    BOOST_TEST(is_valid_filter("*"));
    BOOST_TEST(!is_valid_filter("fax.*"));
    BOOST_TEST(!is_valid_filter("call.ended"));
}

BOOST_AUTO_TEST_CASE(json_round_trip_and_shape)
{
    call_event e;
    e.id = "evt_1";
    e.type = event_type::call_status_changed;
    e.occurred_at_ms = 1'795'791'845'123;
    e.call_sid = "CA1";
    e.from = "+14155551212";
    e.status = "completed";
    e.previous_status = "in-progress";
    e.sequence_number = 3;
    e.duration_seconds = 42;
    const std::string json = to_json(e);
    const auto doc = boost::json::parse(json).as_object();
    BOOST_TEST(doc.at("type").as_string() == "call.status_changed");
    BOOST_TEST(doc.at("timestamp").as_string() == "2026-11-27T15:04:05.123Z");
    const auto& data = doc.at("data").as_object();
    BOOST_TEST(data.at("duration_seconds").as_int64() == 42);
    BOOST_TEST(!data.contains("digits")); // empty fields are left out
    const auto back = from_json(json);
    BOOST_REQUIRE(back);
    BOOST_TEST(back->id == "evt_1");
    BOOST_TEST(*back->sequence_number == 3);
    BOOST_TEST(back->previous_status == "in-progress");
    BOOST_TEST(to_json(*back) == json);
    BOOST_TEST(from_json("{\"type\":\"nope\"}").error() == error::invalid_parameter);
    BOOST_TEST(from_json("not json").error() == error::invalid_parameter);
}

BOOST_AUTO_TEST_CASE(timestamps)
{
    BOOST_TEST(format_timestamp(0) == "1970-01-01T00:00:00.000Z");
    BOOST_TEST(format_timestamp(951'782'400'007) == "2000-02-29T00:00:00.007Z");
    BOOST_TEST(format_timestamp(-1) == "1969-12-31T23:59:59.999Z");
    BOOST_TEST(format_timestamp(-1000) == "1969-12-31T23:59:59.000Z");
    BOOST_TEST(format_timestamp(-1001) == "1969-12-31T23:59:58.999Z");
}

// The floor division subtracted 999 first: a signed overflow for the 999 values nearest
// INT64_MIN.
BOOST_AUTO_TEST_CASE(timestamps_at_the_extremes)
{
    BOOST_TEST(format_timestamp(INT64_MIN) == "-292275055-05-16T16:47:04.192Z");
    BOOST_TEST(format_timestamp(INT64_MIN + 998) == "-292275055-05-16T16:47:05.190Z");
    BOOST_TEST(format_timestamp(INT64_MAX) == "292278994-08-17T07:12:55.807Z");
}

// An event document whose numbers exceed INT64_MAX is none that to_json wrote: refused, not
// read as negative numbers.
BOOST_AUTO_TEST_CASE(out_of_range_numbers_are_refused)
{
    const std::string head = R"({"id":"evt_1","type":"call.status_changed","occurred_at_ms":)";
    BOOST_TEST(from_json(head + R"(1,"data":{"sequence_number":3}})").has_value());
    BOOST_TEST(from_json(head + R"(18446744073709551615,"data":{}})").error() == error::invalid_parameter);
    for (const char* key : {"sequence_number", "duration_seconds", "attempt", "num_media"}) {
        const std::string json = head + R"(1,"data":{")" + key + R"(":9223372036854775808}})";
        BOOST_TEST(from_json(json).error() == error::invalid_parameter, key);
    }
    BOOST_TEST(*from_json(head + R"(1,"data":{"attempt":9223372036854775807}})")->attempt == INT64_MAX);
}

BOOST_AUTO_TEST_CASE(dedupe_keys)
{
    // The unsigned token never decides when there is a natural key: a replay with a fresh token
    // is the same event, a different callback with a reused token is a different one.
    BOOST_TEST(dedupe_key("tok-1", "CA1", 3, "ringing") == "sid:CA1#3");
    BOOST_TEST(dedupe_key("tok-2", "CA1", 3, "ringing") == dedupe_key("tok-1", "CA1", 3, "ringing"));
    BOOST_TEST(dedupe_key("tok-1", "CA1", 4, "completed") != dedupe_key("tok-1", "CA1", 3, "ringing"));
    BOOST_TEST(dedupe_key("tok-1", "", std::nullopt, "") == "token:tok-1");
    BOOST_TEST(dedupe_key("", "CA1", 3, "ringing") == "sid:CA1#3");
    BOOST_TEST(dedupe_key("", "SM1", std::nullopt, "delivered") == "sid:SM1@delivered");
    BOOST_TEST(dedupe_key("", "CA1", 3, "a") == dedupe_key("", "CA1", 3, "b"));
}

BOOST_AUTO_TEST_SUITE_END()

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

BOOST_AUTO_TEST_CASE(base64_decoding_is_strict_and_total)
{
    BOOST_TEST(crypto::base64_decode("").value().empty());
    BOOST_TEST(crypto::base64_decode("QQ==").value() == "A");
    BOOST_TEST(crypto::base64_decode("QUI=").value() == "AB");
    BOOST_TEST(crypto::base64_decode("QUJD").value() == "ABC");
    BOOST_TEST(crypto::base64_decode("+/+/").value() == "\xfb\xff\xbf");
    for (const std::string_view bad :
        {"====", "A===", "QQ=A", "QQ==QUJD", "QUJ", " QUJD   ", "QUJ\n", "\tQUJ", "QUJ-"}) {
        BOOST_TEST(!crypto::base64_decode(bad), bad);
    }
    const std::string all = [] {
        std::string s;
        for (int i = 0; i < 256; ++i) {
            s.push_back(static_cast<char>(i));
        }
        return s;
    }();
    for (std::size_t n = 0; n <= all.size(); n += 37) {
        const auto* bytes = reinterpret_cast<const unsigned char*>(all.data());
        BOOST_TEST(crypto::base64_decode(crypto::base64_encode(bytes, n)).value() == all.substr(0, n));
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(delivery_retry_policy)

BOOST_AUTO_TEST_CASE(classification)
{
    using delivery::verdict;
    BOOST_TEST((delivery::classify_status(200) == verdict::delivered));
    BOOST_TEST((delivery::classify_status(204) == verdict::delivered));
    for (unsigned s : {408u, 409u, 429u, 500u, 502u, 503u, 504u}) {
        BOOST_TEST((delivery::classify_status(s) == verdict::retry), s);
    }
    for (unsigned s : {301u, 400u, 401u, 403u, 404u, 410u, 422u}) {
        BOOST_TEST((delivery::classify_status(s) == verdict::give_up), s);
    }
}

BOOST_AUTO_TEST_CASE(exponential_backoff_with_equal_jitter)
{
    const delivery::retry_policy p{.max_attempts = 10, .max_age = 24h, .initial_delay = 1s, .max_delay = 60s};
    BOOST_TEST(delivery::plan_retry(p, 1, 0ms, 0.0, std::nullopt).delay.count() == 500);
    BOOST_TEST(delivery::plan_retry(p, 1, 0ms, 1.0, std::nullopt).delay.count() == 1000);
    BOOST_TEST(delivery::plan_retry(p, 3, 0ms, 1.0, std::nullopt).delay.count() == 4000);
    BOOST_TEST(delivery::plan_retry(p, 9, 0ms, 1.0, std::nullopt).delay.count() == 60000); // capped
    BOOST_TEST(delivery::plan_retry(p, 9, 0ms, 0.0, std::nullopt).delay.count() == 30000);
    BOOST_TEST(delivery::plan_retry(p, 10, 0ms, 0.5, std::nullopt).give_up); // attempts exhausted
}

BOOST_AUTO_TEST_CASE(retry_after_and_max_age)
{
    const delivery::retry_policy p{.max_attempts = 100, .max_age = 10min, .initial_delay = 1s, .max_delay = 60s};
    const auto honoured = delivery::plan_retry(p, 1, 0ms, 0.0, 120s);
    BOOST_TEST(!honoured.give_up);
    BOOST_TEST(honoured.delay.count() == 120000);
    BOOST_TEST(delivery::plan_retry(p, 1, 9min, 0.0, 120s).give_up); // would land past max_age
    BOOST_TEST(delivery::plan_retry(p, 60, 0ms, 0.5, std::nullopt).delay.count() == 45000); // no overflow
}

BOOST_AUTO_TEST_CASE(retry_after_header)
{
    BOOST_TEST(delivery::parse_retry_after("120", 0)->count() == 120000);
    BOOST_TEST(delivery::parse_retry_after(" 5 ", 0)->count() == 5000);
    // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
    BOOST_TEST(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111677)->count() == 100000);
    BOOST_TEST(delivery::parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", 784111877)->count() == 0);
    BOOST_TEST(!delivery::parse_retry_after("soon", 0));
    BOOST_TEST(!delivery::parse_retry_after("-1", 0));
    BOOST_TEST(!delivery::parse_retry_after("", 0));
    BOOST_TEST(!delivery::parse_retry_after("Sun, 06 Foo 1994 08:49:37 GMT", 0));
}

BOOST_AUTO_TEST_SUITE_END()
