// The subscriber API under /admin/subscribers: list and read (with queue state), create,
// change, pause, resume, rotate secrets, remove. Configured subscribers are listed and read-only.
#include "service/ops/admin_routes.hpp"

#include "protocol/core/error.hpp"
#include "protocol/events/call_event.hpp"
#include "service/events/delivery_service.hpp"
#include "service/events/subscriber_registry.hpp"
#include "service/http/http_error.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/metrics.hpp"
#include "service/store/awaitable_store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace switchboard {
namespace {

// Query strings often carry a receiver's credential (?token=…): listings show names only.
std::string redact_query(std::string_view url)
{
    const std::size_t q = url.find('?');
    if (q == std::string_view::npos) {
        return std::string(url);
    }
    std::string out(url.substr(0, q + 1));
    std::string_view rest = url.substr(q + 1);
    rest = rest.substr(0, rest.find('#'));
    for (bool first = true; !rest.empty(); first = false) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (!first) {
            out += '&';
        }
        const std::size_t eq = pair.find('=');
        out.append(pair.substr(0, eq));
        if (eq != std::string_view::npos) {
            out += "=REDACTED";
        }
    }
    return out;
}

// A number of seconds (or any setting) as people write it: 10, not Boost.JSON's 1E1 for 10.0.
boost::json::value plain_number(double v)
{
    if (v == std::floor(v) && std::fabs(v) < 9e15) {
        return static_cast<std::int64_t>(v);
    }
    return v;
}

double seconds_of(std::chrono::milliseconds ms)
{
    return static_cast<double>(ms.count()) / 1000.0;
}

// A subscriber as the admin API shows it: its settings without a secret or a header value
// (they are credentials), where it is managed and its state, its queue and what this process
// did for it.
boost::json::object subscriber_json(
    const admin_deps& d, const subscriber_view& v, const queue_stats* q, std::int64_t now)
{
    boost::json::object o;
    o["name"] = v.name;
    o["managed_by"] = v.configured ? "configuration" : "api";
    o["state"] = to_string(v.state);
    if (!v.configured) {
        o["version"] = v.version;
        o["updated_at"] = format_timestamp(v.updated_at_ms);
        o["state_changed_at"] = format_timestamp(v.state_changed_at_ms);
        if (!v.state_reason.empty()) {
            o["state_reason"] = v.state_reason;
        }
    }
    o["delivering"] = v.cfg.has_value() && v.problem.empty() && v.state == subscriber_state::active;
    if (!v.problem.empty()) {
        o["problem"] = v.problem;
    }
    if (v.cfg) {
        const subscriber_config& s = *v.cfg;
        o["url"] = redact_query(s.url);
        boost::json::array events;
        for (const auto& e : s.events) {
            events.emplace_back(e);
        }
        o["events"] = std::move(events);
        o["concurrency"] = s.concurrency;
        o["rate_per_second"] = plain_number(s.rate_per_second);
        o["ordering"] = s.per_call_ordering ? "per_call" : "none";
        o["disable_after_seconds"] = static_cast<std::int64_t>(s.disable_after.count());
        o["timeout_seconds"] = plain_number(seconds_of(s.timeout));
        o["max_attempts"] = s.retry.max_attempts;
        o["max_age_seconds"] = plain_number(seconds_of(s.retry.max_age));
        o["initial_delay_seconds"] = plain_number(seconds_of(s.retry.initial_delay));
        o["max_delay_seconds"] = plain_number(seconds_of(s.retry.max_delay));
        boost::json::array headers;
        for (const auto& h : s.headers) {
            headers.emplace_back(h.first);
        }
        o["header_names"] = std::move(headers);
        o["ca_file"] = s.ca_file;
        o["client_certificate"] = !s.client_cert_file.empty();
        boost::json::array previous;
        for (const auto& p : s.previous_secrets) {
            previous.push_back({{"expires_at", format_timestamp(p.expires_at_ms)}, {"signing", now < p.expires_at_ms}});
        }
        o["previous_secrets"] = std::move(previous); // a rotation: each still signs until it expires
    }
    o["pending"] = q != nullptr ? q->pending : 0;
    o["in_flight"] = q != nullptr ? q->in_flight : 0;
    o["dead"] = q != nullptr ? q->dead : 0;
    o["oldest_pending_age_ms"] = q != nullptr && q->oldest_pending_occurred_at_ms
        ? std::max<std::int64_t>(0, now - *q->oldest_pending_occurred_at_ms)
        : 0;
    // Since this process started (the metrics hold the same counts).
    const auto& m = d.stats.subscriber(v.name);
    o["delivered"] = static_cast<std::int64_t>(m.delivered.Value());
    o["retried"] = static_cast<std::int64_t>(m.retried.Value());
    o["dead_lettered"] = static_cast<std::int64_t>(m.dead_lettered.Value());
    return o;
}

const queue_stats* queue_of(const std::vector<queue_stats>& all, std::string_view name)
{
    const auto q = std::find_if(all.begin(), all.end(), [&](const auto& x) { return x.subscriber == name; });
    return q == all.end() ? nullptr : &*q;
}

task<http_response> list(const admin_deps& d)
{
    auto r = co_await d.queue.stats();
    if (!r) {
        co_return error_response(r.error(), "the event store is unavailable");
    }
    const std::int64_t now = unix_ms_now();
    boost::json::array out;
    for (const auto& v : d.registry.list()) {
        out.push_back(subscriber_json(d, v, queue_of(*r, v.name), now));
    }
    boost::json::object doc;
    doc["subscribers"] = std::move(out);
    co_return json_response(http::status::ok, boost::json::serialize(doc));
}

// One subscriber, with its version as the ETag a change can name in If-Match.
task<http_response> shown(
    const admin_deps& d, const subscriber_view& v, http::status status, const std::string& secret = {})
{
    auto r = co_await d.queue.stats();
    static const std::vector<queue_stats> none;
    auto o = subscriber_json(d, v, queue_of(r ? *r : none, v.name), unix_ms_now());
    if (!secret.empty()) {
        o["secret"] = secret; // generated here: shown this once
    }
    auto res = json_response(status, boost::json::serialize(o));
    if (!v.configured) {
        res.set(http::field::etag, "\"" + std::to_string(v.version) + "\"");
    }
    co_return res;
}

task<http_response> read(request_context& ctx, const admin_deps& d)
{
    const std::string name(ctx.path_param("name"));
    const auto v = d.registry.find(name);
    if (!v) {
        co_return json_error(http::status::not_found, "not_found", "no subscriber '" + name + "'");
    }
    co_return co_await shown(d, *v, http::status::ok);
}

http_response refused(const registry_answer& a)
{
    return error_response(a.ec, a.message);
}

// The body as a JSON object; an empty body is an empty object.
std::optional<boost::json::object> body_object(const request_context& ctx, std::string& problem)
{
    const std::string& body = ctx.request.body();
    if (body.empty()) {
        return boost::json::object();
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) {
        problem = "the body must be a JSON object";
        return std::nullopt;
    }
    return std::move(v.as_object());
}

// If-Match: "<version>" (the ETag of a read), or none: whatever is stored now.
std::optional<std::int64_t> expected_version(const request_context& ctx)
{
    std::string_view v = ctx.request[http::field::if_match];
    if (v.empty()) {
        return 0;
    }
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
        v = v.substr(1, v.size() - 2);
    }
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n < 1) {
        return std::nullopt;
    }
    return n;
}

task<http_response> answered(const admin_deps& d, const registry_answer& a, http::status status)
{
    if (a.ec) {
        co_return refused(a);
    }
    if (!a.view) { // removed meanwhile by another change
        co_return json_error(http::status::conflict, "conflict", "the subscriber was changed meanwhile");
    }
    co_return co_await shown(d, *a.view, status, a.secret);
}

task<http_response> create(request_context& ctx, const admin_deps& d)
{
    std::string problem;
    const auto body = body_object(ctx, problem);
    if (!body) {
        co_return json_error(http::status::bad_request, "malformed_json", problem);
    }
    const auto a = co_await d.registry.create(*body);
    co_return co_await answered(d, a, http::status::created);
}

task<http_response> update(request_context& ctx, const admin_deps& d)
{
    std::string problem;
    const auto body = body_object(ctx, problem);
    if (!body) {
        co_return json_error(http::status::bad_request, "malformed_json", problem);
    }
    const auto version = expected_version(ctx);
    if (!version) {
        co_return json_error(http::status::bad_request, "invalid_parameter",
            "If-Match must be the subscriber's version as its ETag shows it, e.g. \"3\"");
    }
    std::string name(ctx.path_param("name")); // (GCC 12: no temporaries inside co_await)
    const auto a = co_await d.registry.update(std::move(name), *body, *version);
    co_return co_await answered(d, a, http::status::ok);
}

task<http_response> set_state(request_context& ctx, const admin_deps& d, subscriber_state state)
{
    std::string problem;
    const auto body = body_object(ctx, problem);
    if (!body) {
        co_return json_error(http::status::bad_request, "malformed_json", problem);
    }
    std::string reason;
    if (const auto* r = body->if_contains("reason")) {
        if (!r->is_string() || r->as_string().size() > 500) {
            co_return json_error(
                http::status::bad_request, "invalid_parameter", "reason must be a string of at most 500 characters");
        }
        reason = r->as_string();
    }
    for (const auto& [key, value] : *body) {
        (void)value;
        if (key != "reason") {
            co_return json_error(http::status::bad_request, "invalid_parameter",
                "unknown key '" + std::string(key) + "' (only \"reason\" is taken)");
        }
    }
    const auto version = expected_version(ctx);
    if (!version) {
        co_return json_error(http::status::bad_request, "invalid_parameter",
            "If-Match must be the subscriber's version as its ETag shows it, e.g. \"3\"");
    }
    const std::string name(ctx.path_param("name"));
    const auto a = co_await d.registry.set_state(name, state, std::move(reason), *version);
    if (!a.ec && state == subscriber_state::active) {
        d.deliveries.notify({name});
    }
    co_return co_await answered(d, a, http::status::ok);
}

// {"secret"?: "whsec_…", "previous_expires_in_seconds"?: 1 … 2592000 (default 86400)}
task<http_response> rotate(request_context& ctx, const admin_deps& d)
{
    std::string problem;
    const auto body = body_object(ctx, problem);
    if (!body) {
        co_return json_error(http::status::bad_request, "malformed_json", problem);
    }
    std::string secret;
    std::chrono::seconds overlap = subscriber_registry::default_overlap;
    for (const auto& [key, value] : *body) {
        if (key == "secret") {
            if (!value.is_string()) {
                co_return json_error(http::status::bad_request, "invalid_parameter",
                    "secret must be a string (whsec_ followed by base64), or left out to have one made");
            }
            secret = value.as_string();
        } else if (key == "previous_expires_in_seconds") {
            const std::int64_t n = value.is_int64() ? value.as_int64()
                : value.is_uint64()                 ? static_cast<std::int64_t>(value.as_uint64())
                                                    : -1;
            if (n < 1 || n > 30 * 86400) {
                co_return json_error(http::status::bad_request, "invalid_parameter",
                    "previous_expires_in_seconds must be a whole number of seconds from 1 to 2592000 (30 days)");
            }
            overlap = std::chrono::seconds(n);
        } else {
            co_return json_error(http::status::bad_request, "invalid_parameter",
                "unknown key '" + std::string(key) + "' (secret, previous_expires_in_seconds)");
        }
    }
    std::string name(ctx.path_param("name"));
    const auto a = co_await d.registry.rotate(std::move(name), std::move(secret), overlap);
    co_return co_await answered(d, a, http::status::ok);
}

task<http_response> drop_previous(request_context& ctx, const admin_deps& d)
{
    std::string name(ctx.path_param("name"));
    const auto a = co_await d.registry.drop_previous_secrets(std::move(name));
    co_return co_await answered(d, a, http::status::ok);
}

task<http_response> remove(request_context& ctx, const admin_deps& d)
{
    const form_params q = parse_form(ctx.query);
    const auto force = q.find("force").value_or("false");
    if (force != "true" && force != "false") {
        co_return json_error(http::status::bad_request, "invalid_parameter", "force must be true or false");
    }
    std::string name(ctx.path_param("name"));
    const auto a = co_await d.registry.remove(std::move(name), force == "true");
    if (a.ec) {
        co_return refused(a);
    }
    co_return json_response(
        http::status::ok, R"({"removed":true,"removed_deliveries":)" + std::to_string(a.removed_deliveries) + "}");
}

} // namespace

void add_subscriber_routes(router& r, const admin_deps& d)
{
    constexpr route_policy admin{.twilio_signature = false, .rate_limited = false, .permission = "", .admin = true};
    r.add(
        {http::verb::get, "/admin/subscribers", "admin_subscribers", admin, [d](request_context&) { return list(d); }});
    r.add({http::verb::post, "/admin/subscribers", "admin_subscriber_create", admin,
        [d](request_context& ctx) { return create(ctx, d); }});
    r.add({http::verb::get, "/admin/subscribers/{name}", "admin_subscriber", admin,
        [d](request_context& ctx) { return read(ctx, d); }});
    r.add({http::verb::patch, "/admin/subscribers/{name}", "admin_subscriber_update", admin,
        [d](request_context& ctx) { return update(ctx, d); }});
    r.add({http::verb::delete_, "/admin/subscribers/{name}", "admin_subscriber_remove", admin,
        [d](request_context& ctx) { return remove(ctx, d); }});
    r.add({http::verb::post, "/admin/subscribers/{name}/pause", "admin_subscriber_pause", admin,
        [d](request_context& ctx) { return set_state(ctx, d, subscriber_state::paused); }});
    r.add({http::verb::post, "/admin/subscribers/{name}/resume", "admin_subscriber_resume", admin,
        [d](request_context& ctx) { return set_state(ctx, d, subscriber_state::active); }});
    r.add({http::verb::post, "/admin/subscribers/{name}/secrets", "admin_subscriber_rotate", admin,
        [d](request_context& ctx) { return rotate(ctx, d); }});
    r.add({http::verb::delete_, "/admin/subscribers/{name}/secrets/previous", "admin_subscriber_drop_previous", admin,
        [d](request_context& ctx) { return drop_previous(ctx, d); }});
}

} // namespace switchboard
