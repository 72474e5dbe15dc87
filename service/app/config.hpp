// Typed configuration: defaults in code, then the environment, then an optional JSON file
// (--config) on top; every value validated at startup with one message per bad key.
#pragma once

#include "protocol/auth/forwarded.hpp"
#include "protocol/core/redis_url.hpp"
#include "protocol/events/delivery_policy.hpp"
#include "protocol/events/retention.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace boost::json {
class value;
}

namespace switchboard {

struct endpoint_config {
    std::string host = "0.0.0.0";
    std::uint16_t port = 0;

    bool operator==(const endpoint_config&) const = default; // (tests: the loader's defaults)
};

// One outbound webhook subscriber (SWITCHBOARD_SUBSCRIBERS).
struct subscriber_config {
    std::string name; // [a-z0-9_-], unique: the metric label and admin path segment
    std::string url; // as configured
    bool https = false;
    std::string host; // for DNS, SNI and certificate verification
    std::string port; // explicit or the scheme's default
    std::string target; // path and query sent in the request line
    std::string secret; // "whsec_<base64>"
    // A rotation: the secrets this one replaces, each signing deliveries too until it expires.
    struct previous_secret {
        std::string secret; // "whsec_<base64>"
        std::int64_t expires_at_ms = 0;
        bool operator==(const previous_secret&) const = default;
    };
    std::vector<previous_secret> previous_secrets;
    std::vector<std::string> events{"*"};
    std::chrono::milliseconds timeout{10'000}; // connect + send + response, per attempt
    unsigned concurrency = 8; // deliveries in flight (and connections) at most
    // Deliveries started per second at most (a burst of one second's worth), shared by every
    // replica on Redis; 0: no limit beyond concurrency.
    double rate_per_second = 0;
    // "ordering": "per_call": the events of one call (or message) are delivered one at a time, in
    // the order they were stored, the next once the previous is delivered or dead-lettered.
    bool per_call_ordering = false;
    // Every attempt failed for this long (and none succeeded since): the subscriber is disabled
    // (its events keep queueing) until it is resumed. 0: never.
    std::chrono::seconds disable_after{5 * 86400};
    delivery::retry_policy retry;
    std::string ca_file; // extra trusted CA bundle (PEM) for https; the system store otherwise
    // Sent with every delivery, in this order (subscriber_rules::header_problem says which may).
    std::vector<std::pair<std::string, std::string>> headers;
    // Mutual TLS: the certificate chain (PEM) and its key that authenticate Switchboard to an
    // https subscriber; both or neither.
    std::string client_cert_file;
    std::string client_key_file;

    bool operator==(const subscriber_config&) const = default; // (tests: the loader's defaults)
};

// The operator phone API (/api/phone): Twilio REST credentials, bearer-token keys, prices.
struct phone_config {
    std::string account_sid; // TWILIO_ACCOUNT_SID
    std::string api_key_sid; // TWILIO_API_KEY_SID (SK…): used instead of the auth token when set
    std::string api_key_secret;
    std::string phone_number; // SWITCHBOARD_TWILIO_PHONE_NUMBER (or SAMSAEK_TWILIO_PHONE_NUMBER)
    // Base of a bought number's webhooks: SWITCHBOARD_TWILIO_WEBHOOK_URL (or SAMSAEK_…); empty:
    // SWITCHBOARD_PUBLIC_URL/api/phone/webhook.
    std::string webhook_base;
    // A bought number's fallbacks (SWITCHBOARD_TWILIO_VOICE_FALLBACK_URL, _SMS_FALLBACK_URL):
    // empty: SWITCHBOARD_PUBLIC_URL + /api/voice/incoming and /api/sms/incoming; "none": none.
    std::string voice_fallback;
    std::string sms_fallback;
    // Twilio connection overrides (canonical, without '#'; empty: none) for the voice, SMS and
    // fallback URLs of a number (SWITCHBOARD_TWILIO_WEBHOOK_OVERRIDES) and for every status
    // callback (SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES).
    std::string webhook_overrides;
    std::string status_overrides;
    // The StatusCallback of the calls and SMS this service places: SWITCHBOARD_PUBLIC_URL +
    // /api/phone/webhook/status + the status overrides; empty without a public URL.
    std::string status_callback;
    bool development = false; // --dev: http://localhost webhook URLs are accepted
    std::string api_base_url = "https://api.twilio.com";
    std::string api_ca_file;
    std::chrono::milliseconds api_timeout{15'000};
    unsigned max_pages = 10;
    std::string jwt_secret;
    std::string jwt_jwks_file;
    std::string jwt_issuer;
    std::string jwt_audience;
    std::chrono::seconds jwt_leeway{30};
    std::chrono::seconds jwt_max_lifetime{86400};
    std::chrono::seconds idempotency_ttl{86400}; // an Idempotency-Key's answer is replayed this long
    std::string default_voice = "Polly.Joanna";
    std::string default_language = "en-US";
    double price_voice_minute = 0.0085;
    double price_sms = 0.0075;
    double price_number_month = 1.0;
    std::string currency = "USD";
    std::string greeting; // /api/phone/webhook/call says this and hangs up; empty: the IVR
    std::string sms_auto_reply; // /api/phone/webhook/sms answers with this message; empty: none

    bool twilio_configured() const noexcept { return !account_sid.empty(); }

    bool operator==(const phone_config&) const = default; // (tests: the loader's defaults)
};

// Where events, deliveries, the call log and rate-limit budgets live (SWITCHBOARD_STORE).
struct store_config {
    bool redis = false; // false: the embedded SQLite store in data_dir
    redis_endpoint endpoint; // redis: where, and how to authenticate
    std::string key_prefix = "switchboard:";
    std::chrono::milliseconds reclaim_idle{60'000};
    std::chrono::milliseconds timeout{5'000};
    std::string replica_name; // the delivery consumer's name
    std::chrono::milliseconds probe_interval{15'000}; // the capacity gauges' write probe
    retention::policy retention; // protocol/events/retention.hpp
    std::chrono::milliseconds retention_interval{60'000};
    std::size_t spill_events = 10'000; // caller-facing events kept in memory while the store refuses

    bool operator==(const store_config&) const = default; // (tests: the loader's defaults)
};

struct config {
    endpoint_config listen{"0.0.0.0", 8080};
    endpoint_config admin_listen{"0.0.0.0", 9090};
    std::string public_url; // e.g. https://jobmatch.zip (no trailing slash)
    std::vector<std::string> auth_tokens; // primary first, then the optional secondary
    bool auth_token_generated = false; // --dev without a token: a random one was made
    std::string tls_cert_file;
    std::string tls_key_file;
    std::string trusted_proxies_text;
    std::vector<forwarded::network> trusted_proxies;
    unsigned threads = 0; // 0: one per core
    unsigned rate_limit_per_minute = 60; // 0 disables the limit
    std::string data_dir = "./data";
    store_config store;
    std::size_t header_limit = 8 * 1024;
    std::size_t body_limit = 64 * 1024;
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds read_timeout{10'000};
    std::chrono::milliseconds write_timeout{10'000};
    std::chrono::milliseconds idle_timeout{60'000};
    std::chrono::milliseconds first_byte_timeout{10'000}; // a new connection's first request
    std::size_t max_connections = 0; // public listener; 0: derived from the descriptor limit
    std::size_t max_connections_per_client = 64; // not yet authenticated, per client address; 0: no cap
    std::string admin_token; // bearer token for /admin/ (secret); empty: /admin/ answers 403
    std::vector<std::string> admin_hosts; // Host names /admin/ accepts besides IP literals and localhost
    unsigned ivr_sms_per_destination_per_hour = 5; // IVR follow-up SMS budget per number; 0: no cap
    std::chrono::milliseconds drain_timeout{20'000};
    std::string log_level = "info";
    std::string menu_file; // empty: the built-in JobMatch menu
    std::string assistant_url; // SWITCHBOARD_ASSISTANT_URL: wss:// URL of the voice AI assistant menus hand calls to
    std::chrono::seconds menu_watch{0}; // 0: reload on SIGHUP only
    std::vector<subscriber_config> subscribers;
    phone_config phone;

    bool tls_enabled() const noexcept { return !tls_cert_file.empty(); }

    bool operator==(const config&) const = default; // (tests: the loader's defaults)
};

// One documented setting, for --help, the README and validation of unknown keys.
struct setting_doc {
    const char* name;
    const char* default_value;
    const char* description;
};
const std::vector<setting_doc>& settings();

// The default of SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES (protocol/twilio/connection_overrides.hpp).
extern const char* const default_status_callback_overrides;

// SWITCHBOARD_SUBSCRIBERS' JSON array; each problem is appended to `errors`, naming the field.
std::vector<subscriber_config> parse_subscribers(const std::string& json, std::vector<std::string>& errors);
// One subscriber object, as SWITCHBOARD_SUBSCRIBERS and the subscriber API take it; each problem
// is appended to `errors` as "<where> (<name>): <field> ...".
std::optional<subscriber_config> parse_subscriber(
    const boost::json::value& v, const std::string& where, std::vector<std::string>& errors);

using env_lookup = std::function<std::optional<std::string>(const std::string&)>;

struct load_options {
    std::string config_file; // --config; empty: none
    bool dev = false; // --dev: generate an auth token when none is configured
    std::vector<std::string> env_names; // every variable name in the environment (unknown-key check)
};

// A valid setting that weakens security; logged at warn level at start-up.
struct config_warning {
    std::string message;
    std::vector<std::pair<std::string, std::string>> fields; // e.g. {"subscriber", "crm"}
};

struct load_result {
    config cfg;
    std::vector<std::string> errors; // empty: cfg is valid
    std::vector<config_warning> warnings;
};

load_result load_config(const env_lookup& env, const load_options& opts);

// The process environment, as an env_lookup and as a list of names.
env_lookup process_env();
std::vector<std::string> process_env_names();

} // namespace switchboard
