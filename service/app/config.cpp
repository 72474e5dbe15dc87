// Configuration loading and validation.
// One file because load_config is one pass over the settings (each read once, every problem
// gathered in order, then the checks that relate settings); the table is settings.cpp's.
#include "service/app/config.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/phone.hpp"
#include "protocol/core/text.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "protocol/events/webhook_url.hpp"
#include "protocol/ivr/ivr_menu.hpp"
#include "protocol/phone_api/phone_api.hpp"
#include "protocol/twilio/connection_overrides.hpp"
#include "service/client/http_client.hpp"

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

    std::chrono::milliseconds days(const std::string& name, std::chrono::milliseconds fallback)
    {
        const std::string* v = raw(name);
        if (v == nullptr || v->empty()) {
            return fallback;
        }
        const auto d = retention::parse_days(*v);
        if (!d) {
            fail(name, "expected days from 0 to 36500 (decimals allowed; 0 keeps forever), got '" + *v + "'");
            return fallback;
        }
        return *d;
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
    const auto& all = settings();
    return std::any_of(all.begin(), all.end(), [&](const setting_doc& s) { return name == s.name; });
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
                std::string_view(default_status_callback_overrides)}}) {
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

void load_store(loader& l, config& c)
{
    auto& st = c.store;
    st.probe_interval = l.seconds("SWITCHBOARD_STORE_PROBE_SECONDS", st.probe_interval);
    st.retention.delivered = l.days("SWITCHBOARD_RETENTION_DELIVERED_DAYS", st.retention.delivered);
    st.retention.dead = l.days("SWITCHBOARD_RETENTION_DEAD_DAYS", st.retention.dead);
    st.retention.log = l.days("SWITCHBOARD_RETENTION_LOG_DAYS", st.retention.log);
    st.retention_interval = l.seconds("SWITCHBOARD_RETENTION_INTERVAL_SECONDS", st.retention_interval);
    st.spill_events = l.integer<std::size_t>("SWITCHBOARD_SPILL_EVENTS", st.spill_events, 0, 1'000'000);
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
    for (const auto& s : settings()) {
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
