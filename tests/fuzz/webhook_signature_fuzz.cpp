// Standard Webhooks secrets and signatures (protocol/webhook_signature): a configured
// "whsec_…" secret is a key or a refusal, never an exception; what is signed verifies. Input:
// secret NUL id NUL 8 timestamp bytes NUL body NUL header.
#include "protocol/events/webhook_signature.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto f = fuzz::fields(fuzz::as_text(data, size), 5);
    fuzz::total([&] {
        const std::int64_t ts = fuzz::number(f[2]);
        std::string problem;
        const auto key = webhook_signature::parse_secret(f[0], &problem);
        fuzz::check(key.has_value() || !problem.empty(), "a refused secret says why");
        if (key) {
            fuzz::check(key->size() >= webhook_signature::min_key_bytes, "a key is long enough");
            const std::string sig = webhook_signature::sign(*key, f[1], ts, f[3]);
            fuzz::check(webhook_signature::verify(*key, f[1], ts, f[3], sig), "a signature verifies");
            fuzz::check(webhook_signature::verify(*key, f[1], ts, f[3], std::string(f[4]) + " " + sig),
                "a signature among others verifies");
            (void)webhook_signature::verify(*key, f[1], ts, f[3], f[4]);
        }
        if (f[0].size() >= webhook_signature::min_key_bytes) {
            const std::string secret = webhook_signature::generate_secret(f[0]);
            const auto back = webhook_signature::parse_secret(secret);
            fuzz::check(back && *back == f[0], "a generated secret parses back to its key");
        }
    });
    return 0;
}
