// Metric families, per-route resolution, process metrics and the scrape.
// One file because every metric family is declared here once (name, help, labels), so the
// metric names operators and alerts depend on are in one place.
#include "service/ops/metrics.hpp"

#include "service/ops/log.hpp"

#include "protocol/events/call_event.hpp"
#include "protocol/ivr/ivr_menu.hpp"
#include "protocol/twilio/call_status.hpp"

#include <prometheus/collectable.h>
#include <prometheus/text_serializer.h>

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#ifndef SWITCHBOARD_VERSION
#define SWITCHBOARD_VERSION "unknown"
#endif
#ifndef SWITCHBOARD_GIT_COMMIT
#define SWITCHBOARD_GIT_COMMIT "unknown"
#endif

namespace switchboard {
namespace {

const prometheus::Histogram::BucketBoundaries latency_buckets
    = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};

prometheus::MetricFamily gauge_family(std::string name, std::string help, double value)
{
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = prometheus::MetricType::Gauge;
    prometheus::ClientMetric m;
    m.gauge.value = value;
    f.metric.push_back(m);
    return f;
}

prometheus::MetricFamily counter_family(std::string name, std::string help, double value)
{
    prometheus::MetricFamily f;
    f.name = std::move(name);
    f.help = std::move(help);
    f.type = prometheus::MetricType::Counter;
    prometheus::ClientMetric m;
    m.counter.value = value;
    f.metric.push_back(m);
    return f;
}

// The standard process_* metrics, read from /proc at scrape time.
class process_collector final : public prometheus::Collectable {
public:
    std::vector<prometheus::MetricFamily> Collect() const override
    {
        std::vector<prometheus::MetricFamily> out;
        const long ticks = sysconf(_SC_CLK_TCK);
        const long page = sysconf(_SC_PAGESIZE);
        std::ifstream stat("/proc/self/stat");
        std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
        // Fields after the parenthesised command name (which may contain spaces).
        const std::size_t close = content.rfind(')');
        if (close != std::string::npos && ticks > 0) {
            std::istringstream in(content.substr(close + 2));
            std::vector<std::string> f;
            for (std::string s; in >> s;) {
                f.push_back(s);
            }
            // f[0] is field 3 (state): utime=14, stime=15, starttime=22, vsize=23, rss=24.
            if (f.size() > 21) {
                const double cpu = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(ticks);
                out.push_back(counter_family(
                    "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", cpu));
                out.push_back(
                    gauge_family("process_virtual_memory_bytes", "Virtual memory size in bytes.", std::stod(f[20])));
                out.push_back(gauge_family("process_resident_memory_bytes", "Resident memory size in bytes.",
                    std::stod(f[21]) * static_cast<double>(page)));
                out.push_back(
                    gauge_family("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
                        boot_time() + std::stod(f[19]) / static_cast<double>(ticks)));
            }
        }
        out.push_back(gauge_family("process_open_fds", "Number of open file descriptors.", open_fds()));
        out.push_back(counter_family("switchboard_log_lines_dropped_total",
            "Log lines dropped because stdout did not keep up (the 4 MiB log queue was full).",
            static_cast<double>(log::dropped_lines())));
        rlimit lim{};
        if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
            out.push_back(gauge_family(
                "process_max_fds", "Maximum number of open file descriptors.", static_cast<double>(lim.rlim_cur)));
        }
        return out;
    }

private:
    static double boot_time()
    {
        std::ifstream in("/proc/stat");
        for (std::string line; std::getline(in, line);) {
            if (line.rfind("btime ", 0) == 0) {
                return std::stod(line.substr(6));
            }
        }
        return 0;
    }

    static double open_fds()
    {
        DIR* d = opendir("/proc/self/fd");
        if (d == nullptr) {
            return 0;
        }
        double n = 0;
        while (const dirent* e = readdir(d)) {
            if (e->d_name[0] != '.') {
                n += 1;
            }
        }
        closedir(d);
        return n - 1; // the directory stream itself
    }
};

prometheus::Family<prometheus::Counter>& counters(prometheus::Registry& r, const char* name, const char* help)
{
    return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

prometheus::Family<prometheus::Gauge>& gauges(prometheus::Registry& r, const char* name, const char* help)
{
    return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}

// The label values come from the protocol enumerations, so a new status or choice is counted
// under its own name without touching this file.
std::vector<std::string_view> call_status_labels()
{
    std::vector<std::string_view> out;
    for (int s = 0; s <= static_cast<int>(call_status::other); ++s) {
        out.push_back(to_string(static_cast<call_status>(s)));
    }
    return out; // "other" last: unknown values count there
}

std::vector<std::string_view> event_type_labels()
{
    std::vector<std::string_view> out;
    for (int t = 0; t <= static_cast<int>(last_event_type); ++t) {
        out.push_back(to_string(static_cast<event_type>(t)));
    }
    return out;
}

prometheus::Family<prometheus::Histogram>& histograms(prometheus::Registry& r, const char* name, const char* help)
{
    return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

const prometheus::Histogram::BucketBoundaries commit_buckets
    = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1};
const prometheus::Histogram::BucketBoundaries batch_buckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const prometheus::Histogram::BucketBoundaries attempt_buckets
    = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
const prometheus::Histogram::BucketBoundaries delivery_latency_buckets
    = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 21600, 86400};

std::vector<std::string_view> ivr_action_labels()
{
    std::vector<std::string_view> out;
    for (int a = 0; a <= static_cast<int>(ivr::action_type::assistant); ++a) {
        out.push_back(ivr::to_string(static_cast<ivr::action_type>(a)));
    }
    return out;
}

} // namespace

counter_set::counter_set(prometheus::Family<prometheus::Counter>& family, const std::string& label,
    const std::vector<std::string_view>& values, const prometheus::Labels& fixed)
{
    for (const auto v : values) {
        prometheus::Labels labels = fixed;
        labels.emplace(label, std::string(v));
        counters_.emplace_back(std::string(v), &family.Add(labels));
    }
}

prometheus::Counter& counter_set::operator[](std::string_view value) const noexcept
{
    for (const auto& [v, c] : counters_) {
        if (v == value) {
            return *c;
        }
    }
    return *counters_.back().second;
}

route_metrics::route_metrics(prometheus::Family<prometheus::Counter>& requests,
    prometheus::Family<prometheus::Histogram>& durations, std::string route, std::string method)
    : requests_(requests)
    , route_(std::move(route))
    , method_(std::move(method))
    , duration_(durations.Add({{"route", route_}}, latency_buckets))
{
}

void route_metrics::observe(unsigned status, double seconds)
{
    duration_.Observe(seconds);
    if (status < 100 || status > 599) {
        status = 500;
    }
    auto& slot = by_status_[status - 100];
    prometheus::Counter* c = slot.load(std::memory_order_acquire);
    if (c == nullptr) {
        const std::lock_guard lock(create_mutex_);
        c = &requests_.Add({{"route", route_}, {"method", method_}, {"code", std::to_string(status)}});
        slot.store(c, std::memory_order_release);
    }
    c->Increment();
}

metrics::metrics()
    : registry_(std::make_shared<prometheus::Registry>())
    , requests_in_flight(
          gauges(*registry_, "switchboard_http_requests_in_flight", "HTTP requests being handled now.").Add({}))
    , connections_open(gauges(*registry_, "switchboard_http_connections_open", "Open HTTP connections by listener."))
    , tls_handshake_failures(
          counters(*registry_, "switchboard_tls_handshake_failures_total", "TLS handshakes that failed or timed out.")
              .Add({}))
    , connections_refused(counters(*registry_, "switchboard_http_connections_refused_total",
          "Connections closed as soon as they were accepted, by listener and reason (global_cap: the listener holds "
          "its maximum; client_cap: the client holds its maximum of unauthenticated connections)."))
    , connections_evicted(counters(*registry_, "switchboard_http_connections_evicted_total",
          "Silent unauthenticated connections closed to admit a newer one from the same client, by listener."))
    , connections_limit(gauges(*registry_, "switchboard_http_connections_limit",
          "Most connections a listener holds open (SWITCHBOARD_MAX_CONNECTIONS or derived from the open-file "
          "limit)."))
    , admin_auth_failures(counters(*registry_, "switchboard_admin_auth_failures_total",
                              "Admin API requests refused, by reason (not_configured, missing, wrong, host, "
                              "content_type)."),
          "reason", {"not_configured", "missing", "wrong", "host", "content_type"})
    , signature_failures(counters(*registry_, "switchboard_twilio_signature_failures_total",
                             "Requests refused for a missing or wrong X-Twilio-Signature, by reason."),
          "reason", {"missing", "body_hash", "mismatch"})
    , ivr_actions(counters(*registry_, "switchboard_ivr_actions_total", "IVR actions run, by action type."), "action",
          ivr_action_labels())
    , ivr_sms(counters(*registry_, "switchboard_ivr_sms_total",
                  "Text messages of the IVR's sms action, by result (sent; failed; duplicate: a retried or replayed "
                  "request whose SMS was already sent; over_budget: the number's hourly budget is spent)."),
          "result", {"sent", "failed", "duplicate", "over_budget"})
    , ivr_restarts(counters(*registry_, "switchboard_ivr_restarts_total",
          "IVR callbacks whose menu state the live definition no longer has: the caller restarts at the line's "
          "start menu.")
                       .Add({}))
    , menu_reloads(counters(*registry_, "switchboard_menu_reloads_total",
                       "Menu definition loads after start-up (SIGHUP or file change), by result (ok, refused)."),
          "result", {"ok", "refused"})
    , menu_reload_ok(gauges(*registry_, "switchboard_menu_reload_ok",
          "1 when the last menu definition load succeeded; 0 when it was refused and the previous one stays live.")
                         .Add({}))
    , call_status_callbacks(counters(*registry_, "switchboard_call_status_callbacks_total",
                                "Voice status callbacks received, by call status."),
          "status", call_status_labels())
    , rate_limited(counters(
          *registry_, "switchboard_rate_limited_requests_total", "Requests answered 429 by the per-client rate limit.")
                       .Add({}))
    , tls_reloads(
          counters(*registry_, "switchboard_tls_reloads_total", "Successful TLS certificate reloads (SIGHUP).").Add({}))
    , tls_reload_failures(counters(*registry_, "switchboard_tls_reload_failures_total",
          "TLS certificate reloads refused; the previous certificate stays in use.")
                              .Add({}))
    , ready(gauges(*registry_, "switchboard_ready",
          "1 while the instance accepts traffic (readiness), 0 while starting or draining.")
                .Add({}))
    , events_published(counters(*registry_, "switchboard_events_published_total",
                           "Events committed to the store (and queued for every matching subscriber), by type."),
          "type", event_type_labels())
    , events_duplicate(
          counters(*registry_, "switchboard_events_duplicates_total",
              "Webhooks recognised as Twilio retries of a stored event (answered 2xx, nothing new), by type."),
          "type", event_type_labels())
    , events_refused(counters(*registry_, "switchboard_events_refused_total",
          "Event webhooks answered 503 because the store could not commit them.")
                         .Add({}))
    , events_spilled(counters(*registry_, "switchboard_events_spilled_total",
          "Caller-facing events (menu choice, voicemail, assistant end) the store refused, kept in memory to be "
          "stored when it takes writes again; the caller heard the answer.")
                         .Add({}))
    , events_dropped(counters(*registry_, "switchboard_events_dropped_total",
                         "Caller-facing events lost: the spill was full, or the process stopped before the store "
                         "took them (each logged at error), by reason."),
          "reason", {"spill_full", "shutdown"})
    , events_spill_depth(gauges(*registry_, "switchboard_events_spill_depth",
          "Caller-facing events waiting in memory for the store to take writes again.")
                             .Add({}))
    , store_commit_duration(histograms(*registry_, "switchboard_store_commit_duration_seconds",
          "Time to run and commit one batch of store operations (group commit).")
                                .Add({}, commit_buckets))
    , store_batch_size(
          histograms(*registry_, "switchboard_store_batch_size", "Operations per committed batch (group commit).")
              .Add({}, batch_buckets))
    , store_commit_failures(counters(*registry_, "switchboard_store_commit_failures_total",
          "Batches the store could not commit (disk full, I/O error).")
                                .Add({}))
    , store_up(gauges(*registry_, "switchboard_store_up",
          "1 while the event store takes writes; 0 while Redis is unreachable or, on SQLite, since a commit failed "
          "(disk full, read-only volume) until one succeeds (webhooks needing it answer 503).")
                   .Add({}))
    , store_disconnects(counters(*registry_, "switchboard_store_disconnects_total",
          "Redis connections lost, or connection attempts that failed.")
                            .Add({}))
    , store_writable(gauges(*registry_, "switchboard_store_writable",
          "1 while the store commits writes; 0 since a commit or the periodic write probe failed (disk full, "
          "read-only file system, Redis at maxmemory or unreachable), until one succeeds.")
                         .Add({}))
    , store_size_bytes(gauges(*registry_, "switchboard_store_size_bytes",
          "Size of the store: the SQLite database and WAL files, or Redis used_memory.")
                           .Add({}))
    , store_capacity_bytes(gauges(*registry_, "switchboard_store_capacity_bytes",
          "Room the store has in all: the data directory's file system (SQLite) or maxmemory (Redis; 0: no limit).")
                               .Add({}))
    , store_free_bytes(gauges(*registry_, "switchboard_store_free_bytes",
          "Room left: free space of the data directory's file system available to the service (SQLite), or "
          "maxmemory minus used_memory (Redis; 0 without a limit).")
                           .Add({}))
    , store_rows(gauges(*registry_, "switchboard_store_rows",
          "Records in the store, by kind: events, delivery rows (any state), calls, messages."))
    , store_rows_events(store_rows.Add({{"kind", "events"}}))
    , store_rows_deliveries(store_rows.Add({{"kind", "deliveries"}}))
    , store_rows_calls(store_rows.Add({{"kind", "calls"}}))
    , store_rows_messages(store_rows.Add({{"kind", "messages"}}))
    , retention_removed(counters(*registry_, "switchboard_retention_removed_total",
                            "Records removed by retention, by kind: events, delivered and dead delivery rows, calls, "
                            "messages."),
          "kind", {"events", "delivered", "dead", "calls", "messages"})
    , retention_failures(counters(*registry_, "switchboard_retention_failures_total",
          "Retention passes the store could not run (the run stops and is tried again at the next interval).")
                             .Add({}))
    , retention_last_run(gauges(*registry_, "switchboard_retention_last_run_timestamp_seconds",
          "Unix time at which a retention run last finished (0: none yet, or retention is off).")
                             .Add({}))
    , store_backups(counters(*registry_, "switchboard_store_backups_total",
                        "Copies of the SQLite store made by POST /admin/store/backup, by result: written, failed."),
          "result", {"written", "failed"})
    , api_auth_failures(counters(*registry_, "switchboard_api_auth_failures_total",
                            "Operator API requests refused: 401 by token problem, 403 for a missing permission."),
          "reason",
          {"missing", "malformed", "bad_signature", "no_matching_key", "missing_exp", "expired", "not_yet_valid",
              "too_long_lived", "wrong_issuer", "wrong_audience", "forbidden"})
    , idempotency(
          counters(*registry_, "switchboard_idempotency_requests_total",
              "Operator API creates sent with an Idempotency-Key, by outcome: proceeded (first use of the key), "
              "replayed (the first answer sent again), in_flight (409), reused (422: another request), "
              "invalid (400), unavailable (503: the store could not answer)."),
          "outcome", {"proceeded", "replayed", "in_flight", "reused", "invalid", "unavailable"})
    , requests_(counters(
          *registry_, "switchboard_http_requests_total", "HTTP requests answered, by route, method and status code."))
    , durations_(prometheus::BuildHistogram()
                     .Name("switchboard_http_request_duration_seconds")
                     .Help("Time from a complete request to its response being written, by route.")
                     .Register(*registry_))
    , deliveries_(counters(*registry_, "switchboard_deliveries_total",
          "Delivery outcomes by subscriber: delivered, retry (failed, will be retried), dead_lettered (given up)."))
    , delivery_attempts_(
          counters(*registry_, "switchboard_delivery_attempts_total", "Delivery attempts by subscriber and result."))
    , attempt_durations_(histograms(*registry_, "switchboard_delivery_attempt_duration_seconds",
          "Time of one delivery attempt (connect, send, response), by subscriber."))
    , delivery_latency_(histograms(*registry_, "switchboard_delivery_latency_seconds",
          "Time from an event occurring to its successful delivery, by subscriber."))
    , queue_depth_(gauges(*registry_, "switchboard_delivery_queue_depth",
          "Deliveries by subscriber and state: pending, in_flight, dead (dead-lettered, awaiting replay)."))
    , oldest_pending_(gauges(*registry_, "switchboard_delivery_oldest_pending_age_seconds",
          "Age of the oldest event not yet delivered to the subscriber (0 when none)."))
    , reclaimed_(counters(*registry_, "switchboard_redis_reclaimed_total",
          "Deliveries this replica took over from a replica that stopped with them in flight (Redis), by "
          "subscriber."))
    , groups_recreated_(counters(*registry_, "switchboard_redis_groups_recreated_total",
          "Delivery consumer groups found missing and made again: Redis lost its data (Redis), by subscriber."))
    , throttled_(counters(*registry_, "switchboard_delivery_throttled_total",
          "Times a subscriber's deliveries were held back, by reason: rate_limit (its rate_per_second) or "
          "retry_after (it answered 429 or sent Retry-After: every delivery to it waits)."))
    , disabled_(counters(*registry_, "switchboard_subscriber_disabled_total",
          "Times a subscriber was disabled because every delivery attempt to it failed for its "
          "disable_after_seconds (its events keep queueing until it is resumed), by subscriber."))
    , twilio_requests_(counters(*registry_, "switchboard_twilio_api_requests_total",
          "Twilio REST API requests by operation and result (2xx, 4xx, 429, 5xx, timeout, connect_error, ...)."))
    , twilio_durations_(histograms(*registry_, "switchboard_twilio_api_request_duration_seconds",
          "Time of one Twilio REST API request (connect, send, response), by operation."))
    , ivr_selections_(counters(*registry_, "switchboard_ivr_menu_selections_total",
          "IVR menu choices by menu and option label (invalid: no option matched; none: no input)."))
{
    prometheus::BuildGauge()
        .Name("switchboard_build_info")
        .Help("Build information; the value is always 1.")
        .Register(*registry_)
        .Add({{"version", SWITCHBOARD_VERSION}, {"commit", SWITCHBOARD_GIT_COMMIT}})
        .Set(1);
    process_ = std::make_unique<process_collector>();
}

metrics::~metrics() = default;

std::string metrics::scrape() const
{
    const prometheus::TextSerializer serializer;
    auto families = registry_->Collect();
    auto process = process_->Collect();
    families.insert(families.end(), std::make_move_iterator(process.begin()), std::make_move_iterator(process.end()));
    return serializer.Serialize(families);
}

subscriber_metrics& metrics::subscriber(const std::string& name)
{
    const std::lock_guard lock(subscribers_mutex_);
    for (const auto& [n, m] : subscribers_) {
        if (n == name) {
            return *m;
        }
    }
    const prometheus::Labels label{{"subscriber", name}};
    const auto with = [&](const char* key, const char* value) {
        prometheus::Labels l = label;
        l.emplace(key, value);
        return l;
    };
    std::vector<std::string_view> results
        = {"2xx", "3xx", "4xx", "429", "5xx", "timeout", "connect_error", "tls_error", "io_error"};
    auto m = std::unique_ptr<subscriber_metrics>(new subscriber_metrics{
        deliveries_.Add(with("outcome", "delivered")),
        deliveries_.Add(with("outcome", "retry")),
        deliveries_.Add(with("outcome", "dead_lettered")),
        counter_set(delivery_attempts_, "result", results, label),
        attempt_durations_.Add(label, attempt_buckets),
        delivery_latency_.Add(label, delivery_latency_buckets),
        queue_depth_.Add(with("state", "pending")),
        queue_depth_.Add(with("state", "in_flight")),
        queue_depth_.Add(with("state", "dead")),
        oldest_pending_.Add(label),
        reclaimed_.Add(label),
        groups_recreated_.Add(label),
        throttled_.Add(with("reason", "rate_limit")),
        throttled_.Add(with("reason", "retry_after")),
        disabled_.Add(label),
    });
    subscribers_.emplace_back(name, std::move(m));
    return *subscribers_.back().second;
}

void metrics::twilio_request(std::string_view operation, std::string_view result, double seconds)
{
    prometheus::Counter* counter = nullptr;
    prometheus::Histogram* histogram = nullptr;
    {
        const std::lock_guard lock(twilio_mutex_);
        const std::string key = std::string(operation) + ' ' + std::string(result);
        for (const auto& [k, c] : twilio_counters_) {
            if (k == key) {
                counter = c;
            }
        }
        if (counter == nullptr) {
            counter = &twilio_requests_.Add({{"operation", std::string(operation)}, {"result", std::string(result)}});
            twilio_counters_.emplace_back(key, counter);
        }
        for (const auto& [k, h] : twilio_histograms_) {
            if (k == operation) {
                histogram = h;
            }
        }
        if (histogram == nullptr) {
            histogram = &twilio_durations_.Add({{"operation", std::string(operation)}}, latency_buckets);
            twilio_histograms_.emplace_back(std::string(operation), histogram);
        }
    }
    counter->Increment();
    histogram->Observe(seconds);
}

prometheus::Counter& metrics::ivr_selection(std::string_view menu, std::string_view choice)
{
    const std::lock_guard lock(ivr_mutex_);
    std::string key = std::string(menu) + ' ' + std::string(choice);
    for (const auto& [k, c] : ivr_counters_) {
        if (k == key) {
            return *c;
        }
    }
    auto& c = ivr_selections_.Add({{"menu", std::string(menu)}, {"choice", std::string(choice)}});
    ivr_counters_.emplace_back(std::move(key), &c);
    return c;
}

route_metrics& metrics::route(std::string_view name, std::string_view method)
{
    const std::lock_guard lock(routes_mutex_);
    std::string key = std::string(name) + ' ' + std::string(method);
    for (const auto& [k, r] : route_index_) {
        if (k == key) {
            return *r;
        }
    }
    routes_.push_back(std::make_unique<route_metrics>(requests_, durations_, std::string(name), std::string(method)));
    route_index_.emplace_back(std::move(key), routes_.back().get());
    return *routes_.back();
}

} // namespace switchboard
