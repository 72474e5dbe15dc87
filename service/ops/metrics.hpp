// Every Prometheus metric Switchboard exports, declared once and built from one registry.
// Names follow Prometheus conventions: switchboard_ prefix, base units, _total for counters.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/labels.h>
#include <prometheus/registry.h>

#include <array>
#include <atomic>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace switchboard {

// Counters and histogram of one route, resolved once so the hot path takes no lock.
class route_metrics {
public:
    route_metrics(prometheus::Family<prometheus::Counter>& requests,
        prometheus::Family<prometheus::Histogram>& durations, std::string route, std::string method);

    void observe(unsigned status, double seconds);

private:
    prometheus::Family<prometheus::Counter>& requests_;
    std::string route_;
    std::string method_;
    prometheus::Histogram& duration_;
    std::array<std::atomic<prometheus::Counter*>, 500> by_status_{}; // index: status - 100
    std::mutex create_mutex_;
};

// A counter family whose label takes a fixed set of values, all created up front (so every
// series exists from the start) and looked up without a lock. Values outside the set count
// under the last one (e.g. "other").
class counter_set {
public:
    counter_set(prometheus::Family<prometheus::Counter>& family, const std::string& label,
        const std::vector<std::string_view>& values, const prometheus::Labels& fixed = {});
    prometheus::Counter& operator[](std::string_view value) const noexcept;

private:
    std::vector<std::pair<std::string, prometheus::Counter*>> counters_;
};

// The delivery metrics of one subscriber (label subscriber=<name>).
struct subscriber_metrics {
    prometheus::Counter& delivered;
    prometheus::Counter& retried;
    prometheus::Counter& dead_lettered;
    counter_set attempts; // result: 2xx, 3xx, 4xx, 429, 5xx, timeout, connect_error, tls_error, io_error
    prometheus::Histogram& attempt_duration;
    prometheus::Histogram& latency; // event occurred → delivered
    prometheus::Gauge& pending;
    prometheus::Gauge& in_flight;
    prometheus::Gauge& dead;
    prometheus::Gauge& oldest_pending_age;
    prometheus::Counter& reclaimed; // Redis: deliveries taken over from replicas that stopped
    prometheus::Counter& groups_recreated; // Redis: the consumer group was lost with Redis' data
    // Claims held back: by the subscriber's rate_per_second, or because it answered 429 or
    // Retry-After (the whole subscriber waits, not just that delivery).
    prometheus::Counter& throttled_rate;
    prometheus::Counter& throttled_retry_after;
    // Times it was disabled because every delivery attempt failed for its disable_after.
    prometheus::Counter& disabled;
};

class metrics {
    // First: every family below is registered in it during construction.
    std::shared_ptr<prometheus::Registry> registry_;

public:
    metrics();
    ~metrics();

    prometheus::Registry& registry() noexcept { return *registry_; }
    // The text exposition of every metric (Prometheus format 0.0.4).
    std::string scrape() const;

    // A route's metrics; the same object is returned for the same (route, method).
    route_metrics& route(std::string_view name, std::string_view method);

    prometheus::Gauge& requests_in_flight;
    prometheus::Family<prometheus::Gauge>& connections_open;
    prometheus::Counter& tls_handshake_failures;
    // Connection caps, by listener: connections closed at accept (reason global_cap: the listener
    // is full; client_cap: that client has too many unauthenticated ones), a client's silent
    // connection closed to admit its new one, and the cap in force.
    prometheus::Family<prometheus::Counter>& connections_refused;
    prometheus::Family<prometheus::Counter>& connections_evicted;
    prometheus::Family<prometheus::Gauge>& connections_limit;
    counter_set admin_auth_failures; // reason: not_configured, missing, wrong, host, content_type
    counter_set signature_failures; // reason: missing, mismatch, body_hash
    // IVR: choices by menu and option label ("invalid", "none" for the rest).
    prometheus::Counter& ivr_selection(std::string_view menu, std::string_view choice);
    counter_set ivr_actions; // action: hangup, menu, back, repeat, dial, voicemail, sms, redirect, reject, assistant
    counter_set ivr_sms; // result: sent, failed
    prometheus::Counter& ivr_restarts; // callback state unknown to the live definition
    counter_set menu_reloads; // result: ok, refused
    prometheus::Gauge& menu_reload_ok; // 1: the last load succeeded; 0: refused (old definition live)
    counter_set call_status_callbacks; // status: queued ... failed, other
    prometheus::Counter& rate_limited;
    prometheus::Counter& tls_reloads;
    prometheus::Counter& tls_reload_failures;
    prometheus::Gauge& ready;

    // Event pipeline.
    counter_set events_published; // type
    counter_set events_duplicate; // type
    prometheus::Counter& events_refused; // webhooks answered 503: the store could not commit
    prometheus::Counter& events_spilled; // caller-facing events kept in memory (event_publisher)
    counter_set events_dropped; // reason: spill_full, shutdown
    prometheus::Gauge& events_spill_depth;
    prometheus::Histogram& store_commit_duration;
    prometheus::Histogram& store_batch_size;
    prometheus::Counter& store_commit_failures;
    prometheus::Gauge& store_up; // 1 while the store takes writes (Redis connected)
    prometheus::Counter& store_disconnects; // Redis connections lost or refused
    // Capacity (service/ops/store_monitor.cpp, every SWITCHBOARD_STORE_PROBE_SECONDS; writable
    // also after every commit).
    prometheus::Gauge& store_writable; // 0 while commits fail: disk full, read-only volume, Redis OOM
    prometheus::Gauge& store_size_bytes;
    prometheus::Gauge& store_capacity_bytes; // the volume (SQLite) or maxmemory (Redis; 0: none set)
    prometheus::Gauge& store_free_bytes;
    prometheus::Family<prometheus::Gauge>& store_rows; // kind: events, deliveries, calls, messages
    prometheus::Gauge& store_rows_events;
    prometheus::Gauge& store_rows_deliveries;
    prometheus::Gauge& store_rows_calls;
    prometheus::Gauge& store_rows_messages;
    // Retention (service/ops/retention_job.cpp).
    counter_set retention_removed; // kind: events, delivered, dead, calls, messages
    prometheus::Counter& retention_failures; // passes the store could not run
    prometheus::Gauge& retention_last_run; // Unix time a run last finished every pass it needed
    counter_set store_backups; // result: written, failed (POST /admin/store/backup)
    // Created for each configured subscriber at start-up; the same object for the same name.
    subscriber_metrics& subscriber(const std::string& name);

    // Operator API and Twilio REST client.
    counter_set api_auth_failures; // reason: missing, malformed, bad_signature, no_matching_key, expired, ...
    // Creates sent with an Idempotency-Key: outcome proceeded (first use), replayed, in_flight
    // (409), reused (422), invalid (400), unavailable (the store could not answer: 503).
    counter_set idempotency;
    // One Twilio REST request: its operation (create_call, ...), result class (2xx, 4xx, 429,
    // 5xx, timeout, connect_error, ...) and duration.
    void twilio_request(std::string_view operation, std::string_view result, double seconds);

private:
    prometheus::Family<prometheus::Counter>& requests_;
    prometheus::Family<prometheus::Histogram>& durations_;
    std::mutex routes_mutex_;
    std::vector<std::unique_ptr<route_metrics>> routes_;
    std::vector<std::pair<std::string, route_metrics*>> route_index_;
    std::unique_ptr<prometheus::Collectable> process_;
    prometheus::Family<prometheus::Counter>& deliveries_;
    prometheus::Family<prometheus::Counter>& delivery_attempts_;
    prometheus::Family<prometheus::Histogram>& attempt_durations_;
    prometheus::Family<prometheus::Histogram>& delivery_latency_;
    prometheus::Family<prometheus::Gauge>& queue_depth_;
    prometheus::Family<prometheus::Gauge>& oldest_pending_;
    prometheus::Family<prometheus::Counter>& reclaimed_;
    prometheus::Family<prometheus::Counter>& groups_recreated_;
    prometheus::Family<prometheus::Counter>& throttled_;
    prometheus::Family<prometheus::Counter>& disabled_;
    prometheus::Family<prometheus::Counter>& twilio_requests_;
    prometheus::Family<prometheus::Histogram>& twilio_durations_;
    std::mutex twilio_mutex_;
    std::vector<std::pair<std::string, prometheus::Counter*>> twilio_counters_;
    std::vector<std::pair<std::string, prometheus::Histogram*>> twilio_histograms_;
    prometheus::Family<prometheus::Counter>& ivr_selections_;
    std::mutex ivr_mutex_;
    std::vector<std::pair<std::string, prometheus::Counter*>> ivr_counters_;
    std::mutex subscribers_mutex_;
    std::vector<std::pair<std::string, std::unique_ptr<subscriber_metrics>>> subscribers_;
};

} // namespace switchboard
