// Admin handlers.
#include "service/ops/admin_routes.hpp"

#include "protocol/core/error.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/events/event_catalogue.hpp"
#include "service/events/delivery_service.hpp"
#include "service/events/subscriber_registry.hpp"
#include "service/http/http_error.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/console_routes.hpp"
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

http_response store_failure(boost::system::error_code ec, std::string_view subscriber)
{
    if (ec == error::not_found) {
        return json_error(http::status::not_found, "not_found", "no subscriber '" + std::string(subscriber) + "'");
    }
    return error_response(ec, "the event store is unavailable");
}

task<http_response> deliveries(request_context& ctx, const admin_deps& d)
{
    const std::string name(ctx.path_param("name"));
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
    const std::string name(ctx.path_param("name"));
    const std::string event_id(ctx.path_param("event_id"));
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
        [&ready = d.ready, &store = d.queue, &registry = d.registry](request_context&) -> task<http_response> {
            if (!ready.load()) {
                co_return json_response(http::status::service_unavailable, R"({"status":"not ready"})");
            }
            if (!registry.loaded()) { // until then an event would miss the stored subscribers
                co_return json_response(
                    http::status::service_unavailable, R"({"status":"not ready","subscribers":"not loaded"})");
            }
            if (!store.available()) {
                co_return json_response(
                    http::status::service_unavailable, R"({"status":"not ready","store":"unavailable"})");
            }
            co_return json_response(http::status::ok, R"({"status":"ready"})");
        }});
    constexpr route_policy admin{.twilio_signature = false, .rate_limited = false, .permission = "", .admin = true};
    add_subscriber_routes(r, d);
    add_console_routes(r, d);
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
