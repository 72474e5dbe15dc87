// Decoders of configured and received bytes (protocol/crypto, jwt::base64url_decode): any
// text decodes or is refused, never throws; what decodes encodes back to the same length and
// decodes to the same bytes again.
#include "protocol/auth/jwt.hpp"
#include "protocol/core/crypto.hpp"
#include "tests/fuzz/fuzz.hpp"

using namespace switchboard;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view in = fuzz::as_text(data, size);
    fuzz::total([&] {
        if (const auto bytes = crypto::base64_decode(in)) {
            fuzz::check(bytes->size() <= in.size() * 3 / 4, "base64 decodes to at most 3/4 of its length");
            const std::string again
                = crypto::base64_encode(reinterpret_cast<const unsigned char*>(bytes->data()), bytes->size());
            fuzz::check(again.size() == in.size(), "a decoded text re-encodes to the same length");
            fuzz::check(crypto::base64_decode(again) == bytes, "re-encoded bytes decode the same");
        }
        const std::string encoded = crypto::base64_encode(data, size);
        fuzz::check(crypto::base64_decode(encoded) == std::string(in), "base64 round-trips any bytes");

        if (const auto bytes = jwt::base64url_decode(in)) {
            fuzz::check(bytes->size() <= in.size() * 3 / 4, "base64url decodes to at most 3/4 of its length");
        }
        fuzz::check(crypto::hex_lower(data, size).size() == 2 * size, "hex doubles the length");
        const std::string_view half = in.substr(0, size / 2);
        fuzz::check(crypto::constant_time_equal(half, in.substr(size / 2)) == (half == in.substr(size / 2)),
            "constant_time_equal is equality");
        (void)crypto::sha256(in);
        (void)crypto::hmac_sha256(half, in);
        (void)crypto::hmac_sha1(half, in);
    });
    return 0;
}
