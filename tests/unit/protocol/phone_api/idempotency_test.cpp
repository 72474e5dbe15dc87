// Idempotency-Key rules: the header, the scope, and what a repeat does at each point of a
// key's life.
#include "protocol/core/error.hpp"
#include "protocol/phone_api/idempotency.hpp"

#include <boost/test/unit_test.hpp>

using namespace switchboard;
namespace idem = switchboard::idempotency;

BOOST_AUTO_TEST_SUITE(idempotency_keys)

BOOST_AUTO_TEST_CASE(header_values)
{
    std::string problem;
    BOOST_TEST(idem::parse_key("8e03978e-40d5-43e8-bc93-6894a57f9324", &problem).value()
        == "8e03978e-40d5-43e8-bc93-6894a57f9324");
    BOOST_TEST(idem::parse_key("\"8e03978e-40d5\"", &problem).value() == "8e03978e-40d5"); // a Structured Field string
    BOOST_TEST(idem::parse_key(std::string(255, 'k'), &problem).has_value());
    for (const std::string bad : {std::string(), std::string("\"\""), std::string(256, 'k'), std::string("a b"),
             std::string("a\"b"), std::string("caf\xc3\xa9"), std::string("a\tb")}) {
        BOOST_TEST_CONTEXT(bad)
        {
            const auto k = idem::parse_key(bad, &problem);
            BOOST_TEST(!k);
            BOOST_TEST((k.error() == make_error_code(error::invalid_parameter)));
            BOOST_TEST(problem.find("Idempotency-Key must be 1 to 255 visible ASCII characters") == 0u);
        }
    }
}

BOOST_AUTO_TEST_CASE(scopes_never_collide)
{
    BOOST_TEST(idem::scope("a", "k") != idem::scope("b", "k"));
    // Names that would run together without the lengths.
    BOOST_TEST(idem::scope("a:1", "b") != idem::scope("a", "1:b"));
    BOOST_TEST(idem::scope("", "k") == "0:1:k");
}

BOOST_AUTO_TEST_CASE(fingerprints_cover_method_target_and_body)
{
    const auto f = idem::fingerprint("POST", "/api/phone/call", R"({"to":"+14155551212"})");
    BOOST_TEST(f.size() == 64u);
    BOOST_TEST(f == idem::fingerprint("POST", "/api/phone/call", R"({"to":"+14155551212"})"));
    BOOST_TEST(f != idem::fingerprint("POST", "/api/phone/call", R"({"to":"+14155551213"})"));
    BOOST_TEST(f != idem::fingerprint("POST", "/api/phone/sms", R"({"to":"+14155551212"})"));
    BOOST_TEST(idem::fingerprint("POST", "/a", "b\nc") != idem::fingerprint("POST", "/a\nb", "c"));
}

BOOST_AUTO_TEST_CASE(a_keys_life)
{
    const idem::policy p{1000, 100};
    using v = idem::verdict;
    // First use: proceed, claiming the key in flight.
    auto d = idem::begin(std::nullopt, "F", 5000, p);
    BOOST_TEST((d.what == v::proceed));
    BOOST_REQUIRE(d.write);
    BOOST_TEST(d.write->fingerprint == "F");
    BOOST_TEST(d.write->expires_at_ms == 6000);
    BOOST_TEST(d.write->lease_until_ms == 5100);
    BOOST_TEST(d.write->status == 0);
    const idem::record claim = *d.write;

    struct row {
        const char* what;
        std::optional<idem::record> stored;
        const char* fingerprint;
        std::int64_t now;
        v expected;
    };
    auto answered = idem::finish(claim, 201, R"({"sid":"CA1"})");
    BOOST_REQUIRE(answered);
    BOOST_TEST(answered->lease_until_ms == 0);
    BOOST_TEST(answered->expires_at_ms == 6000); // from the first request, not the answer
    const row rows[] = {
        {"in flight, same request", claim, "F", 5050, v::in_flight},
        {"in flight, another request", claim, "G", 5050, v::mismatch},
        {"in flight at the lease's end: the first request is presumed dead", claim, "F", 5100, v::proceed},
        {"answered, same request", answered, "F", 5999, v::replay},
        {"answered, another request", answered, "G", 5999, v::mismatch},
        {"answered, expired", answered, "F", 6000, v::proceed},
        {"answered, expired, another request", answered, "G", 6000, v::proceed},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.what)
        {
            const auto got = idem::begin(r.stored, r.fingerprint, r.now, p);
            BOOST_TEST((got.what == r.expected));
            BOOST_TEST(got.write.has_value() == (r.expected == v::proceed));
            if (r.expected == v::replay) {
                BOOST_TEST(got.existing.status == 201);
                BOOST_TEST(got.existing.body == R"({"sid":"CA1"})");
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(what_is_kept)
{
    const idem::record claim{"F", 6000, 5100, 0, {}};
    for (const int status : {200, 201, 400, 404, 409, 422, 500, 502, 504}) {
        BOOST_TEST_CONTEXT(status)
        {
            BOOST_TEST(idem::keeps(status));
            BOOST_TEST(idem::finish(claim, status, "{}").has_value());
        }
    }
    for (const int status : {429, 503}) {
        BOOST_TEST_CONTEXT(status)
        {
            BOOST_TEST(!idem::keeps(status));
            BOOST_TEST(!idem::finish(claim, status, "{}").has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(records_round_trip)
{
    const idem::record r{"abc", 1'700'000'000'000, 0, 201, "{\"sid\":\"CA\\u00e9\"}\n"};
    const auto back = idem::decode(idem::encode(r));
    BOOST_REQUIRE(back);
    BOOST_TEST(back->fingerprint == r.fingerprint);
    BOOST_TEST(back->expires_at_ms == r.expires_at_ms);
    BOOST_TEST(back->lease_until_ms == r.lease_until_ms);
    BOOST_TEST(back->status == r.status);
    BOOST_TEST(back->body == r.body);
    for (const char* junk : {"", "null", "[]", "{\"f\":1}", "{\"f\":\"x\",\"e\":1,\"l\":0,\"s\":\"201\",\"b\":\"\"}"}) {
        BOOST_TEST_CONTEXT(junk)
        {
            BOOST_TEST(!idem::decode(junk));
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
