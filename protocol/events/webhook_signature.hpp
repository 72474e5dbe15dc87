// Outbound webhook signatures, Standard Webhooks convention (https://www.standardwebhooks.com):
// webhook-id, webhook-timestamp, webhook-signature: "v1,<base64 HMAC-SHA256(key, id.ts.body)>",
// the key given as "whsec_<base64>".
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace switchboard::webhook_signature {

// The shortest key accepted: Standard Webhooks asks for 24 to 64 bytes of random key; a shorter
// one can be guessed offline from any one signed delivery.
inline constexpr std::size_t min_key_bytes = 24;

// The raw key of a "whsec_<base64>" secret (the prefix is optional, as in the reference
// libraries). Error: invalid_config for bad base64 or a key shorter than min_key_bytes;
// `problem` (when given) then says which, without the secret.
boost::system::result<std::string> parse_secret(std::string_view secret, std::string* problem = nullptr);

// "v1,<base64>" for the message; `key` is the raw key from parse_secret.
std::string sign(std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body);
// One "v1,<base64>" per key, space-separated, in the order given: during a secret rotation a
// delivery carries a signature with the new key and one with each old key not yet expired, and
// a receiver that knows either verifies it (the Standard Webhooks header allows several).
std::string sign(std::span<const std::string> keys, std::string_view id, std::int64_t timestamp, std::string_view body);

// Does any space-separated "v1,…" entry of `header` match? (Timestamp tolerance is the
// receiver's policy and is checked by the caller, with its own clock.)
bool verify(
    std::string_view key, std::string_view id, std::int64_t timestamp, std::string_view body, std::string_view header);

// A fresh "whsec_" secret from 32 random bytes, for operators configuring a subscriber.
std::string generate_secret(std::string_view random_bytes);

} // namespace switchboard::webhook_signature
