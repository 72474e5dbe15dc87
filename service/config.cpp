// Configuration loading and validation.
#include "service/config.hpp"

#include "protocol/call_event.hpp"
#include "protocol/connection_overrides.hpp"
#include "protocol/crypto.hpp"
#include "protocol/ivr_menu.hpp"
#include "protocol/phone.hpp"
#include "protocol/phone_api.hpp"
#include "protocol/text.hpp"
#include "protocol/webhook_signature.hpp"
#include "protocol/webhook_url.hpp"
#include "service/http_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>
#include <unistd.h>

extern char** environ;

namespace switchboard {
namespace {

// Twilio waits 5 s for a status callback's answer and tries twice more on a timeout, a refused
// connection or a 5xx (a replica that is slow or whose store is away): events are de-duplicated,
// so a retry of one that was stored costs nothing.
constexpr const char* default_status_overrides = "rt=5000&rc=2&rp=ct,rt,5xx";

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
    {"SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES", default_status_overrides,
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

class loader {
public:
    loader(std::map<std::string, std::string> values, std::vector<std::string>& errors)
        : values_(std::move(values)), errors_(errors)
    {
    }

    const std::string* raw(const std::string& name) const
    {
        const auto it = values_.find(name);
        return it == values_.end() ? nullptr : &it->second;
    }

    std::string text(const std::string& name, const std::string& fallback) const
    {
        const std::string* v = raw(name);
        return v != nullptr ? *v : fallback;
    }

    void fail(const std::string& name, const std::string& why) { errors_.push_back(name + ": " + why); }

    template <class Int> Int integer(const std::string& name, Int fallback, Int min, Int max)
    {
        const std::string* v = raw(name);
        if (v == nullptr || v->empty()) {
            return fallback;
        }
        Int n{};
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
        if (ec != std::errc{} || end != v->data() + v->size() || n < min || n > max) {
            fail(name,
                "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", got '" + *v
                    + "'");
            return fallback;
        }
        return n;
    }

    std::chrono::milliseconds seconds(const std::string& name, std::chrono::milliseconds fallback)
    {
        const std::string* v = raw(name);
        if (v == nullptr || v->empty()) {
            return fallback;
        }
        double s = 0;
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), s);
        if (ec != std::errc{} || end != v->data() + v->size() || !std::isfinite(s) || s <= 0 || s > 86400) {
            fail(name, "expected seconds greater than 0 and at most 86400 (decimals allowed), got '" + *v + "'");
            return fallback;
        }
        return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(s * 1000)));
    }

    double amount(const std::string& name, double fallback)
    {
        const std::string* v = raw(name);
        if (v == nullptr || v->empty()) {
            return fallback;
        }
        double d = 0;
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
        if (ec != std::errc{} || end != v->data() + v->size() || !std::isfinite(d) || d < 0 || d > 1000) {
            fail(name, "expected a price from 0 to 1000 (decimals allowed), got '" + *v + "'");
            return fallback;
        }
        return d;
    }

    endpoint_config endpoint(const std::string& name, const endpoint_config& fallback)
    {
        const std::string* v = raw(name);
        if (v == nullptr || v->empty()) {
            return fallback;
        }
        const std::size_t colon = v->rfind(':');
        if (colon == std::string::npos) {
            fail(name, "expected host:port (e.g. 0.0.0.0:8080 or [::]:8080), got '" + *v + "'");
            return fallback;
        }
        endpoint_config e;
        e.host = v->substr(0, colon);
        if (e.host.size() >= 2 && e.host.front() == '[' && e.host.back() == ']') {
            e.host = e.host.substr(1, e.host.size() - 2);
        }
        if (e.host.empty()) {
            e.host = "0.0.0.0";
        }
        std::array<std::uint8_t, 16> ignored{};
        if (!forwarded::parse_address(e.host, ignored) && e.host != "localhost") {
            fail(name, "host must be an IP address or localhost, got '" + e.host + "'");
            return fallback;
        }
        const std::string port = v->substr(colon + 1);
        unsigned p = 0;
        const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || p > 65535) {
            fail(name, "port must be 0 to 65535, got '" + port + "'");
            return fallback;
        }
        e.port = static_cast<std::uint16_t>(p);
        return e;
    }

    // A secret from NAME or NAME_FILE (never both); trailing newlines trimmed.
    std::string secret(const std::string& name)
    {
        const std::string* direct = raw(name);
        const std::string* file = raw(name + "_FILE");
        if (direct != nullptr && !direct->empty() && file != nullptr && !file->empty()) {
            fail(name, "set either " + name + " or " + name + "_FILE, not both");
            return {};
        }
        std::string value;
        if (file != nullptr && !file->empty()) {
            std::ifstream in(*file, std::ios::binary);
            if (!in) {
                fail(name + "_FILE", "cannot read '" + *file + "'");
                return {};
            }
            std::ostringstream ss;
            ss << in.rdbuf();
            value = ss.str();
        } else if (direct != nullptr) {
            value = *direct;
        }
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r' || value.back() == ' ')) {
            value.pop_back();
        }
        return value;
    }

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string>& errors_;
};

// Kubernetes injects service-link variables for a Service named "switchboard" (unless the pod
// sets enableServiceLinks: false): SWITCHBOARD_SERVICE_HOST, SWITCHBOARD_SERVICE_PORT[_NAME],
// SWITCHBOARD_PORT, SWITCHBOARD_PORT_8080_TCP[_PROTO|_PORT|_ADDR]. They are not settings
// typed by an operator, so the unknown-setting check leaves them alone.
bool is_kubernetes_service_link(std::string_view name)
{
    constexpr std::string_view prefix = "SWITCHBOARD_";
    name.remove_prefix(prefix.size());
    if (name == "SERVICE_HOST" || name == "SERVICE_PORT" || name == "PORT" || name.rfind("SERVICE_PORT_", 0) == 0) {
        return true;
    }
    if (name.rfind("PORT_", 0) != 0) {
        return false;
    }
    name.remove_prefix(5);
    std::size_t digits = 0;
    while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') {
        ++digits;
    }
    if (digits == 0) {
        return false;
    }
    name.remove_prefix(digits);
    for (const std::string_view proto : {"_TCP", "_UDP", "_SCTP"}) {
        if (name.rfind(proto, 0) == 0) {
            const std::string_view rest = name.substr(proto.size());
            return rest.empty() || rest == "_PROTO" || rest == "_PORT" || rest == "_ADDR";
        }
    }
    return false;
}

bool is_known(const std::string& name)
{
    return std::any_of(all_settings.begin(), all_settings.end(), [&](const setting_doc& s) { return name == s.name; });
}

void read_file_overlay(
    const std::string& path, std::map<std::string, std::string>& values, std::vector<std::string>& errors)
{
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        errors.push_back("--config: cannot read '" + path + "'");
        return;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(ss.str(), ec);
    if (ec || !doc.is_object()) {
        errors.push_back("--config: '" + path + "' is not a JSON object" + (ec ? " (" + ec.message() + ")" : ""));
        return;
    }
    for (const auto& [key, value] : doc.as_object()) {
        const std::string name(key);
        if (!is_known(name)) {
            errors.push_back("--config: unknown key '" + name + "'");
            continue;
        }
        if (value.is_string()) {
            values[name] = std::string(value.as_string());
        } else if (value.is_int64() || value.is_uint64() || value.is_double()
            || (value.is_array() && name == "SWITCHBOARD_SUBSCRIBERS")) {
            values[name] = boost::json::serialize(value);
        } else {
            errors.push_back("--config: " + name + " must be a string or a number"
                + std::string(name == "SWITCHBOARD_SUBSCRIBERS" ? " (or an array)" : ""));
        }
    }
}

// One subscriber object; problems are reported as "SWITCHBOARD_SUBSCRIBERS[i] (name): why".
std::optional<subscriber_config> parse_subscriber(
    const boost::json::value& v, const std::string& where, std::vector<std::string>& errors)
{
    const auto fail = [&](const std::string& why) {
        errors.push_back(where + ": " + why);
        return std::nullopt;
    };
    if (!v.is_object()) {
        return fail("expected an object");
    }
    const auto& o = v.as_object();
    static const std::vector<std::string_view> known = {"name", "url", "secret", "events", "timeout_seconds",
        "concurrency", "max_attempts", "max_age_seconds", "initial_delay_seconds", "max_delay_seconds", "ca_file"};
    for (const auto& [key, value] : o) {
        (void)value;
        if (std::find(known.begin(), known.end(), std::string_view(key)) == known.end()) {
            return fail("unknown key '" + std::string(key) + "'");
        }
    }
    const auto text = [&](std::string_view key) -> std::optional<std::string> {
        const auto* f = o.if_contains(key);
        if (f == nullptr) {
            return std::string();
        }
        if (!f->is_string()) {
            errors.push_back(where + ": " + std::string(key) + " must be a string");
            return std::nullopt;
        }
        return std::string(f->as_string());
    };
    const auto seconds = [&](std::string_view key, std::chrono::milliseconds fallback,
                             double max) -> std::optional<std::chrono::milliseconds> {
        const auto* f = o.if_contains(key);
        if (f == nullptr) {
            return fallback;
        }
        const double s = f->is_double() ? f->as_double()
            : f->is_int64()             ? static_cast<double>(f->as_int64())
            : f->is_uint64()            ? static_cast<double>(f->as_uint64())
                                        : -1;
        if (!(s > 0) || s > max) {
            errors.push_back(where + ": " + std::string(key)
                + " must be a number of seconds greater than 0 and at most "
                + std::to_string(static_cast<std::int64_t>(max)));
            return std::nullopt;
        }
        return std::chrono::milliseconds(std::max<std::int64_t>(1, std::llround(s * 1000)));
    };
    const auto whole
        = [&](std::string_view key, unsigned fallback, unsigned min, unsigned max) -> std::optional<unsigned> {
        const auto* f = o.if_contains(key);
        if (f == nullptr) {
            return fallback;
        }
        const std::int64_t n = f->is_int64() ? f->as_int64()
            : f->is_uint64()                 ? static_cast<std::int64_t>(f->as_uint64())
                                             : -1;
        if (n < min || n > max) {
            errors.push_back(where + ": " + std::string(key) + " must be a whole number from " + std::to_string(min)
                + " to " + std::to_string(max));
            return std::nullopt;
        }
        return static_cast<unsigned>(n);
    };

    subscriber_config s;
    const auto name = text("name");
    const auto url = text("url");
    const auto secret = text("secret");
    const auto ca = text("ca_file");
    if (!name || !url || !secret || !ca) {
        return std::nullopt;
    }
    s.name = *name;
    const bool good_name = !s.name.empty() && s.name.size() <= 64
        && std::all_of(s.name.begin(), s.name.end(),
            [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'; });
    if (!good_name) {
        return fail("name must be 1 to 64 of a-z, 0-9, '-' and '_', got '" + s.name + "'");
    }
    const std::string named = where + " (" + s.name + ")";
    const auto fail_named = [&](const std::string& why) {
        errors.push_back(named + ": " + why);
        return std::nullopt;
    };
    s.url = *url;
    const auto parsed = parse_http_url(s.url);
    if (!parsed) {
        return fail_named("url must be an absolute http:// or https:// URL without credentials, got '" + s.url + "'");
    }
    s.https = parsed->origin.https;
    s.host = parsed->origin.host;
    s.port = parsed->origin.port;
    s.target = parsed->path.empty() ? "/" : parsed->path;
    if (parsed->has_query) {
        s.target += "?" + parsed->query;
    }
    s.secret = *secret;
    if (s.secret.empty()) {
        return fail_named("secret is required (whsec_ followed by base64; `switchboard secret` makes one)");
    }
    std::string secret_problem;
    if (!webhook_signature::parse_secret(s.secret, &secret_problem)) {
        return fail_named("secret " + secret_problem + " (`switchboard secret` makes one)");
    }
    if (const auto* ev = o.if_contains("events")) {
        if (!ev->is_array() || ev->as_array().empty()) {
            return fail_named("events must be a non-empty array of event types such as \"call.*\"");
        }
        s.events.clear();
        for (const auto& e : ev->as_array()) {
            if (!e.is_string() || !is_valid_filter(e.as_string())) {
                return fail_named("events: " + boost::json::serialize(e)
                    + " is not an event type (call.status_changed, call.menu_selected, sms.received, "
                      "sms.status_changed), a prefix such as call.*, or *");
            }
            s.events.emplace_back(e.as_string());
        }
    }
    s.ca_file = *ca;
    if (!s.ca_file.empty() && !std::ifstream(s.ca_file)) {
        return fail_named("cannot read ca_file '" + s.ca_file + "'");
    }
    const auto timeout = seconds("timeout_seconds", s.timeout, 300);
    const auto concurrency = whole("concurrency", s.concurrency, 1, 256);
    const auto attempts = whole("max_attempts", static_cast<unsigned>(s.retry.max_attempts), 1, 1000);
    const auto age = seconds("max_age_seconds", s.retry.max_age, 30 * 86400.0);
    const auto initial = seconds("initial_delay_seconds", s.retry.initial_delay, 86400);
    const auto max_delay = seconds("max_delay_seconds", s.retry.max_delay, 86400);
    if (!timeout || !concurrency || !attempts || !age || !initial || !max_delay) {
        return std::nullopt;
    }
    s.timeout = *timeout;
    s.concurrency = *concurrency;
    s.retry.max_attempts = static_cast<int>(*attempts);
    s.retry.max_age = *age;
    s.retry.initial_delay = *initial;
    s.retry.max_delay = *max_delay;
    if (s.retry.initial_delay > s.retry.max_delay) {
        return fail_named("initial_delay_seconds must not exceed max_delay_seconds");
    }
    return s;
}

std::vector<subscriber_config> parse_subscribers(const std::string& json, std::vector<std::string>& errors)
{
    std::vector<subscriber_config> out;
    if (json.empty()) {
        return out;
    }
    boost::system::error_code ec;
    const boost::json::value doc = boost::json::parse(json, ec);
    if (ec || !doc.is_array()) {
        errors.push_back("SWITCHBOARD_SUBSCRIBERS: expected a JSON array of subscriber objects"
            + (ec ? " (" + ec.message() + ")" : std::string()));
        return out;
    }
    std::size_t i = 0;
    for (const auto& v : doc.as_array()) {
        auto s = parse_subscriber(v, "SWITCHBOARD_SUBSCRIBERS[" + std::to_string(i++) + "]", errors);
        if (!s) {
            continue;
        }
        const bool taken = std::any_of(out.begin(), out.end(), [&](const auto& o) { return o.name == s->name; });
        if (taken) {
            errors.push_back("SWITCHBOARD_SUBSCRIBERS: the name '" + s->name + "' is used twice");
            continue;
        }
        out.push_back(std::move(*s));
    }
    return out;
}

// localhost, 127.0.0.0/8 or ::1: traffic that never leaves the machine (or the pod).
bool is_loopback(std::string_view host)
{
    static const auto loopback = *forwarded::parse_networks("127.0.0.0/8, ::1");
    return text::iequals(host, "localhost") || forwarded::contains(loopback, host);
}

void add_warnings(load_result& out)
{
    const config& c = out.cfg;
    for (const auto& sub : c.subscribers) {
        if (!sub.https && !is_loopback(sub.host)) {
            out.warnings.push_back({"subscriber url is plain http: its events (phone numbers, SMS bodies) and "
                                    "signatures cross the network unencrypted; use https",
                {{"setting", "SWITCHBOARD_SUBSCRIBERS"}, {"subscriber", sub.name}}});
        }
    }
    if (c.public_url.empty()) {
        out.warnings.push_back({"SWITCHBOARD_PUBLIC_URL is not set: Twilio signatures are checked against a URL built "
                                "from each request's Host header (or a trusted proxy's X-Forwarded-Host), so a request "
                                "signed for another deployment on the same Twilio account verifies here too; set "
                                "SWITCHBOARD_PUBLIC_URL to this deployment's public base URL",
            {{"setting", "SWITCHBOARD_PUBLIC_URL"}}});
    }
}

bool is_sid(std::string_view s, std::string_view prefix)
{
    return s.size() == 34 && s.starts_with(prefix)
        && std::all_of(s.begin() + 2, s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

void load_phone(loader& l, phone_config& p, bool dev)
{
    p.account_sid = l.text("TWILIO_ACCOUNT_SID", "");
    if (!p.account_sid.empty() && !is_sid(p.account_sid, "AC")) {
        l.fail("TWILIO_ACCOUNT_SID", "expected AC followed by 32 hexadecimal digits");
    }
    p.api_key_sid = l.text("TWILIO_API_KEY_SID", "");
    p.api_key_secret = l.secret("TWILIO_API_KEY_SECRET");
    if (!p.api_key_sid.empty() && !is_sid(p.api_key_sid, "SK")) {
        l.fail("TWILIO_API_KEY_SID", "expected SK followed by 32 hexadecimal digits");
    }
    if (p.api_key_sid.empty() != p.api_key_secret.empty()) {
        l.fail(p.api_key_sid.empty() ? "TWILIO_API_KEY_SID" : "TWILIO_API_KEY_SECRET",
            "an API key needs both TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET");
    }
    if (!p.api_key_sid.empty() && p.account_sid.empty()) {
        l.fail("TWILIO_ACCOUNT_SID", "required with an API key: REST paths name the account");
    }
    const std::string primary = l.text("SWITCHBOARD_TWILIO_PHONE_NUMBER", "");
    const std::string alias = l.text("SAMSAEK_TWILIO_PHONE_NUMBER", "");
    if (!primary.empty() && !alias.empty() && primary != alias) {
        l.fail("SAMSAEK_TWILIO_PHONE_NUMBER", "differs from SWITCHBOARD_TWILIO_PHONE_NUMBER: set one of them");
    }
    p.phone_number = primary.empty() ? alias : primary;
    if (!p.phone_number.empty() && !phone::is_e164(p.phone_number)) {
        l.fail(primary.empty() ? "SAMSAEK_TWILIO_PHONE_NUMBER" : "SWITCHBOARD_TWILIO_PHONE_NUMBER",
            "expected an E.164 number such as +14155551212, got '" + p.phone_number + "'");
    }
    p.development = dev;
    const std::string hook = l.text("SWITCHBOARD_TWILIO_WEBHOOK_URL", "");
    const std::string hook_alias = l.text("SAMSAEK_TWILIO_WEBHOOK_URL", "");
    if (!hook.empty() && !hook_alias.empty() && hook != hook_alias) {
        l.fail("SAMSAEK_TWILIO_WEBHOOK_URL", "differs from SWITCHBOARD_TWILIO_WEBHOOK_URL: set one of them");
    }
    p.webhook_base = text::without_trailing_slashes(hook.empty() ? hook_alias : hook);
    if (p.webhook_base.find_first_of("?#") != std::string::npos) {
        l.fail(hook.empty() ? "SAMSAEK_TWILIO_WEBHOOK_URL" : "SWITCHBOARD_TWILIO_WEBHOOK_URL",
            "is the base of a bought number's webhooks ({base}/call, /sms, /status) and takes no query or fragment "
            "(connection overrides: SWITCHBOARD_TWILIO_WEBHOOK_OVERRIDES)");
    } else if (!p.webhook_base.empty() && !phone_api::is_twilio_webhook_url(p.webhook_base, dev)) {
        l.fail(hook.empty() ? "SAMSAEK_TWILIO_WEBHOOK_URL" : "SWITCHBOARD_TWILIO_WEBHOOK_URL",
            "must be an https:// URL (Twilio calls webhooks over https only; http://localhost with --dev)");
    }
    for (auto [name, field] : {std::pair{"SWITCHBOARD_TWILIO_VOICE_FALLBACK_URL", &p.voice_fallback},
             std::pair{"SWITCHBOARD_TWILIO_SMS_FALLBACK_URL", &p.sms_fallback}}) {
        *field = l.text(name, "");
        if (!field->empty() && *field != "none" && !phone_api::is_twilio_webhook_url(*field, dev)) {
            l.fail(name, "must be an https:// URL, or none (http://localhost with --dev)");
        }
    }
    for (auto [name, field, fallback] :
        {std::tuple{"SWITCHBOARD_TWILIO_WEBHOOK_OVERRIDES", &p.webhook_overrides, std::string_view()},
            std::tuple{"SWITCHBOARD_TWILIO_STATUS_CALLBACK_OVERRIDES", &p.status_overrides,
                std::string_view(default_status_overrides)}}) {
        std::string why;
        if (auto o = connection_overrides::parse(l.text(name, std::string(fallback)), &why)) {
            *field = std::move(*o);
        } else {
            l.fail(name, why);
        }
    }
    p.api_base_url = text::without_trailing_slashes(l.text("TWILIO_API_BASE_URL", p.api_base_url));
    const auto base = parse_http_url(p.api_base_url);
    if (!base || base->has_query || base->has_fragment) {
        l.fail("TWILIO_API_BASE_URL", "expected http(s)://host[:port][/prefix], got '" + p.api_base_url + "'");
    }
    p.api_ca_file = l.text("TWILIO_API_CA_FILE", "");
    if (!p.api_ca_file.empty() && !std::ifstream(p.api_ca_file)) {
        l.fail("TWILIO_API_CA_FILE", "cannot read '" + p.api_ca_file + "'");
    }
    p.api_timeout = l.seconds("SWITCHBOARD_TWILIO_TIMEOUT_SECONDS", p.api_timeout);
    p.max_pages = l.integer<unsigned>("SWITCHBOARD_TWILIO_MAX_PAGES", p.max_pages, 1, 1000);
    p.jwt_secret = l.secret("SWITCHBOARD_JWT_SECRET");
    if (!p.jwt_secret.empty() && p.jwt_secret.size() < 32) {
        l.fail("SWITCHBOARD_JWT_SECRET", "must be at least 32 bytes (RFC 7518 section 3.2)");
    }
    p.jwt_jwks_file = l.text("SWITCHBOARD_JWT_JWKS_FILE", "");
    if (!p.jwt_jwks_file.empty() && !std::ifstream(p.jwt_jwks_file)) {
        l.fail("SWITCHBOARD_JWT_JWKS_FILE", "cannot read '" + p.jwt_jwks_file + "'");
    }
    p.jwt_issuer = l.text("SWITCHBOARD_JWT_ISSUER", "");
    p.jwt_audience = l.text("SWITCHBOARD_JWT_AUDIENCE", "");
    p.jwt_leeway = std::chrono::seconds(l.integer<unsigned>("SWITCHBOARD_JWT_LEEWAY_SECONDS", 30, 0, 600));
    p.jwt_max_lifetime
        = std::chrono::seconds(l.integer<unsigned>("SWITCHBOARD_JWT_MAX_LIFETIME_SECONDS", 86400, 0, 366U * 86400U));
    p.idempotency_ttl
        = std::chrono::seconds(l.integer<unsigned>("SWITCHBOARD_IDEMPOTENCY_TTL_SECONDS", 86400, 60, 30U * 86400U));
    if (!p.jwt_jwks_file.empty() && p.jwt_audience.empty()) {
        // An identity provider's keys sign the tokens of every service it serves: without an
        // audience, a token minted for another service would open this API.
        l.fail("SWITCHBOARD_JWT_AUDIENCE",
            "is required with SWITCHBOARD_JWT_JWKS_FILE (the identifier your identity provider puts in "
            "aud for this API)");
    }
    p.default_voice = l.text("SWITCHBOARD_CALL_VOICE", p.default_voice);
    if (!phone_api::is_valid_voice(p.default_voice)) {
        l.fail("SWITCHBOARD_CALL_VOICE", "expected alice, man, woman, Polly.<Name> or Google.<voice>");
    }
    p.default_language = l.text("SWITCHBOARD_CALL_LANGUAGE", p.default_language);
    if (!phone_api::is_valid_language(p.default_language)) {
        l.fail("SWITCHBOARD_CALL_LANGUAGE", "expected a language tag such as en-US");
    }
    p.price_voice_minute = l.amount("SWITCHBOARD_PRICE_VOICE_MINUTE", p.price_voice_minute);
    p.price_sms = l.amount("SWITCHBOARD_PRICE_SMS", p.price_sms);
    p.price_number_month = l.amount("SWITCHBOARD_PRICE_NUMBER_MONTH", p.price_number_month);
    p.currency = l.text("SWITCHBOARD_PRICE_CURRENCY", p.currency);
    if (p.currency.size() != 3
        || !std::all_of(p.currency.begin(), p.currency.end(), [](char c) { return c >= 'A' && c <= 'Z'; })) {
        l.fail("SWITCHBOARD_PRICE_CURRENCY", "expected an ISO 4217 code such as USD");
    }
    p.greeting = l.text("SWITCHBOARD_PHONE_GREETING", "");
    p.sms_auto_reply = l.text("SWITCHBOARD_SMS_AUTO_REPLY", "");
    if (p.sms_auto_reply.size() > 1600) {
        l.fail("SWITCHBOARD_SMS_AUTO_REPLY", "longer than an SMS can be (1600 characters)");
    }
}

} // namespace

const std::vector<setting_doc>& settings()
{
    return all_settings;
}

void load_store(loader& l, config& c)
{
    auto& st = c.store;
    const std::string store = l.text("SWITCHBOARD_STORE", "sqlite");
    const std::string password = l.secret("SWITCHBOARD_REDIS_PASSWORD");
    if (store.empty() || store == "sqlite") {
        st.redis = false;
        if (!password.empty()) {
            l.fail("SWITCHBOARD_REDIS_PASSWORD", "set, but SWITCHBOARD_STORE is not a redis:// URL");
        }
        return;
    }
    st.redis = true;
    std::string problem;
    if (auto e = parse_redis_url(store, &problem)) {
        st.endpoint = std::move(*e);
    } else {
        l.fail("SWITCHBOARD_STORE", "expected sqlite or redis://[[user]:password@]host[:port][/db]: " + problem);
    }
    if (!password.empty() && st.endpoint.lone_userinfo) {
        // redis://switchboard@redis with the password in a file: switchboard is the user.
        st.endpoint.username = std::move(st.endpoint.password);
        st.endpoint.password.clear();
    }
    if (!password.empty()) {
        if (!st.endpoint.password.empty()) {
            l.fail("SWITCHBOARD_REDIS_PASSWORD", "the SWITCHBOARD_STORE URL has a password already; keep one");
        }
        st.endpoint.password = password;
    }
    st.key_prefix = l.text("SWITCHBOARD_REDIS_KEY_PREFIX", st.key_prefix);
    if (st.key_prefix.empty() || st.key_prefix.size() > 64
        || st.key_prefix.find_first_of(" \t\r\n") != std::string::npos) {
        l.fail("SWITCHBOARD_REDIS_KEY_PREFIX", "expected 1 to 64 characters without spaces");
    }
    st.reclaim_idle = l.seconds("SWITCHBOARD_REDIS_RECLAIM_SECONDS", st.reclaim_idle);
    st.timeout = l.seconds("SWITCHBOARD_REDIS_TIMEOUT_SECONDS", st.timeout);
    st.replica_name = l.text("SWITCHBOARD_REPLICA_NAME", "");
    if (st.replica_name.empty()) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1); // in a pod: the pod's name
        st.replica_name = std::string(host) + "-" + std::to_string(::getpid());
    }
}

load_result load_config(const env_lookup& env, const load_options& opts)
{
    load_result out;
    auto& errors = out.errors;
    std::map<std::string, std::string> values;
    for (const auto& s : all_settings) {
        if (auto v = env(s.name)) {
            values[s.name] = std::move(*v);
        }
    }
    for (const auto& name : opts.env_names) {
        if (name.rfind("SWITCHBOARD_", 0) == 0 && !is_known(name) && !is_kubernetes_service_link(name)) {
            errors.push_back(name + ": unknown setting (see switchboard --help)");
        }
    }
    if (!opts.config_file.empty()) {
        read_file_overlay(opts.config_file, values, errors);
    }

    loader l(std::move(values), errors);
    config& c = out.cfg;
    c.listen = l.endpoint("SWITCHBOARD_LISTEN", c.listen);
    c.admin_listen = l.endpoint("SWITCHBOARD_ADMIN_LISTEN", c.admin_listen);

    c.public_url = text::without_trailing_slashes(l.text("SWITCHBOARD_PUBLIC_URL", ""));
    if (!c.public_url.empty()) {
        const auto parts = webhook_url::split(c.public_url);
        const bool http_scheme = parts && (parts->scheme == "https://" || parts->scheme == "http://");
        if (!http_scheme || parts->host.empty() || !parts->userinfo.empty()
            || parts->rest.find_first_of("?#") != std::string_view::npos) {
            l.fail("SWITCHBOARD_PUBLIC_URL",
                "expected http(s)://host[:port][/prefix] without query or fragment, got '" + c.public_url + "'");
        }
    }

    std::string primary = l.secret("TWILIO_AUTH_TOKEN");
    std::string secondary = l.secret("TWILIO_AUTH_TOKEN_SECONDARY");
    if (primary.empty() && !secondary.empty()) {
        l.fail("TWILIO_AUTH_TOKEN_SECONDARY", "set only together with TWILIO_AUTH_TOKEN");
    }
    if (primary.empty() && opts.dev) {
        primary = crypto::hex_lower(reinterpret_cast<const unsigned char*>(crypto::random_bytes(16).data()), 16);
        c.auth_token_generated = true;
    }
    if (primary.empty()) {
        l.fail("TWILIO_AUTH_TOKEN",
            "required (or TWILIO_AUTH_TOKEN_FILE): without it no Twilio signature can be checked. Run with --dev for a "
            "generated development token.");
    } else {
        c.auth_tokens.push_back(std::move(primary));
        if (!secondary.empty()) {
            c.auth_tokens.push_back(std::move(secondary));
        }
    }

    c.tls_cert_file = l.text("SWITCHBOARD_TLS_CERT", "");
    c.tls_key_file = l.text("SWITCHBOARD_TLS_KEY", "");
    if (c.tls_cert_file.empty() != c.tls_key_file.empty()) {
        l.fail(c.tls_cert_file.empty() ? "SWITCHBOARD_TLS_CERT" : "SWITCHBOARD_TLS_KEY",
            "TLS needs both SWITCHBOARD_TLS_CERT and SWITCHBOARD_TLS_KEY");
    }
    for (const auto* file : {&c.tls_cert_file, &c.tls_key_file}) {
        if (!file->empty() && !std::ifstream(*file)) {
            l.fail(file == &c.tls_cert_file ? "SWITCHBOARD_TLS_CERT" : "SWITCHBOARD_TLS_KEY",
                "cannot read '" + *file + "'");
        }
    }

    c.trusted_proxies_text = l.text("SWITCHBOARD_TRUSTED_PROXIES", "");
    std::string bad;
    if (auto nets = forwarded::parse_networks(c.trusted_proxies_text, &bad)) {
        c.trusted_proxies = std::move(*nets);
    } else {
        l.fail("SWITCHBOARD_TRUSTED_PROXIES", "'" + bad + "' is not an IP address or CIDR network");
    }

    c.threads = l.integer<unsigned>("SWITCHBOARD_THREADS", 0, 0, 256);
    c.rate_limit_per_minute = l.integer<unsigned>("SWITCHBOARD_RATE_LIMIT_PER_MINUTE", 60, 0, 1'000'000);
    c.data_dir = l.text("SWITCHBOARD_DATA_DIR", c.data_dir);
    if (c.data_dir.empty()) {
        l.fail("SWITCHBOARD_DATA_DIR", "must not be empty");
    }
    load_store(l, c);
    c.header_limit = l.integer<std::size_t>("SWITCHBOARD_HEADER_LIMIT_BYTES", c.header_limit, 1024, 1024 * 1024);
    c.body_limit = l.integer<std::size_t>("SWITCHBOARD_BODY_LIMIT_BYTES", c.body_limit, 1024, 64 * 1024 * 1024);
    c.handshake_timeout = l.seconds("SWITCHBOARD_HANDSHAKE_TIMEOUT_SECONDS", c.handshake_timeout);
    c.read_timeout = l.seconds("SWITCHBOARD_READ_TIMEOUT_SECONDS", c.read_timeout);
    c.write_timeout = l.seconds("SWITCHBOARD_WRITE_TIMEOUT_SECONDS", c.write_timeout);
    c.idle_timeout = l.seconds("SWITCHBOARD_IDLE_TIMEOUT_SECONDS", c.idle_timeout);
    c.drain_timeout = l.seconds("SWITCHBOARD_DRAIN_TIMEOUT_SECONDS", c.drain_timeout);
    c.first_byte_timeout = l.seconds("SWITCHBOARD_FIRST_BYTE_TIMEOUT_SECONDS", c.first_byte_timeout);
    c.max_connections = l.integer<std::size_t>("SWITCHBOARD_MAX_CONNECTIONS", 0, 0, 1'000'000);
    c.max_connections_per_client
        = l.integer<std::size_t>("SWITCHBOARD_MAX_CONNECTIONS_PER_CLIENT", c.max_connections_per_client, 0, 1'000'000);
    c.admin_token = l.secret("SWITCHBOARD_ADMIN_TOKEN");
    if (!c.admin_token.empty() && c.admin_token.size() < 32) {
        l.fail("SWITCHBOARD_ADMIN_TOKEN", "must be at least 32 characters (e.g. openssl rand -hex 32)");
    }
    const std::string admin_hosts = l.text("SWITCHBOARD_ADMIN_HOSTS", "");
    for (std::string_view hosts = admin_hosts; !hosts.empty();) {
        const std::size_t comma = hosts.find(',');
        std::string_view h = hosts.substr(0, comma);
        hosts = comma == std::string_view::npos ? std::string_view{} : hosts.substr(comma + 1);
        while (!h.empty() && h.front() == ' ') {
            h.remove_prefix(1);
        }
        while (!h.empty() && h.back() == ' ') {
            h.remove_suffix(1);
        }
        if (h.empty()) {
            continue;
        }
        const bool ok = h.size() <= 253 && std::all_of(h.begin(), h.end(), [](char ch) {
            return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-'
                || ch == '.';
        });
        if (!ok) {
            l.fail("SWITCHBOARD_ADMIN_HOSTS", "'" + std::string(h) + "' is not a host name (no port, no scheme)");
            continue;
        }
        std::string lower(h);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
        c.admin_hosts.push_back(std::move(lower));
    }
    c.ivr_sms_per_destination_per_hour = l.integer<unsigned>(
        "SWITCHBOARD_IVR_SMS_PER_DESTINATION_PER_HOUR", c.ivr_sms_per_destination_per_hour, 0, 1000);
    c.log_level = l.text("SWITCHBOARD_LOG_LEVEL", c.log_level);
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error") {
        l.fail("SWITCHBOARD_LOG_LEVEL", "expected debug, info, warn or error, got '" + c.log_level + "'");
    }
    c.menu_file = l.text("SWITCHBOARD_MENU_FILE", "");
    if (!c.menu_file.empty() && !std::ifstream(c.menu_file)) {
        l.fail("SWITCHBOARD_MENU_FILE", "cannot read '" + c.menu_file + "'");
    }
    c.assistant_url = l.text("SWITCHBOARD_ASSISTANT_URL", "");
    if (!c.assistant_url.empty() && !ivr::is_assistant_url(c.assistant_url)) {
        l.fail("SWITCHBOARD_ASSISTANT_URL",
            "expected a wss:// URL (Twilio connects to the assistant over secure WebSockets), got '" + c.assistant_url
                + "'");
    }
    c.menu_watch = std::chrono::seconds(l.integer<unsigned>("SWITCHBOARD_MENU_WATCH_SECONDS", 0, 0, 3600));
    if (c.menu_watch.count() > 0 && c.menu_file.empty()) {
        l.fail("SWITCHBOARD_MENU_WATCH_SECONDS", "needs SWITCHBOARD_MENU_FILE");
    }
    c.subscribers = parse_subscribers(l.secret("SWITCHBOARD_SUBSCRIBERS"), errors);
    if (c.store.redis) {
        for (const auto& sub : c.subscribers) {
            // A delivery still being attempted must not look abandoned to the other replicas.
            if (sub.timeout + std::chrono::seconds(5) > c.store.reclaim_idle) {
                l.fail("SWITCHBOARD_REDIS_RECLAIM_SECONDS",
                    "must exceed subscriber " + sub.name + "'s timeout_seconds by at least 5 seconds");
            }
        }
    }
    load_phone(l, c.phone, opts.dev);
    if (!c.public_url.empty()) {
        c.phone.status_callback
            = connection_overrides::apply(c.public_url + "/api/phone/webhook/status", c.phone.status_overrides);
    }
    add_warnings(out);
    return out;
}

env_lookup process_env()
{
    return [](const std::string& name) -> std::optional<std::string> {
        const char* v = std::getenv(name.c_str());
        if (v == nullptr) {
            return std::nullopt;
        }
        return std::string(v);
    };
}

std::vector<std::string> process_env_names()
{
    std::vector<std::string> names;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        names.emplace_back(entry.substr(0, entry.find('=')));
    }
    return names;
}

} // namespace switchboard
