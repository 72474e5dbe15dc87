// Idempotency-Key for the operator API's creates (placing a call, sending an SMS, buying a
// number), after the IETF httpapi draft "The Idempotency-Key HTTP Header Field": a client that
// repeats a create with the same key and the same request gets the first answer again instead
// of a second call; the same key with another request is refused (422), and a repeat while the
// first is still running is refused (409). The rules live here; the stores keep the records.
#pragma once

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace switchboard::idempotency {

// The header's value: a Structured Field string ("…", as the draft writes it) or a bare token
// (as most clients send it), 1..255 visible ASCII characters. Error: invalid_parameter, the
// reason in `problem`.
boost::system::result<std::string> parse_key(std::string_view header, std::string* problem);

// Where a key is kept: per authenticated subject, so two operators never share a key. One key
// serves one request: used on another route it is refused like one with another body (the
// fingerprint covers the target). Length-prefixed, so no choice of names can collide.
std::string scope(std::string_view subject, std::string_view key);

// The request a key was first used for: SHA-256 (hex) over the method, the target and the
// body bytes.
std::string fingerprint(std::string_view method, std::string_view target, std::string_view body);

// A key's record. While the first request runs, `status` is 0 and `lease_until_ms` bounds how
// long it may run (a replica that died mid-request frees the key after the lease); then it
// holds the answer until `expires_at_ms`.
struct record {
    std::string fingerprint;
    std::int64_t expires_at_ms = 0;
    std::int64_t lease_until_ms = 0;
    int status = 0;
    std::string body; // the answer's JSON body
};

struct policy {
    std::int64_t ttl_ms = 24 * 3600 * 1000; // how long an answer is replayed
    std::int64_t lease_ms = 5 * 60 * 1000; // how long a request may stay in flight
};

enum class verdict {
    proceed, // run the request; `write` holds the in-flight record to store first
    in_flight, // 409: the first request is still running
    mismatch, // 422: the key belongs to another request
    replay, // answer `existing`'s status and body again
};
struct decision {
    verdict what = verdict::proceed;
    std::optional<record> write; // proceed: store this (atomically with the read)
    record existing; // replay: the stored answer
};

// What a request with this key does, given the key's stored record (nullopt: none). A record
// past its expiry, or in flight past its lease, counts as none.
decision begin(
    const std::optional<record>& existing, std::string_view fingerprint, std::int64_t now_ms, const policy& p);

// Whether an answer is kept for replay. Not a 429 (Twilio or our budget refused: nothing was
// done) nor a 503 (not configured, store away: nothing was done); a retry may then succeed with
// the same key. Everything else is kept, errors included: a Twilio timeout (504) may still have
// placed the call, so its retry must not place another.
bool keeps(int status) noexcept;

// The finished record: the in-flight one with the answer, or nullopt when the answer is not
// kept (the key is freed).
std::optional<record> finish(const record& in_flight, int status, std::string body);

// Records as the Redis store keeps them: JSON {"f", "e", "l", "s", "b"}. decode: nullopt for
// text that is not such a record (treated as no record).
std::string encode(const record& r);
std::optional<record> decode(std::string_view text);

} // namespace switchboard::idempotency
