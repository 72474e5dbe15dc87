// Route matching, per-route policies and the public URL used for signature checks.
#include "service/http/router.hpp"

#include "protocol/auth/forwarded.hpp"
#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "protocol/core/text.hpp"
#include "protocol/twilio/twilio_signature.hpp"
#include "service/app/config.hpp"
#include "service/http/http_error.hpp"
#include "service/http/jwt_auth.hpp"
#include "service/http/rate_limiter.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"
#include "service/store/redis/shared_rate_limiter.hpp"

#include <boost/beast/http/field.hpp>

#include <algorithm>

namespace switchboard {
namespace {

std::vector<std::string> split_path(std::string_view path)
{
    std::vector<std::string> out;
    while (!path.empty()) {
        if (path.front() == '/') {
            path.remove_prefix(1);
        }
        const std::size_t slash = path.find('/');
        out.emplace_back(path.substr(0, slash));
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
    }
    return out;
}

std::string_view reason_label(boost::system::error_code ec)
{
    if (ec == error::signature_missing) {
        return "missing";
    }
    if (ec == error::body_hash_mismatch) {
        return "body_hash";
    }
    return "mismatch";
}

// The one log line of every refused credential (signature, bearer token, admin token).
void log_refusal(const request_context& ctx, log::level level, std::string_view what, std::string_view reason)
{
    log::line(level, what)
        .str("request_id", ctx.request_id)
        .str("route", ctx.route)
        .str("client", ctx.client)
        .str("reason", reason)
        .emit();
}

http_response too_many(std::chrono::seconds retry_after)
{
    auto res = error_response(error::rate_limited, "too many requests; retry later");
    res.set(http::field::retry_after, std::to_string(std::max<long>(1, static_cast<long>(retry_after.count()))));
    return res;
}

} // namespace

void router::add(route r)
{
    compiled_route c{std::move(r), {}, nullptr};
    c.segments = split_path(c.r.path);
    const auto method = http::to_string(c.r.method);
    c.stats = &guards_.stats.route(c.r.name, std::string_view(method.data(), method.size()));
    routes_.push_back(std::move(c));
}

bool router::match(
    const compiled_route& c, std::string_view path, std::vector<std::pair<std::string, std::string>>* captures)
{
    std::size_t i = 0;
    while (!path.empty() || i < c.segments.size()) {
        if (i == c.segments.size() || path.empty()) {
            return false;
        }
        path.remove_prefix(1); // the '/'
        const std::size_t slash = path.find('/');
        const std::string_view seg = path.substr(0, slash);
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
        const std::string& want = c.segments[i++];
        if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
            if (seg.empty()) {
                return false;
            }
            if (captures != nullptr) {
                captures->emplace_back(want.substr(1, want.size() - 2), std::string(seg));
            }
        } else if (seg != want) {
            return false;
        }
    }
    return true;
}

std::string router::public_url(const request_context& ctx) const
{
    const auto target = ctx.request.target();
    if (!guards_.cfg.public_url.empty()) {
        std::string url = guards_.cfg.public_url;
        url.append(target.data(), target.size());
        return url;
    }
    std::string_view scheme = ctx.tls ? "https" : "http";
    std::string_view host = ctx.request[http::field::host];
    if (forwarded::contains(guards_.cfg.trusted_proxies, ctx.peer)) {
        const auto proto = forwarded::first_value(ctx.request["X-Forwarded-Proto"]);
        if (proto == "http" || proto == "https") {
            scheme = proto;
        }
        const auto fwd_host = forwarded::first_value(ctx.request["X-Forwarded-Host"]);
        if (!fwd_host.empty()) {
            host = fwd_host;
        }
    }
    std::string url;
    url.reserve(scheme.size() + 3 + host.size() + target.size());
    url.append(scheme).append("://").append(host).append(target.data(), target.size());
    return url;
}

task<std::optional<http_response>> router::spend_budget(request_context& ctx) const
{
    if (guards_.limiter == nullptr) {
        co_return std::nullopt;
    }
    // A verified bearer token pays from its subject's budget, so unauthenticated traffic from
    // the same NAT cannot use up an operator's; everyone else from one per IPv4 address and per
    // IPv6 /64.
    const std::string key
        = ctx.authenticated && !ctx.log.subject.empty() ? "sub:" + ctx.log.subject : forwarded::budget_key(ctx.client);
    std::optional<rate_limiter::decision> d;
    if (guards_.shared_limiter != nullptr && guards_.shared_limiter->available()) {
        auto shared = co_await guards_.shared_limiter->take(key);
        if (shared) {
            d = *shared;
        }
    }
    if (!d) {
        d = guards_.limiter->take(key, rate_limiter::clock::now());
    }
    if (d->allowed) {
        co_return std::nullopt;
    }
    guards_.stats.rate_limited.Increment();
    co_return too_many(d->retry_after);
}

task<http_response> router::refuse_signature(request_context& ctx, boost::system::error_code ec) const
{
    const std::string_view reason = reason_label(ec);
    guards_.stats.signature_failures[reason].Increment();
    log_refusal(ctx, log::level::warn, "twilio signature refused", reason);
    // A failed signature spends the client's budget: guessing is throttled.
    auto refused = co_await spend_budget(ctx);
    if (refused) {
        co_return std::move(*refused);
    }
    co_return error_response(ec, "the X-Twilio-Signature header is missing or does not match this request");
}

std::optional<http_response> router::authorize(request_context& ctx, std::string_view permission) const
{
    if (guards_.tokens == nullptr || !guards_.tokens->configured()) {
        return error_response(error::not_configured,
            "the phone API has no token keys: set SWITCHBOARD_JWT_SECRET or SWITCHBOARD_JWT_JWKS_FILE");
    }
    const auto refuse = [&](std::string_view reason, std::string_view challenge) {
        guards_.stats.api_auth_failures[reason].Increment();
        log_refusal(ctx, log::level::info, "bearer token refused", reason);
        // No detail for the client: why a token failed helps only an attacker.
        auto res = error_response(error::unauthorized);
        res.set(http::field::www_authenticate, challenge);
        return res;
    };
    const std::string_view header = ctx.request[http::field::authorization];
    constexpr std::string_view scheme = "bearer ";
    if (header.size() <= scheme.size() || !text::iequals(header.substr(0, scheme.size()), scheme)) {
        return refuse("missing", R"(Bearer realm="switchboard")");
    }
    auto v = guards_.tokens->verify(header.substr(scheme.size()), unix_ms_now() / 1000);
    if (!v.ok) {
        return refuse(v.reason, R"(Bearer realm="switchboard", error="invalid_token")");
    }
    ctx.log.subject = v.who.subject;
    ctx.authenticated = true;
    if (!jwt::allows(v.who, permission)) {
        guards_.stats.api_auth_failures["forbidden"].Increment();
        auto res = error_response(error::forbidden, "this token lacks the " + std::string(permission) + " permission");
        res.set(http::field::www_authenticate,
            R"(Bearer realm="switchboard", error="insufficient_scope", scope=")" + std::string(permission) + '"');
        return res;
    }
    return std::nullopt;
}

const router::compiled_route* router::find(request_context& ctx, http_response& refusal) const
{
    std::string allow;
    for (const auto& c : routes_) {
        if (!match(c, ctx.path, nullptr)) {
            continue;
        }
        if (c.r.method == ctx.request.method()) {
            ctx.route = c.r.name;
            ctx.route_stats = c.stats;
            match(c, ctx.path, &ctx.path_params);
            return &c;
        }
        const auto m = http::to_string(c.r.method);
        if (allow.find(std::string_view(m.data(), m.size())) == std::string::npos) {
            if (!allow.empty()) {
                allow += ", ";
            }
            allow.append(m.data(), m.size());
        }
    }
    if (allow.empty()) {
        refusal = json_error(http::status::not_found, "not_found", "no such resource");
        return nullptr;
    }
    ctx.route = "method_not_allowed";
    refusal = json_error(http::status::method_not_allowed, "method_not_allowed", "method not allowed here");
    refusal.set(http::field::allow, allow);
    return nullptr;
}

namespace {

// The Host header's host part, without port or IPv6 brackets.
std::string_view host_of(std::string_view host)
{
    if (!host.empty() && host.front() == '[') {
        const std::size_t close = host.find(']');
        return close == std::string_view::npos ? std::string_view{} : host.substr(1, close - 1);
    }
    return host.substr(0, host.find(':'));
}

bool is_write(http::verb m)
{
    return m != http::verb::get && m != http::verb::head && m != http::verb::options;
}

} // namespace

std::optional<http_response> router::authorize_admin(request_context& ctx) const
{
    const auto refuse = [&](std::string_view reason, http_response res) {
        guards_.stats.admin_auth_failures[reason].Increment();
        log_refusal(ctx, log::level::warn, "admin request refused", reason);
        return res;
    };
    // DNS rebinding: a page that rebinds its own name to this address sends that name as Host.
    // An IP literal or localhost cannot be rebound; other names must be configured.
    const std::string_view host = host_of(ctx.request[http::field::host]);
    std::array<std::uint8_t, 16> ignored{};
    const bool host_ok = forwarded::parse_address(host, ignored) || text::iequals(host, "localhost")
        || std::any_of(guards_.cfg.admin_hosts.begin(), guards_.cfg.admin_hosts.end(),
            [&](const std::string& h) { return text::iequals(h, host); });
    if (!host_ok) {
        return refuse("host",
            json_error(http::status::forbidden, "host_not_allowed",
                "the admin API answers only requests addressed to an IP address, localhost or a name in "
                "SWITCHBOARD_ADMIN_HOSTS"));
    }
    if (guards_.cfg.admin_token.empty()) {
        return refuse("not_configured",
            json_error(http::status::forbidden, "admin_disabled",
                "the admin API is disabled: set SWITCHBOARD_ADMIN_TOKEN (or SWITCHBOARD_ADMIN_TOKEN_FILE) to a "
                "secret of at least 32 characters and send it as 'Authorization: Bearer <token>'"));
    }
    const std::string_view header = ctx.request[http::field::authorization];
    constexpr std::string_view scheme = "bearer ";
    const bool has_bearer = header.size() > scheme.size() && text::iequals(header.substr(0, scheme.size()), scheme);
    if (!has_bearer || !crypto::constant_time_equal(header.substr(scheme.size()), guards_.cfg.admin_token)) {
        auto res = json_error(http::status::unauthorized, "unauthorized", "a valid admin bearer token is required");
        res.set(http::field::www_authenticate,
            has_bearer ? R"(Bearer realm="switchboard-admin", error="invalid_token")"
                       : R"(Bearer realm="switchboard-admin")");
        return refuse(has_bearer ? "wrong" : "missing", std::move(res));
    }
    // A cross-site page can send a form or text/plain POST without asking; application/json
    // needs a CORS preflight, which this API never grants.
    if (is_write(ctx.request.method())) {
        const std::string_view type = ctx.request[http::field::content_type];
        std::string_view media = type.substr(0, type.find(';'));
        while (!media.empty() && media.back() == ' ') {
            media.remove_suffix(1);
        }
        if (!text::iequals(media, "application/json")) {
            return refuse("content_type",
                json_error(http::status::unsupported_media_type, "unsupported_media_type",
                    "admin requests that change state must have Content-Type: application/json"));
        }
    }
    ctx.authenticated = true;
    return std::nullopt;
}

task<std::optional<http_response>> router::precheck(request_context& ctx) const
{
    http_response refusal;
    const compiled_route* found = find(ctx, refusal);
    if (found == nullptr) {
        co_return refusal;
    }
    const route_policy& policy = found->r.policy;
    if (policy.twilio_signature && ctx.request["X-Twilio-Signature"].empty()) {
        auto refused = co_await refuse_signature(ctx, error::signature_missing);
        co_return refused;
    }
    if (policy.admin) {
        co_return authorize_admin(ctx);
    }
    if (!policy.permission.empty()) {
        co_return authorize(ctx, policy.permission);
    }
    co_return std::nullopt;
}

task<http_response> router::dispatch(request_context& ctx) const
{
    http_response refusal;
    const compiled_route* found = find(ctx, refusal);
    if (found == nullptr) {
        co_return refusal;
    }
    const route_policy& policy = found->r.policy;

    if (policy.twilio_signature) {
        const std::string url = public_url(ctx);
        const bool post = ctx.request.method() == http::verb::post;
        twilio_signature::webhook_request wr{
            url, ctx.request["X-Twilio-Signature"], ctx.request[http::field::content_type], ctx.request.body(), post};
        auto verdict = twilio_signature::verify(guards_.cfg.auth_tokens, wr);
        if (verdict.ec) {
            auto refused = co_await refuse_signature(ctx, verdict.ec);
            co_return refused;
        }
        ctx.params = std::move(verdict.params);
        ctx.authenticated = true;
    } else {
        if (policy.admin) {
            if (auto refused = authorize_admin(ctx)) {
                co_return std::move(*refused);
            }
        }
        // The token is checked first (an HMAC or one signature verification): a refused token
        // spends its address's budget, so guessing is throttled; a verified one its subject's.
        std::optional<http_response> refused;
        if (!policy.permission.empty()) {
            refused = authorize(ctx, policy.permission);
        }
        if (policy.rate_limited) {
            auto limited = co_await spend_budget(ctx);
            if (limited) {
                co_return std::move(*limited);
            }
        }
        if (refused) {
            co_return std::move(*refused);
        }
        if (ctx.request.method() == http::verb::get) {
            ctx.params = parse_form(ctx.query);
        } else if (is_form_content_type(ctx.request[http::field::content_type])) {
            ctx.params = parse_form(ctx.request.body());
        }
    }
    co_return co_await found->r.fn(ctx);
}

} // namespace switchboard
