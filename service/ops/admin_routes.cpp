// Admin handlers.
#include "service/ops/admin_routes.hpp"

#include "protocol/core/error.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/events/event_catalogue.hpp"
#include "service/events/delivery_service.hpp"
#include "service/http/http_error.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"
#include "service/store/awaitable_store.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace switchboard {
namespace {

// 20261202T101500Z: file names that sort by time.
std::string backup_stamp(std::int64_t unix_ms)
{
    const std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

// The rename is durable once the directory is synced.
void sync_directory(const std::string& dir)
{
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

std::string_view path_param(const request_context& ctx, std::string_view name)
{
    for (const auto& [k, v] : ctx.path_params) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

// Query strings often carry a receiver's credential (?token=…): listings show names only.
std::string redact_query(std::string_view url)
{
    const std::size_t q = url.find('?');
    if (q == std::string_view::npos) {
        return std::string(url);
    }
    std::string out(url.substr(0, q + 1));
    std::string_view rest = url.substr(q + 1);
    const std::size_t hash = rest.find('#');
    rest = rest.substr(0, hash);
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

http_response store_failure(boost::system::error_code ec, std::string_view subscriber)
{
    if (ec == error::not_found) {
        return json_error(http::status::not_found, "not_found", "no subscriber '" + std::string(subscriber) + "'");
    }
    return error_response(ec, "the event store is unavailable");
}

// A number of seconds (or any setting) as people write it: 10, not Boost.JSON's 1E1 for 10.0.
boost::json::value plain_number(double v)
{
    if (v == std::floor(v) && std::fabs(v) < 9e15) {
        return static_cast<std::int64_t>(v);
    }
    return v;
}

// A subscriber as the admin API shows it: its settings without a secret or a header value
// (they are credentials), where it is managed, its queue and what this process did for it.
boost::json::object subscriber_json(
    const admin_deps& d, const std::string& name, const queue_stats* q, std::int64_t now)
{
    boost::json::object o;
    o["name"] = name;
    for (const auto& s : d.subscribers) {
        if (s.name != name) {
            continue;
        }
        o["managed_by"] = "configuration"; // SWITCHBOARD_SUBSCRIBERS: changed by a (rolling) restart
        o["url"] = redact_query(s.url);
        boost::json::array events;
        for (const auto& e : s.events) {
            events.emplace_back(e);
        }
        o["events"] = std::move(events);
        o["concurrency"] = s.concurrency;
        o["rate_per_second"] = plain_number(s.rate_per_second);
        o["timeout_seconds"] = plain_number(static_cast<double>(s.timeout.count()) / 1000.0);
        o["max_attempts"] = s.retry.max_attempts;
        o["max_age_seconds"] = plain_number(static_cast<double>(s.retry.max_age.count()) / 1000.0);
        o["initial_delay_seconds"] = plain_number(static_cast<double>(s.retry.initial_delay.count()) / 1000.0);
        o["max_delay_seconds"] = plain_number(static_cast<double>(s.retry.max_delay.count()) / 1000.0);
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
    if (q != nullptr) {
        o["pending"] = q->pending;
        o["in_flight"] = q->in_flight;
        o["dead"] = q->dead;
        o["oldest_pending_age_ms"]
            = q->oldest_pending_occurred_at_ms ? std::max<std::int64_t>(0, now - *q->oldest_pending_occurred_at_ms) : 0;
    }
    // Since this process started (the metrics hold the same counts).
    const auto& m = d.stats.subscriber(name);
    o["delivered"] = static_cast<std::int64_t>(m.delivered.Value());
    o["retried"] = static_cast<std::int64_t>(m.retried.Value());
    o["dead_lettered"] = static_cast<std::int64_t>(m.dead_lettered.Value());
    return o;
}

task<http_response> subscribers(const admin_deps& d)
{
    auto r = co_await d.queue.stats();
    if (!r) {
        co_return store_failure(r.error(), "");
    }
    const std::int64_t now = unix_ms_now();
    boost::json::array list;
    for (const auto& q : *r) {
        list.push_back(subscriber_json(d, q.subscriber, &q, now));
    }
    boost::json::object doc;
    doc["subscribers"] = std::move(list);
    co_return json_response(http::status::ok, boost::json::serialize(doc));
}

task<http_response> subscriber(request_context& ctx, const admin_deps& d)
{
    const std::string name(path_param(ctx, "name"));
    auto r = co_await d.queue.stats();
    if (!r) {
        co_return store_failure(r.error(), "");
    }
    const bool configured
        = std::any_of(d.subscribers.begin(), d.subscribers.end(), [&](const auto& s) { return s.name == name; });
    const auto q = std::find_if(r->begin(), r->end(), [&](const auto& x) { return x.subscriber == name; });
    if (!configured && q == r->end()) {
        co_return json_error(http::status::not_found, "not_found", "no subscriber '" + name + "'");
    }
    co_return json_response(http::status::ok,
        boost::json::serialize(subscriber_json(d, name, q == r->end() ? nullptr : &*q, unix_ms_now())));
}

task<http_response> deliveries(request_context& ctx, const admin_deps& d)
{
    const std::string name(path_param(ctx, "name"));
    const form_params q = parse_form(ctx.query);
    const auto state = parse_delivery_state(q.find("state").value_or("dead"));
    if (!state) {
        co_return json_error(
            http::status::bad_request, "invalid_parameter", "state must be pending, in_flight, delivered or dead");
    }
    std::int64_t limit = 100;
    std::int64_t after = 0;
    for (auto [key, target, max] :
        {std::tuple{"limit", &limit, std::int64_t{1000}}, std::tuple{"after", &after, INT64_MAX}}) {
        const auto v = q.find(key);
        if (!v || v->empty()) {
            continue;
        }
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), *target);
        if (ec != std::errc{} || end != v->data() + v->size() || *target < 0 || *target > max
            || (*target == 0 && target == &limit)) {
            co_return json_error(http::status::bad_request, "invalid_parameter",
                std::string(key) + " must be a whole number" + (target == &limit ? " from 1 to 1000" : ""));
        }
    }
    auto r = co_await d.queue.list(name, *state, static_cast<std::size_t>(limit), after);
    if (!r) {
        co_return store_failure(r.error(), name);
    }
    boost::json::array rows;
    for (const auto& row : *r) {
        boost::json::object o;
        o["seq"] = row.seq;
        o["event_id"] = row.event_id;
        o["type"] = row.type;
        o["occurred_at"] = format_timestamp(row.occurred_at_ms);
        o["state"] = to_string(row.state);
        o["attempts"] = row.attempts;
        if (row.next_attempt_at_ms) {
            o["next_attempt_at"] = format_timestamp(*row.next_attempt_at_ms);
        }
        if (row.last_status != 0) {
            o["last_status"] = row.last_status;
        }
        if (!row.last_error.empty()) {
            o["last_error"] = row.last_error;
        }
        rows.push_back(std::move(o));
    }
    boost::json::object doc;
    doc["subscriber"] = name;
    doc["state"] = to_string(*state);
    if (static_cast<std::int64_t>(r->size()) == limit && !r->empty()) {
        doc["next_after"] = r->back().seq;
    }
    doc["deliveries"] = std::move(rows);
    co_return json_response(http::status::ok, boost::json::serialize(doc));
}

task<http_response> replay(request_context& ctx, const admin_deps& d)
{
    const std::string name(path_param(ctx, "name"));
    const std::string event_id(path_param(ctx, "event_id"));
    auto r = co_await d.queue.replay(name, event_id, unix_ms_now());
    // All of them: in bounded batches, each its own store operation (webhooks commit between).
    std::int64_t total = r ? *r : 0;
    while (event_id.empty() && r && *r == static_cast<std::int64_t>(event_store::replay_batch)) {
        d.deliveries.notify({name});
        r = co_await d.queue.replay(name, event_id, unix_ms_now());
        if (r) {
            total += *r;
        }
    }
    if (r) {
        r = total;
    }
    if (!r) {
        if (r.error() == error::not_found && !event_id.empty()) {
            co_return json_error(http::status::not_found, "not_found",
                "no dead-lettered event '" + event_id + "' for subscriber '" + name + "'");
        }
        co_return store_failure(r.error(), name);
    }
    if (*r > 0) {
        d.deliveries.notify({name});
    }
    co_return json_response(http::status::ok, R"({"replayed":)" + std::to_string(*r) + "}");
}

// A copy of the SQLite store at backups/switchboard-<UTC time>.db in the data directory, through
// SQLite's online backup API beside the running service (written as .partial, fsynced, then
// renamed); ?keep=N removes all but the newest N copies afterwards.
task<http_response> backup(request_context& ctx, const admin_deps& d)
{
    if (d.backup_dir.empty()) {
        co_return json_error(http::status::conflict, "not_supported",
            "the Redis store is backed up by Redis' own persistence (appendonly, BGSAVE): README \"Data and "
            "capacity\"");
    }
    const form_params q = parse_form(ctx.query);
    std::int64_t keep = 0;
    if (const auto v = q.find("keep"); v && !v->empty()) {
        const auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), keep);
        if (ec != std::errc{} || end != v->data() + v->size() || keep < 1 || keep > 10000) {
            co_return json_error(
                http::status::bad_request, "invalid_parameter", "keep must be a whole number from 1 to 10000");
        }
    }
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::create_directories(d.backup_dir, ec);
    if (ec) {
        co_return json_error(http::status::internal_server_error, "backup_failed",
            "cannot create " + d.backup_dir + ": " + ec.message());
    }
    const std::int64_t now = unix_ms_now();
    const std::string name = "switchboard-" + backup_stamp(now) + ".db";
    const fs::path final_path = fs::path(d.backup_dir) / name;
    const std::string partial = final_path.string() + ".partial";
    const auto started = std::chrono::steady_clock::now();
    auto bytes = co_await d.health.backup(partial);
    if (!bytes) {
        d.stats.store_backups["failed"].Increment();
        co_return json_error(http::status::service_unavailable, "backup_failed",
            "the store could not write the copy (see the log: a full volume?)");
    }
    fs::rename(partial, final_path, ec);
    if (ec) {
        d.stats.store_backups["failed"].Increment();
        co_return json_error(http::status::internal_server_error, "backup_failed", "rename: " + ec.message());
    }
    sync_directory(d.backup_dir);
    boost::json::array removed;
    if (keep > 0) {
        std::vector<std::string> copies;
        for (const auto& e : fs::directory_iterator(d.backup_dir, ec)) {
            const std::string f = e.path().filename().string();
            if (f.starts_with("switchboard-") && f.ends_with(".db")) {
                copies.push_back(f);
            }
        }
        std::sort(copies.begin(), copies.end()); // the names sort by time
        for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < copies.size(); ++i) {
            if (fs::remove(fs::path(d.backup_dir) / copies[i], ec)) {
                removed.emplace_back(copies[i]);
            }
        }
    }
    d.stats.store_backups["written"].Increment();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::line(log::level::info, "store backup written")
        .str("file", final_path.string())
        .num("bytes", *bytes)
        .real("seconds", seconds)
        .emit();
    boost::json::object doc;
    doc["file"] = final_path.string();
    doc["bytes"] = *bytes;
    doc["seconds"] = seconds;
    doc["removed"] = std::move(removed);
    co_return json_response(http::status::ok, boost::json::serialize(doc));
}

} // namespace

void add_admin_routes(router& r, admin_deps d)
{
    r.add({http::verb::get, "/metrics", "metrics", {}, [&stats = d.stats](request_context&) -> task<http_response> {
               co_return text_response(http::status::ok, stats.scrape(), "text/plain; version=0.0.4; charset=utf-8");
           }});
    r.add({http::verb::get, "/healthz", "healthz", {}, [](request_context&) -> task<http_response> {
               co_return json_response(http::status::ok, R"({"status":"ok"})");
           }});
    // Not ready while starting, draining, or while the store cannot take writes (Redis down):
    // the Service then sends Twilio to replicas that can accept events.
    r.add({http::verb::get, "/readyz", "readyz", {},
        [&ready = d.ready, &store = d.queue](request_context&) -> task<http_response> {
            if (!ready.load()) {
                co_return json_response(http::status::service_unavailable, R"({"status":"not ready"})");
            }
            if (!store.available()) {
                co_return json_response(
                    http::status::service_unavailable, R"({"status":"not ready","store":"unavailable"})");
            }
            co_return json_response(http::status::ok, R"({"status":"ready"})");
        }});
    constexpr route_policy admin{.twilio_signature = false, .rate_limited = false, .permission = "", .admin = true};
    r.add({http::verb::get, "/admin/subscribers", "admin_subscribers", admin,
        [d](request_context&) { return subscribers(d); }});
    r.add({http::verb::get, "/admin/subscribers/{name}", "admin_subscriber", admin,
        [d](request_context& ctx) { return subscriber(ctx, d); }});
    r.add({http::verb::get, "/admin/subscribers/{name}/deliveries", "admin_deliveries", admin,
        [d](request_context& ctx) { return deliveries(ctx, d); }});
    r.add({http::verb::post, "/admin/subscribers/{name}/dead/replay", "admin_replay_all", admin,
        [d](request_context& ctx) { return replay(ctx, d); }});
    r.add({http::verb::post, "/admin/subscribers/{name}/dead/{event_id}/replay", "admin_replay_one", admin,
        [d](request_context& ctx) { return replay(ctx, d); }});
    r.add({http::verb::post, "/admin/store/backup", "admin_store_backup", admin,
        [d](request_context& ctx) { return backup(ctx, d); }});
    // The event catalogue: every event type with the JSON Schema of its delivered document.
    r.add({http::verb::get, "/admin/event-types", "admin_event_types", admin,
        [](request_context&) -> task<http_response> {
            co_return json_response(http::status::ok, event_catalogue_json());
        }});
}

} // namespace switchboard
