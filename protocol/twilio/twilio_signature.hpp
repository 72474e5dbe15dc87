// X-Twilio-Signature: computing and verifying it exactly as Twilio's helper libraries do
// (as twilio-node 6.x getExpectedTwilioSignature / validateRequest compute it).
#pragma once

#include "protocol/core/form.hpp"

#include <boost/system/error_code.hpp>

#include <span>
#include <string>
#include <string_view>

namespace switchboard::twilio_signature {

// base64(HMAC-SHA1(token, url + sorted, de-duplicated name+value pairs)).
std::string compute(std::string_view auth_token, std::string_view url, const form_params& params);

// The bytes that are signed after the URL: names sorted by UTF-16 code unit, each repeated
// name's distinct values sorted, each pair as name+value.
std::string params_suffix(const form_params& params);

// Does `signature` match any URL form twilio-node accepts, for any of `tokens`?
bool matches(
    std::span<const std::string> tokens, std::string_view signature, std::string_view url, const form_params& params);

// What arrived, as the webhook endpoint saw it.
struct webhook_request {
    std::string_view url; // public URL: base + raw request target (query byte for byte)
    std::string_view signature; // X-Twilio-Signature; empty when absent
    std::string_view content_type; // Content-Type header
    std::string_view body; // raw body bytes
    bool has_body_params = false; // POST: the form body's params are signed
};

// Verifies a webhook. On success returns the request's parameters (the form body, or the query
// for a GET) so the handler does not parse twice. Errors: signature_missing,
// signature_mismatch, body_hash_mismatch.
struct verdict {
    boost::system::error_code ec;
    form_params params;
};
verdict verify(std::span<const std::string> tokens, const webhook_request& request);

} // namespace switchboard::twilio_signature
