// SWITCHBOARD_SUBSCRIBERS: the subscribers of the outbound callback queue, from JSON, validated
// field by field (each problem names the subscriber and the field).
#include "service/app/config.hpp"

#include "protocol/core/text.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/events/event_catalogue.hpp"
#include "protocol/events/subscriber_rules.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "service/client/http_client.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace switchboard {

// One subscriber object; problems are reported as "SWITCHBOARD_SUBSCRIBERS[i] (name): why".
namespace {

// A JSON number as a double; -1 for anything else (every setting read this way is >= 0).
double number_of(const boost::json::value& v)
{
    return v.is_double() ? v.as_double()
        : v.is_int64()   ? static_cast<double>(v.as_int64())
        : v.is_uint64()  ? static_cast<double>(v.as_uint64())
                         : -1;
}

} // namespace

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
    static const std::vector<std::string_view> known
        = {"name", "url", "secret", "events", "timeout_seconds", "concurrency", "max_attempts", "max_age_seconds",
            "initial_delay_seconds", "max_delay_seconds", "ca_file", "headers", "client_cert_file", "client_key_file",
            "previous_secrets", "rate_per_second", "ordering", "disable_after_seconds"};
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
        const double s = number_of(*f);
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
    const auto cert = text("client_cert_file");
    const auto cert_key = text("client_key_file");
    if (!name || !url || !secret || !ca || !cert || !cert_key) {
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
    if (const auto* prev = o.if_contains("previous_secrets")) {
        constexpr std::size_t most = 4;
        if (!prev->is_array() || prev->as_array().size() > most) {
            return fail_named("previous_secrets must be an array of at most " + std::to_string(most)
                + " objects {\"secret\": \"whsec_...\", \"expires_at\": \"RFC 3339 time\"}");
        }
        std::size_t i = 0;
        for (const auto& entry : prev->as_array()) {
            const std::string at = "previous_secrets[" + std::to_string(i++) + "]";
            const auto* obj = entry.if_object();
            const auto* ps = obj != nullptr ? obj->if_contains("secret") : nullptr;
            const auto* pe = obj != nullptr ? obj->if_contains("expires_at") : nullptr;
            if (obj == nullptr || obj->size() != 2 || ps == nullptr || !ps->is_string() || pe == nullptr
                || !pe->is_string()) {
                return fail_named(at + " must be {\"secret\": \"whsec_...\", \"expires_at\": \"RFC 3339 time\"}");
            }
            std::string problem;
            if (!webhook_signature::parse_secret(ps->as_string(), &problem)) {
                return fail_named(at + ".secret " + problem);
            }
            const auto expires = parse_timestamp(pe->as_string());
            if (!expires) {
                return fail_named(at + ".expires_at must be an RFC 3339 time such as 2027-01-31T12:00:00Z");
            }
            const std::string old(ps->as_string());
            const bool again = old == s.secret
                || std::any_of(s.previous_secrets.begin(), s.previous_secrets.end(),
                    [&](const auto& p) { return p.secret == old; });
            if (again) {
                return fail_named(at + ".secret is the subscriber's secret or another previous one");
            }
            s.previous_secrets.push_back({old, *expires});
        }
    }
    if (const auto* ev = o.if_contains("events")) {
        if (!ev->is_array() || ev->as_array().empty()) {
            return fail_named("events must be a non-empty array of event types such as \"call.*\"");
        }
        s.events.clear();
        for (const auto& e : ev->as_array()) {
            if (!e.is_string() || !is_valid_filter(e.as_string())) {
                std::string names;
                for (const auto& info : event_type_infos()) {
                    names += (names.empty() ? "" : ", ") + std::string(to_string(info.type));
                }
                return fail_named("events: " + boost::json::serialize(e) + " is not an event type (" + names
                    + "), a prefix such as call.*, or *");
            }
            s.events.emplace_back(e.as_string());
        }
    }
    s.ca_file = *ca;
    if (!s.ca_file.empty() && !std::ifstream(s.ca_file)) {
        return fail_named("cannot read ca_file '" + s.ca_file + "'");
    }
    s.client_cert_file = *cert;
    s.client_key_file = *cert_key;
    if (s.client_cert_file.empty() != s.client_key_file.empty()) {
        return fail_named("client_cert_file and client_key_file go together: give both or neither");
    }
    if (!s.client_cert_file.empty()) {
        if (!s.https) {
            return fail_named("client_cert_file needs an https:// url (a certificate is presented in TLS)");
        }
        for (const std::string* f : {&s.client_cert_file, &s.client_key_file}) {
            if (!std::ifstream(*f)) {
                return fail_named("cannot read "
                    + std::string(f == &s.client_cert_file ? "client_cert_file" : "client_key_file") + " '" + *f + "'");
            }
        }
    }
    if (const auto* h = o.if_contains("headers")) {
        if (!h->is_object()) {
            return fail_named("headers must be an object of header names and string values");
        }
        if (h->as_object().size() > subscriber_rules::max_headers) {
            return fail_named("headers: at most " + std::to_string(subscriber_rules::max_headers) + " headers");
        }
        for (const auto& [hname, hvalue] : h->as_object()) {
            if (!hvalue.is_string()) {
                return fail_named("headers: the value of '" + std::string(hname) + "' must be a string");
            }
            if (const auto problem = subscriber_rules::header_problem(hname, hvalue.as_string())) {
                return fail_named("headers: " + *problem);
            }
            const std::string_view given = hname; // (clang 14 cannot capture a structured binding)
            const bool twice = std::any_of(
                s.headers.begin(), s.headers.end(), [&](const auto& kv) { return text::iequals(kv.first, given); });
            if (twice) {
                return fail_named("headers: '" + std::string(hname) + "' is given twice");
            }
            s.headers.emplace_back(std::string(hname), std::string(hvalue.as_string()));
        }
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
    if (const auto* rate = o.if_contains("rate_per_second")) {
        constexpr double most = 100'000;
        const double r = number_of(*rate);
        if (!(r >= 0) || r > most) {
            return fail_named("rate_per_second must be a number of deliveries a second from 0 (no limit) to 100000");
        }
        s.rate_per_second = r;
    }
    if (const auto* after = o.if_contains("disable_after_seconds")) {
        const double d = number_of(*after);
        if (!(d >= 0) || d > 365 * 86400.0 || d != std::floor(d)) {
            return fail_named("disable_after_seconds must be a whole number of seconds from 0 (never) to 31536000");
        }
        s.disable_after = std::chrono::seconds(static_cast<std::int64_t>(d));
    }
    if (const auto* ordering = o.if_contains("ordering")) {
        if (!ordering->is_string() || (ordering->as_string() != "none" && ordering->as_string() != "per_call")) {
            return fail_named("ordering must be \"none\" or \"per_call\" (one call's events one at a time, in order)");
        }
        s.per_call_ordering = ordering->as_string() == "per_call";
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

} // namespace switchboard
