// JSON Web Token checks that need no key: the header's alg/kid (to choose a key before the
// signature is verified by the JWT library) and the registered claims (exp, nbf, iss, aud),
// then the operator's permissions.
#pragma once

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::jwt {

// The unverified header: used only to pick the verification key. Nothing in it is trusted.
struct header_info {
    std::string alg;
    std::string kid; // empty when absent
};
// nullopt: not three base64url segments, or a header that is not a JSON object with a string alg.
std::optional<header_info> peek_header(std::string_view token);

struct claim_policy {
    std::string issuer; // required "iss" when not empty
    std::string audience; // must be "aud" (or one of it) when not empty
    std::chrono::seconds leeway{30}; // clock skew allowed on exp and nbf
    // The longest a token may live (exp - iat, and exp - now), plus the leeway; 0: no cap.
    // A token valid for years is a leaked credential waiting to happen.
    std::chrono::seconds max_lifetime{0};
};

// Who called, once the token is verified.
struct principal {
    std::string subject; // "sub", for logs
    std::vector<std::string> permissions; // "permissions" array, else the space-separated "scope"
};

// Why a verified token is still refused (for logs and metrics; the client sees only 401).
enum class claim_failure {
    none,
    malformed,
    missing_exp,
    expired,
    not_yet_valid,
    too_long_lived,
    wrong_issuer,
    wrong_audience,
};
std::string_view to_string(claim_failure f) noexcept;

struct claim_verdict {
    claim_failure failure = claim_failure::none;
    principal who;
};

// Checks the claims (the verified payload JSON) at `now` (Unix seconds): exp required, nbf
// optional, exp - iat (when iat is present) and exp - now within max_lifetime; iss and aud as
// configured.
claim_verdict check_claims(std::string_view claims_json, const claim_policy& policy, std::int64_t now);

// "phone:admin" implies every other "phone:" permission.
bool allows(const principal& who, std::string_view permission) noexcept;

// base64url without padding (RFC 7515 §2); nullopt on characters outside the alphabet.
std::optional<std::string> base64url_decode(std::string_view in);

} // namespace switchboard::jwt
