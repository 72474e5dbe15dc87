// Every setting, once: its name, default and meaning. --help prints this table; the loader
// (config.cpp) refuses names it lacks; tests check that the README's table, the example files
// and the loader's own defaults agree with it.
#include "service/app/config.hpp"

namespace switchboard {

// Twilio waits 5 s for a status callback's answer and tries twice more on a timeout, a refused
// connection or a 5xx (a replica that is slow or whose store is away): events are de-duplicated,
// so a retry of one that was stored costs nothing.
const char* const default_status_callback_overrides = "rt=5000&rc=2&rp=ct,rt,5xx";

namespace {

const std::vector<setting_doc> all_settings = {
    {"SWITCHBOARD_LISTEN", "0.0.0.0:8080",
        "Webhook listener, host:port (port 0 picks a free port; the bound address is logged)."},
    {"SWITCHBOARD_ADMIN_LISTEN", "0.0.0.0:9090", "Admin listener for /metrics, /healthz, /readyz, host:port."},
    {"SWITCHBOARD_PUBLIC_URL", "",
        "Public base URL Twilio calls, e.g. https://jobmatch.zip; signatures are checked against it plus the raw "
        "request target. Empty: derived from the Host header (and X-Forwarded-* from trusted proxies), so a request "
        "signed for another deployment on the same Twilio account verifies too (a warning at start-up)."},
    {"TWILIO_AUTH_TOKEN", "", "Primary Twilio auth token (secret). Required unless --dev."},
    {"TWILIO_AUTH_TOKEN_FILE", "", "File holding the primary auth token (instead of TWILIO_AUTH_TOKEN)."},
    {"TWILIO_AUTH_TOKEN_SECONDARY", "", "Secondary auth token accepted during rotation (secret)."},
    {"TWILIO_AUTH_TOKEN_SECONDARY_FILE", "", "File holding the secondary auth token."},
    {"SWITCHBOARD_TLS_CERT", "",
        "PEM certificate chain; with SWITCHBOARD_TLS_KEY the webhook listener speaks TLS 1.2+ only. Re-read on "
        "SIGHUP."},
    {"SWITCHBOARD_TLS_KEY", "", "PEM private key for SWITCHBOARD_TLS_CERT (secret, re-read on SIGHUP)."},
    {"SWITCHBOARD_TRUSTED_PROXIES", "",
        "Comma-separated addresses/CIDRs whose X-Forwarded-For/-Proto/-Host are honoured."},
    {"SWITCHBOARD_THREADS", "0", "I/O threads; 0 means one per core."},
    {"SWITCHBOARD_RATE_LIMIT_PER_MINUTE", "60",
        "Requests per minute per client IP (IPv6: per /64) on the public routes; 0 disables. Validly signed Twilio "
        "requests are never throttled."},
    {"SWITCHBOARD_DATA_DIR", "./data", "Directory for the embedded store; created if missing."},
    {"SWITCHBOARD_STORE", "sqlite",
        "Event store: sqlite (embedded, in SWITCHBOARD_DATA_DIR, one replica) or "
        "redis://[[user]:password@]host[:port][/db] "
        "(shared by every replica: queue, call log, rate limit). Plain TCP only: see the README on Redis TLS."},
    {"SWITCHBOARD_REDIS_PASSWORD", "",
        "Redis password (secret; with the URL's user name, an ACL user), instead of one in SWITCHBOARD_STORE."},
    {"SWITCHBOARD_REDIS_PASSWORD_FILE", "", "File holding SWITCHBOARD_REDIS_PASSWORD."},
    {"SWITCHBOARD_REDIS_KEY_PREFIX",
        "switchboard:", "Prefix of every Redis key: deployments sharing one Redis need different prefixes."},
    {"SWITCHBOARD_STORE_PROBE_SECONDS", "15",
        "How often the store is probed with a write and measured for the capacity gauges "
        "(switchboard_store_writable, _size_bytes, _free_bytes, _rows)."},
    {"SWITCHBOARD_RETENTION_DELIVERED_DAYS", "30",
        "Days an event is kept after it occurred once every delivery of it is made (and a delivered row after "
        "the delivery); decimals allowed, 0 keeps them forever. Pending and in-flight deliveries are never removed."},
    {"SWITCHBOARD_RETENTION_DEAD_DAYS", "30",
        "Days a dead letter is kept after its last attempt, for replay; 0 keeps them forever."},
    {"SWITCHBOARD_RETENTION_LOG_DAYS", "400",
        "Days a call (from its start) and a message (from its creation) stay in the call log; 0 keeps them forever. "
        "/api/phone/stats counts since the store began either way."},
    {"SWITCHBOARD_RETENTION_INTERVAL_SECONDS", "60",
        "How often retention runs: passes of at most 500 records of each kind until nothing older is left."},
    {"SWITCHBOARD_SPILL_EVENTS", "10000",
        "Caller-facing events (menu choice, voicemail, assistant end) kept in memory while the store refuses "
        "writes, so callers still hear the menu; stored when it takes writes again. 0: those routes answer 503 too."},
    {"SWITCHBOARD_REDIS_RECLAIM_SECONDS", "60",
        "A delivery another replica took and has not finished after this long is taken over (the replica died). "
        "Must exceed every subscriber's timeout_seconds."},
    {"SWITCHBOARD_REDIS_TIMEOUT_SECONDS", "5",
        "Connect and reply deadline for Redis; past it the connection is dropped and re-made."},
    {"SWITCHBOARD_REPLICA_NAME", "",
        "This replica's name in the delivery consumer group; empty: the host name (the pod name) and the process id."},
    {"SWITCHBOARD_HEADER_LIMIT_BYTES", "8192", "Largest request header block; larger gets 431."},
    {"SWITCHBOARD_BODY_LIMIT_BYTES", "65536", "Largest request body; larger gets 413."},
    {"SWITCHBOARD_HANDSHAKE_TIMEOUT_SECONDS", "10", "TLS handshake deadline."},
    {"SWITCHBOARD_READ_TIMEOUT_SECONDS", "10", "Deadline to receive a whole request once its first byte arrived."},
    {"SWITCHBOARD_WRITE_TIMEOUT_SECONDS", "10", "Deadline to send a response."},
    {"SWITCHBOARD_IDLE_TIMEOUT_SECONDS", "60", "Keep-alive idle time before a connection is closed."},
    {"SWITCHBOARD_FIRST_BYTE_TIMEOUT_SECONDS", "10",
        "How long a new connection may stay silent before its first request; the idle timeout applies between "
        "requests."},
    {"SWITCHBOARD_MAX_CONNECTIONS", "0",
        "Most open connections on the webhook listener; more are closed at once. 0: derived from the open-file "
        "limit (raised to its hard limit at start-up) less a reserve for the store, outbound clients and the admin "
        "listener, at most 32768."},
    {"SWITCHBOARD_MAX_CONNECTIONS_PER_CLIENT", "64",
        "Most connections per client address (IPv6: per /64) that have not yet sent a validly signed request or a "
        "valid token; a new one closes that client's longest-silent one, or is refused. Trusted proxies are exempt. "
        "0: no cap."},
    {"SWITCHBOARD_ADMIN_TOKEN", "",
        "Bearer token (at least 32 characters, secret) for the admin API under /admin/; empty: /admin/ answers 403. "
        "/metrics, /healthz and /readyz stay open."},
    {"SWITCHBOARD_ADMIN_TOKEN_FILE", "", "File holding SWITCHBOARD_ADMIN_TOKEN (e.g. a mounted Secret)."},
    {"SWITCHBOARD_ADMIN_HOSTS", "",
        "Comma-separated host names /admin/ accepts in the Host header besides IP addresses and localhost (a DNS "
        "rebinding defence)."},
    {"SWITCHBOARD_IVR_SMS_PER_DESTINATION_PER_HOUR", "5",
        "Most follow-up SMS the IVR sends to one number per hour (replays and SMS pumping); 0: no cap."},
    {"SWITCHBOARD_DRAIN_TIMEOUT_SECONDS", "20",
        "On SIGTERM/SIGINT, how long in-flight requests may take before they are cut."},
    {"SWITCHBOARD_LOG_LEVEL", "info", "debug, info, warn or error."},
    {"SWITCHBOARD_MENU_FILE", "",
        "IVR menu definition (JSON, see deploy/menus/README.md); empty: the built-in JobMatch line. Re-read on SIGHUP: "
        "an "
        "invalid file is refused and the previous menu stays live."},
    {"SWITCHBOARD_ASSISTANT_URL", "",
        "wss:// URL of the voice AI assistant that menu assistant actions without their own url hand calls to "
        "(ConversationRelay or Media Streams); empty: those actions run their unavailable action."},
    {"SWITCHBOARD_MENU_WATCH_SECONDS", "0",
        "Also reload SWITCHBOARD_MENU_FILE when it changes, checking this often; 0: only on SIGHUP."},
    {"SWITCHBOARD_SUBSCRIBERS", "[]",
        "Event subscribers, a JSON array of {name, url, secret, events, timeout_seconds, concurrency, max_attempts, "
        "max_age_seconds, initial_delay_seconds, max_delay_seconds, ca_file} (see the README); each secret at least 24 "
        "bytes of key, an http:// url other than loopback warned about at start-up. Secrets inside: prefer "
        "SWITCHBOARD_SUBSCRIBERS_FILE."},
    {"SWITCHBOARD_SUBSCRIBERS_FILE", "",
        "File holding the SWITCHBOARD_SUBSCRIBERS JSON array (e.g. a mounted Secret)."},
    {"TWILIO_ACCOUNT_SID", "",
        "Account SID (AC…) for the phone API's Twilio REST calls; empty disables the endpoints that call Twilio."},
    {"TWILIO_API_KEY_SID", "", "API key SID (SK…) to authenticate REST calls instead of the auth token."},
    {"TWILIO_API_KEY_SECRET", "", "Secret of TWILIO_API_KEY_SID (secret)."},
    {"TWILIO_API_KEY_SECRET_FILE", "", "File holding TWILIO_API_KEY_SECRET."},
    {"TWILIO_API_BASE_URL", "https://api.twilio.com", "Twilio REST API base URL (override for tests)."},
    {"TWILIO_API_CA_FILE", "", "Extra trusted CA bundle (PEM) for TWILIO_API_BASE_URL; the system store otherwise."},
    {"SWITCHBOARD_TWILIO_TIMEOUT_SECONDS", "15", "Deadline of one Twilio REST request, retries included."},
    {"SWITCHBOARD_TWILIO_MAX_PAGES", "10", "Most pages followed through next_page_uri in one listing."},
    {"SWITCHBOARD_TWILIO_PHONE_NUMBER", "",
        "E.164 number calls and SMS are sent from (alias: SAMSAEK_TWILIO_PHONE_NUMBER)."},
    {"SAMSAEK_TWILIO_PHONE_NUMBER", "", "Alias of SWITCHBOARD_TWILIO_PHONE_NUMBER (the Samsaek seed's name)."},
    {"SWITCHBOARD_TWILIO_WEBHOOK_URL", "",
        "https base of a bought number's webhooks ({base}/call, /sms, /status); empty: "
        "SWITCHBOARD_PUBLIC_URL/api/phone/webhook (alias: SAMSAEK_TWILIO_WEBHOOK_URL)."},
    {"SAMSAEK_TWILIO_WEBHOOK_URL", "", "Alias of SWITCHBOARD_TWILIO_WEBHOOK_URL (the Samsaek seed's name)."},
    {"SWITCHBOARD_TWILIO_VOICE_FALLBACK_URL", "",
        "VoiceFallbackUrl of a bought number; empty: SWITCHBOARD_PUBLIC_URL/api/voice/incoming; none: no fallback."},
    {"SWITCHBOARD_TWILIO_SMS_FALLBACK_URL", "",
        "SmsFallbackUrl of a bought number; empty: SWITCHBOARD_PUBLIC_URL/api/sms/incoming; none: no fallback."},
    {"SWITCHBOARD_TWILIO_WEBHOOK_OVERRIDES", "",
        "Twilio connection overrides (ct=, rt=, tt=, rc=, rp=, e=, sni= joined by &) appended as #fragment to the "
        "voice, SMS and fallback URLs of numbers bought or updated; empty: Twilio's defaults."},
    {"SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES", default_status_callback_overrides,
        "Connection overrides appended to every status callback URL handed to Twilio (calls, SMS, numbers); none: "
        "Twilio's defaults."},
    {"SWITCHBOARD_JWT_SECRET", "", "HS256 shared secret (at least 32 bytes) for the phone API's bearer tokens."},
    {"SWITCHBOARD_JWT_SECRET_FILE", "", "File holding SWITCHBOARD_JWT_SECRET."},
    {"SWITCHBOARD_JWT_JWKS_FILE", "", "JWKS file with RS256 (RSA) and ES256 (EC P-256) public keys for bearer tokens."},
    {"SWITCHBOARD_JWT_ISSUER", "", "Required iss claim; empty: not checked."},
    {"SWITCHBOARD_JWT_AUDIENCE", "",
        "Required aud claim; empty: not checked (required with SWITCHBOARD_JWT_JWKS_FILE)."},
    {"SWITCHBOARD_JWT_LEEWAY_SECONDS", "30", "Clock skew allowed on exp and nbf."},
    {"SWITCHBOARD_JWT_MAX_LIFETIME_SECONDS", "86400",
        "Longest accepted token lifetime (exp - iat, and exp - now), plus the leeway; 0: no cap."},
    {"SWITCHBOARD_IDEMPOTENCY_TTL_SECONDS", "86400",
        "How long the answer to a create sent with an Idempotency-Key (call, SMS, number purchase) is replayed to a "
        "repeat with the same key; 60 to 2592000."},
    {"SWITCHBOARD_CALL_VOICE", "Polly.Joanna", "Default <Say> voice of API-placed calls."},
    {"SWITCHBOARD_CALL_LANGUAGE", "en-US", "Default <Say> language of API-placed calls."},
    {"SWITCHBOARD_PRICE_VOICE_MINUTE", "0.0085", "Price per voice minute for /api/phone/stats estimates."},
    {"SWITCHBOARD_PRICE_SMS", "0.0075", "Price per SMS segment sent for /api/phone/stats estimates."},
    {"SWITCHBOARD_PRICE_NUMBER_MONTH", "1.00", "Price per phone number per month for /api/phone/stats estimates."},
    {"SWITCHBOARD_PRICE_CURRENCY", "USD", "Currency of the prices above."},
    {"SWITCHBOARD_PHONE_GREETING", "",
        "What /api/phone/webhook/call says before hanging up; empty: the IVR menu answers."},
    {"SWITCHBOARD_SMS_AUTO_REPLY", "", "Reply sent to every incoming SMS on /api/phone/webhook/sms; empty: none."},
};

} // namespace

const std::vector<setting_doc>& settings()
{
    return all_settings;
}

} // namespace switchboard
