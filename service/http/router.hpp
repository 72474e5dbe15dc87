// Routing as data: (method, path) -> handler, with per-route policies (Twilio signature, rate
// limit) applied around the handler. Unknown paths get 404, known paths with another method 405
// and an Allow header.
#pragma once

#include "service/http/http_context.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace switchboard {

class jwt_verifier;
class metrics;
class rate_limiter;
class shared_rate_limiter;
struct config;

using handler = std::function<task<http_response>(request_context&)>;

struct route_policy {
    bool twilio_signature = false; // verify X-Twilio-Signature before the handler
    bool rate_limited = false; // count against the client's per-minute budget
    std::string_view permission{}; // not empty: a bearer token (JWT) with this permission is required
    // The admin API: SWITCHBOARD_ADMIN_TOKEN as a bearer token, a Host that cannot be a
    // rebound DNS name, and application/json on requests that change state (no cross-site form).
    bool admin = false;
};

struct route {
    http::verb method;
    std::string path; // literal segments and {name} captures: /api/phone/calls/{sid}
    std::string name; // metric label, e.g. "voice_menu"
    route_policy policy;
    handler fn;
};

// What the policies need, owned by the application.
struct route_guards {
    const config& cfg;
    metrics& stats;
    rate_limiter* limiter = nullptr; // null: no rate limit
    shared_rate_limiter* shared_limiter = nullptr; // Redis: one budget across replicas (limiter while it is down)
    const jwt_verifier* tokens = nullptr; // null or without keys: bearer routes answer 503
};

class router {
public:
    explicit router(route_guards guards) : guards_(guards) { }

    void add(route r);
    task<http_response> dispatch(request_context& ctx) const;
    // For Expect: 100-continue: whether the headers alone already decide the answer (no such
    // route, a missing signature, a refused token); nullopt: invite the body.
    task<std::optional<http_response>> precheck(request_context& ctx) const;

    // The public URL Twilio requested: the configured base (or the Host/X-Forwarded-* view)
    // plus the raw request target.
    std::string public_url(const request_context& ctx) const;

private:
    struct compiled_route {
        route r;
        std::vector<std::string> segments;
        route_metrics* stats;
    };
    // The route for ctx.path and method, or the 404/405 answer (with Allow).
    const compiled_route* find(request_context& ctx, http_response& refusal) const;
    static bool match(
        const compiled_route& c, std::string_view path, std::vector<std::pair<std::string, std::string>>* captures);
    task<http_response> refuse_signature(request_context& ctx, boost::system::error_code ec) const;
    // Takes one request from the caller's rate budget (a verified token's subject, else the client
    // address or IPv6 /64); the 429 when it is spent.
    task<std::optional<http_response>> spend_budget(request_context& ctx) const;
    // nullopt: the bearer token verifies and grants `permission`; otherwise the 401/403/503.
    std::optional<http_response> authorize(request_context& ctx, std::string_view permission) const;
    // nullopt: an admin request that may proceed; otherwise the 401/403/415.
    std::optional<http_response> authorize_admin(request_context& ctx) const;

    route_guards guards_;
    std::vector<compiled_route> routes_;
};

} // namespace switchboard
