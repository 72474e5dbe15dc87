// Configuration loading and validation.
#include "service/config.hpp"

#include "protocol/crypto.hpp"
#include "protocol/webhook_url.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

extern char** environ;

namespace switchboard {
namespace {

const std::vector<setting_doc> all_settings = {
    {"SWITCHBOARD_LISTEN", "0.0.0.0:8080",
        "Webhook listener, host:port (port 0 picks a free port; the bound address is logged)."},
    {"SWITCHBOARD_ADMIN_LISTEN", "0.0.0.0:9090", "Admin listener for /metrics, /healthz, /readyz, host:port."},
    {"SWITCHBOARD_PUBLIC_URL", "",
        "Public base URL Twilio calls, e.g. https://jobmatch.zip; signatures are checked against it plus the raw "
        "request target. Empty: derived from the Host header (and X-Forwarded-* from trusted proxies)."},
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
        "Requests per minute per client IP on the public routes; 0 disables. Validly signed Twilio requests are never "
        "throttled."},
    {"SWITCHBOARD_DATA_DIR", "./data", "Directory for the embedded store; created if missing."},
    {"SWITCHBOARD_HEADER_LIMIT_BYTES", "8192", "Largest request header block; larger gets 431."},
    {"SWITCHBOARD_BODY_LIMIT_BYTES", "65536", "Largest request body; larger gets 413."},
    {"SWITCHBOARD_HANDSHAKE_TIMEOUT_SECONDS", "10", "TLS handshake deadline."},
    {"SWITCHBOARD_READ_TIMEOUT_SECONDS", "10", "Deadline to receive a whole request once its first byte arrived."},
    {"SWITCHBOARD_WRITE_TIMEOUT_SECONDS", "10", "Deadline to send a response."},
    {"SWITCHBOARD_IDLE_TIMEOUT_SECONDS", "60", "Keep-alive idle time before a connection is closed."},
    {"SWITCHBOARD_DRAIN_TIMEOUT_SECONDS", "20",
        "On SIGTERM/SIGINT, how long in-flight requests may take before they are cut."},
    {"SWITCHBOARD_LOG_LEVEL", "info", "debug, info, warn or error."},
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
        } else if (value.is_int64() || value.is_uint64() || value.is_double()) {
            values[name] = boost::json::serialize(value);
        } else {
            errors.push_back("--config: " + name + " must be a string or a number");
        }
    }
}

} // namespace

const std::vector<setting_doc>& settings()
{
    return all_settings;
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

    c.public_url = l.text("SWITCHBOARD_PUBLIC_URL", "");
    while (!c.public_url.empty() && c.public_url.back() == '/') {
        c.public_url.pop_back();
    }
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
    c.header_limit = l.integer<std::size_t>("SWITCHBOARD_HEADER_LIMIT_BYTES", c.header_limit, 1024, 1024 * 1024);
    c.body_limit = l.integer<std::size_t>("SWITCHBOARD_BODY_LIMIT_BYTES", c.body_limit, 1024, 64 * 1024 * 1024);
    c.handshake_timeout = l.seconds("SWITCHBOARD_HANDSHAKE_TIMEOUT_SECONDS", c.handshake_timeout);
    c.read_timeout = l.seconds("SWITCHBOARD_READ_TIMEOUT_SECONDS", c.read_timeout);
    c.write_timeout = l.seconds("SWITCHBOARD_WRITE_TIMEOUT_SECONDS", c.write_timeout);
    c.idle_timeout = l.seconds("SWITCHBOARD_IDLE_TIMEOUT_SECONDS", c.idle_timeout);
    c.drain_timeout = l.seconds("SWITCHBOARD_DRAIN_TIMEOUT_SECONDS", c.drain_timeout);
    c.log_level = l.text("SWITCHBOARD_LOG_LEVEL", c.log_level);
    if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error") {
        l.fail("SWITCHBOARD_LOG_LEVEL", "expected debug, info, warn or error, got '" + c.log_level + "'");
    }
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
