// Bearer tokens for the operator API: signature verification by libjwt against the configured
// keys (an HS256 shared secret and/or RS256/ES256 public keys from a JWKS file), then the
// claim and permission checks of protocol/auth/jwt.hpp.
#pragma once

#include "protocol/auth/jwt.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard {

struct jwt_settings {
    std::string secret; // HS256 shared secret (at least 32 bytes); empty: none
    std::string jwks_file; // JWKS with RSA (RS256) and EC P-256 (ES256) public keys; empty: none
    jwt::claim_policy policy;
};

class jwt_verifier {
public:
    // Loads and converts the keys. Throws std::runtime_error naming the file and key on
    // unusable key material, so a bad configuration stops startup.
    explicit jwt_verifier(const jwt_settings& settings);

    bool configured() const noexcept { return !keys_.empty(); }
    std::size_t key_count() const noexcept { return keys_.size(); }

    struct verdict {
        bool ok = false;
        std::string_view reason; // why it was refused: a bounded label for logs and metrics
        jwt::principal who;
    };
    // `token` is the compact serialization after "Bearer ". `now` in Unix seconds.
    verdict verify(std::string_view token, std::int64_t now) const;

private:
    struct key {
        std::string kid; // empty for the shared secret
        std::string alg; // "HS256", "RS256", "ES256", ...
        std::string material; // the secret bytes, or the public key as PEM
    };
    std::vector<key> keys_;
    jwt::claim_policy policy_;
};

} // namespace switchboard
