// The one error enumeration of Switchboard, with its error category.
// Pure: service/ maps each value to an HTTP status in one place (service/http/http_error.hpp).
#pragma once

#include <boost/system/error_code.hpp>

#include <iosfwd>
#include <type_traits>

namespace switchboard {

enum class error {
    ok = 0,
    // Input from the network (client's mistake).
    malformed_form, // body is not application/x-www-form-urlencoded
    missing_parameter, // a required webhook parameter is absent
    invalid_parameter, // a parameter has an unusable value
    invalid_url, // a URL that cannot be parsed
    signature_missing, // no X-Twilio-Signature header
    signature_mismatch, // no candidate URL produced the signature
    body_hash_mismatch, // bodySHA256 in the URL does not match the body
    rate_limited,
    malformed_json, // a JSON body that does not parse or is not an object
    unauthorized, // no bearer token, or one that does not verify
    forbidden, // a valid token without the permission the route needs
    // Configuration (operator's mistake, reported at startup).
    invalid_config,
    // The service's own condition.
    store_unavailable, // the event store could not commit (disk full, I/O error, closed)
    not_found, // no such record (admin and API lookups)
    conflict, // the resource is not in a state that allows the request (a call already ended)
    not_configured, // a feature whose settings are absent (the phone API without keys)
    idempotency_key_in_use, // an earlier request with this Idempotency-Key is still running
    idempotency_key_reused, // this Idempotency-Key was used for another request
    // Twilio's REST API.
    upstream_rejected, // Twilio refused the request as invalid (its 4xx): the caller's input
    upstream_failed, // Twilio answered 5xx, refused our credentials, or could not be reached
    upstream_timeout, // no answer from Twilio before the deadline
};

const boost::system::error_category& error_category() noexcept;

std::ostream& operator<<(std::ostream& out, error e);

inline boost::system::error_code make_error_code(error e) noexcept
{
    return {static_cast<int>(e), error_category()};
}

} // namespace switchboard

template <> struct boost::system::is_error_code_enum<switchboard::error> : std::true_type {
};
