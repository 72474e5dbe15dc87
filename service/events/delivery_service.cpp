// Deliveries to subscribers: dispatcher, signed requests over service/http_client, outcome recording,
// and the workers' life (made, replaced and stopped as the subscriber list changes).
//
// One file because the worker and the service that starts, replaces and frees it share the
// worker's strand-only state and counters; a header for the worker would publish all of it.
#include "service/events/delivery_service.hpp"

#include "protocol/events/delivery_policy.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "service/events/delivery_pace.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"

#include "service/client/http_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <random>

namespace switchboard {
namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});

double jitter()
{
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

} // namespace

struct delivery_service::worker {
    worker(net::io_context& ioc, delivery_queue& s, metrics& m, const subscriber_config& c, redis_client* redis,
        const std::string& prefix, const delivery_observer& o)
        : cfg(c)
        , observer(o)
        , keys(keys_of(c))
        , strand(net::make_strand(ioc))
        , store(s)
        , stats(m.subscriber(c.name))
        , wake(strand)
        , client(make_client(strand, c))
        , pace(cfg, stats, redis, prefix)
    {
    }

    static std::unique_ptr<http_client> make_client(const connection_executor& strand, const subscriber_config& c)
    {
        try {
            return std::make_unique<http_client>(strand,
                http_origin{c.https, c.host, c.port, c.ca_file, c.client_cert_file, c.client_key_file}, c.concurrency,
                64 * 1024);
        } catch (const std::exception& e) {
            throw std::runtime_error("subscriber " + c.name + ": " + e.what());
        }
    }

    // The raw keys that sign: the secret's, then each previous secret's (a rotation) with when
    // it stops signing.
    struct signing_key {
        std::string key;
        std::int64_t until_ms = 0; // 0: the current secret, always
    };
    static std::vector<signing_key> keys_of(const subscriber_config& c)
    {
        std::vector<signing_key> out{{webhook_signature::parse_secret(c.secret).value(), 0}};
        for (const auto& p : c.previous_secrets) {
            out.push_back({webhook_signature::parse_secret(p.secret).value(), p.expires_at_ms});
        }
        return out;
    }

    const subscriber_config cfg;
    const delivery_observer& observer;
    const std::vector<signing_key> keys;
    connection_executor strand;
    delivery_queue& store;
    subscriber_metrics& stats;

    // Strand-only state.
    net::steady_timer wake;
    bool poked = false;
    bool stopping = false;
    bool claim_failing = false; // the store refused the last claim (logged once per outage)
    std::size_t busy = 0; // HTTP attempts in flight (the concurrency slots)
    std::unique_ptr<http_client> client; // its connections are strand-only state too

    delivery_pace pace; // rate_per_second, and the pauses the subscriber asks for

    std::atomic<bool> wake_pending{false};
    std::atomic<std::size_t> busy_count{0}; // deliveries whose outcome is not recorded yet
    std::atomic<bool> finished{false}; // the dispatcher returned
    std::atomic<bool> watching_recovery{false}; // report the next delivery (resumed after disabled)
    // Strand-only: since when every attempt failed (none: the last one succeeded, or none yet),
    // and whether that was reported.
    std::optional<std::int64_t> failing_since;
    bool failing_reported = false;
    std::chrono::steady_clock::time_point retired_at{}; // under the service's mutex

    // From any thread: claim no more; what is in flight finishes.
    void halt()
    {
        net::post(strand, [this] {
            stopping = true;
            wake.cancel();
            client->close_idle();
        });
    }

    // From any thread: look for due deliveries now.
    void poke()
    {
        if (!wake_pending.exchange(true)) {
            net::post(strand, [this] {
                poked = true;
                wake.cancel();
            });
        }
    }

    task<void> dispatch()
    {
        for (;;) {
            if (stopping) {
                co_return;
            }
            poked = false;
            wake_pending = false;
            std::optional<std::int64_t> next_due;
            std::size_t claimed = 0;
            const std::size_t free
                = busy < cfg.concurrency ? pace.claimable(cfg.concurrency - busy, unix_ms_now(), next_due) : 0;
            if (free > 0) {
                auto r = co_await store.claim(cfg.name, free, unix_ms_now());
                if (!r) {
                    // Once per outage, not once a second: the store logs why it is down.
                    if (!claim_failing) {
                        log::line(log::level::error, "cannot claim deliveries; retrying every second")
                            .str("subscriber", cfg.name)
                            .str("error", r.error().message())
                            .emit();
                    }
                    claim_failing = true;
                    next_due = unix_ms_now() + 1000;
                } else {
                    if (claim_failing) {
                        log::line(log::level::info, "claiming deliveries again").str("subscriber", cfg.name).emit();
                    }
                    claim_failing = false;
                    if (r->group_recreated) {
                        log::line(log::level::error,
                            "the delivery consumer group was missing and has been made again: Redis lost its data "
                            "(restarted without AOF, or failed over to an empty replica); deliveries in flight or "
                            "queued before are gone, new events are delivered")
                            .str("subscriber", cfg.name)
                            .emit();
                        stats.groups_recreated.Increment();
                    }
                    for (const auto& [consumer, n] : r->taken_over) {
                        // A replica stopped with deliveries in flight: ours now.
                        log::line(log::level::warn, "took over deliveries of a replica that stopped")
                            .str("subscriber", cfg.name)
                            .str("from_replica", consumer)
                            .num("deliveries", n)
                            .emit();
                        stats.reclaimed.Increment(static_cast<double>(n));
                    }
                    next_due = r->next_due_at_ms;
                    claimed = r->deliveries.size();
                    for (auto& d : r->deliveries) {
                        ++busy;
                        ++busy_count;
                        net::co_spawn(strand, deliver(std::move(d)),
                            log::on_failure("delivery task failed", "subscriber", cfg.name));
                    }
                }
            }
            if (stopping) {
                co_return;
            }
            // More may be due right away when the claim filled every free slot; otherwise sleep
            // until the next due row, a poke (new event, a slot freed) or the 1 s safety poll.
            if (poked || (claimed > 0 && busy < cfg.concurrency)) {
                continue;
            }
            auto wait = std::chrono::milliseconds(1000);
            if (next_due && busy < cfg.concurrency) {
                wait = std::clamp(
                    std::chrono::milliseconds(*next_due - unix_ms_now()), std::chrono::milliseconds(0), wait);
            }
            wake.expires_after(wait);
            co_await wake.async_wait(use_tuple);
        }
    }

    // A delivery's concurrency slot and its place in busy_count, given back however deliver()
    // ends (an escaped exception too), so a slot never leaks.
    class slot {
    public:
        explicit slot(worker& w) : w_(w) { }
        slot(const slot&) = delete;
        slot& operator=(const slot&) = delete;
        ~slot()
        {
            free_http();
            --w_.busy_count;
        }
        // The HTTP part is over: the dispatcher may send the next one.
        void free_http()
        {
            if (held_) {
                held_ = false;
                --w_.busy;
                w_.poked = true;
                w_.wake.cancel();
            }
        }

    private:
        worker& w_;
        bool held_ = true;
    };

    task<void> deliver(claimed_delivery d)
    {
        slot taken(*this);
        co_await pace.wait_turn(strand, stopping);
        const std::int64_t attempted_at = unix_ms_now();
        const auto started = std::chrono::steady_clock::now();
        const http_result a = co_await attempt(d);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        stats.attempt_duration.Observe(seconds);
        stats.attempts[a.kind].Increment();

        delivery_outcome o;
        o.seq = d.seq;
        o.claim = d.claim;
        o.attempts = d.attempts + 1;
        o.attempted_at_ms = attempted_at;
        o.last_status = static_cast<int>(a.status);
        std::optional<std::chrono::milliseconds> retry_after;
        if (const auto it = a.response.find(http::field::retry_after); a.status != 0 && it != a.response.end()) {
            retry_after = delivery::parse_retry_after(it->value(), attempted_at / 1000);
        }
        const bool ok = a.status != 0 && delivery::classify_status(a.status) == delivery::verdict::delivered;
        if (ok) {
            failing_since.reset();
            failing_reported = false;
            if (watching_recovery.exchange(false) && observer.recovered) {
                observer.recovered(cfg.name);
            }
            o.state = delivery_state::delivered;
            stats.delivered.Increment();
            stats.latency.Observe(
                static_cast<double>(std::max<std::int64_t>(0, unix_ms_now() - d.occurred_at_ms)) / 1000.0);
        } else {
            o.last_error = a.status != 0 ? "HTTP " + std::to_string(a.status) : a.error;
            const bool retryable = a.status == 0 || delivery::classify_status(a.status) == delivery::verdict::retry;
            const auto age = std::chrono::milliseconds(attempted_at - d.first_attempt_at_ms.value_or(attempted_at));
            const auto step = delivery::plan_retry(cfg.retry, o.attempts, age, jitter(), retry_after);
            if (retryable && !step.give_up) {
                o.state = delivery_state::pending;
                o.next_attempt_at_ms = attempted_at + step.delay.count();
                stats.retried.Increment();
                if (a.status == 429 || retry_after) {
                    pace.hold_until(o.next_attempt_at_ms, unix_ms_now(), a.status);
                }
            } else {
                o.state = delivery_state::dead;
                if (observer.dead_lettered) {
                    observer.dead_lettered(cfg.name, d, o);
                }
                stats.dead_lettered.Increment();
                log::line(log::level::warn, "delivery dead-lettered")
                    .str("subscriber", cfg.name)
                    .str("event_id", d.event_id)
                    .num("attempts", o.attempts)
                    .str("error", o.last_error)
                    .str("reason", retryable ? "retry limit reached" : "status is not retried")
                    .emit();
            }
            if (!failing_since) {
                failing_since = attempted_at;
            }
            const bool too_long
                = cfg.disable_after.count() > 0 && attempted_at - *failing_since >= cfg.disable_after.count() * 1000;
            if (too_long && !failing_reported && observer.failing) {
                failing_reported = true;
                observer.failing(cfg.name, *failing_since, o.last_error);
            }
            log::line(log::level::debug, "delivery attempt failed")
                .str("subscriber", cfg.name)
                .str("event_id", d.event_id)
                .num("attempt", o.attempts)
                .str("error", o.last_error)
                .emit();
        }
        // The HTTP slot is free now: let the dispatcher send the next one while the outcome is
        // written. The outcome must reach the store: until it does, the row stays in flight
        // (never claimed twice), so keep trying while the store cannot commit (a full disk).
        // Only a stop gives up: the restart makes in-flight rows due again.
        taken.free_http();
        for (int tries = 0;; ++tries) {
            auto r = co_await store.complete(cfg.name, o);
            if (r && cfg.per_call_ordering && o.state != delivery_state::pending) {
                // The call's next event may be claimed now.
                poked = true;
                wake.cancel();
            }
            if (r || stopping) {
                if (!r) {
                    log::line(log::level::warn, "delivery outcome not recorded before stopping; due again at restart")
                        .str("subscriber", cfg.name)
                        .str("event_id", d.event_id)
                        .emit();
                }
                break;
            }
            if (tries == 5) {
                log::line(log::level::error, "cannot record a delivery outcome yet; retrying until the store recovers")
                    .str("subscriber", cfg.name)
                    .str("event_id", d.event_id)
                    .str("error", r.error().message())
                    .emit();
            }
            net::steady_timer pause(strand, std::chrono::milliseconds(std::min(200 << std::min(tries, 5), 5000)));
            co_await pause.async_wait(use_tuple);
        }
    }

    // Signed with every key still signing at `now_ms` (the current secret first).
    std::string signature(std::int64_t now_ms, std::string_view id, std::int64_t ts, std::string_view body) const
    {
        if (keys.size() == 1) {
            return webhook_signature::sign(keys.front().key, id, ts, body);
        }
        std::vector<std::string> signing;
        for (const auto& k : keys) {
            if (k.until_ms == 0 || now_ms < k.until_ms) {
                signing.push_back(k.key);
            }
        }
        return webhook_signature::sign(signing, id, ts, body);
    }

    task<http_result> attempt(const claimed_delivery& d)
    {
        http::request<http::string_body> req{http::verb::post, cfg.target, 11};
        req.set(http::field::user_agent, "Switchboard/" SWITCHBOARD_VERSION);
        req.set(http::field::content_type, "application/json");
        for (const auto& [name, value] : cfg.headers) { // none of them is one of ours (subscriber_rules)
            req.set(name, value);
        }
        const std::int64_t now_ms = unix_ms_now();
        const std::int64_t ts = now_ms / 1000;
        req.set("webhook-id", d.event_id);
        req.set("webhook-timestamp", std::to_string(ts));
        req.set("webhook-signature", signature(now_ms, d.event_id, ts, d.payload));
        req.body() = d.payload;
        req.prepare_payload();
        // A delivery carries its webhook-id: a replay after a stale connection is de-duplicated.
        co_return co_await client->send(req, std::chrono::steady_clock::now() + cfg.timeout, true);
    }
};

delivery_service::delivery_service(
    net::io_context& ioc, delivery_queue& store, metrics& stats, redis_client* redis, const std::string& prefix)
    : ioc_(ioc), store_(store), stats_(stats), redis_(redis), prefix_(prefix), gauges_(net::make_strand(ioc))
{
}

delivery_service::~delivery_service() = default;

std::vector<std::pair<std::string, std::string>> delivery_service::apply(const std::vector<subscriber_config>& subs)
{
    std::vector<std::pair<std::string, std::string>> problems;
    std::lock_guard lock(mutex_);
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<worker>> next;
    for (const auto& c : subs) {
        const auto same
            = std::find_if(workers_.begin(), workers_.end(), [&](const auto& w) { return w && w->cfg == c; });
        if (same != workers_.end()) {
            next.push_back(std::move(*same));
            continue;
        }
        try {
            auto w = std::make_shared<worker>(ioc_, store_, stats_, c, redis_, prefix_, observer_);
            if (started_ && !stopped_) {
                spawn(w);
            }
            next.push_back(std::move(w));
        } catch (const std::exception& e) {
            problems.emplace_back(c.name, e.what());
        }
    }
    for (auto& w : workers_) {
        if (w) { // not carried over: removed, paused or changed
            w->halt();
            w->retired_at = now;
            retired_.push_back(std::move(w));
        }
    }
    workers_ = std::move(next);
    // A stopped worker goes once its dispatcher returned and its last outcome is recorded, and
    // a while after, when its closed connections' handlers have long run: nothing of it is
    // queued any more.
    std::erase_if(retired_, [&](const std::shared_ptr<worker>& w) {
        return w->finished && w->busy_count == 0 && now - w->retired_at >= std::chrono::seconds(30);
    });
    return problems;
}

void delivery_service::spawn(const std::shared_ptr<worker>& w)
{
    net::co_spawn(
        w->strand,
        [](std::shared_ptr<worker> self) -> task<void> {
            co_await self->dispatch();
            self->finished = true;
        }(w),
        log::on_failure("delivery dispatcher failed", "subscriber", w->cfg.name));
}

void delivery_service::start()
{
    {
        std::lock_guard lock(mutex_);
        started_ = true;
        for (const auto& w : workers_) {
            spawn(w);
        }
    }
    // Queue gauges: depth by state and the oldest undelivered event's age, every 2 s, for every
    // subscriber events fan out to (paused ones too); one no longer listed is zeroed.
    net::co_spawn(
        gauges_,
        [this]() -> task<void> {
            net::steady_timer tick(gauges_);
            std::vector<std::string> shown;
            for (;;) {
                auto r = co_await store_.stats();
                if (r) {
                    const std::int64_t now = unix_ms_now();
                    std::vector<std::string> seen;
                    for (const auto& q : *r) {
                        auto& m = stats_.subscriber(q.subscriber);
                        m.pending.Set(static_cast<double>(q.pending));
                        m.in_flight.Set(static_cast<double>(q.in_flight));
                        m.dead.Set(static_cast<double>(q.dead));
                        m.oldest_pending_age.Set(q.oldest_pending_occurred_at_ms
                                ? static_cast<double>(std::max<std::int64_t>(0, now - *q.oldest_pending_occurred_at_ms))
                                    / 1000.0
                                : 0.0);
                        seen.push_back(q.subscriber);
                    }
                    for (const auto& name : shown) {
                        if (std::find(seen.begin(), seen.end(), name) == seen.end()) {
                            auto& m = stats_.subscriber(name);
                            m.pending.Set(0);
                            m.in_flight.Set(0);
                            m.dead.Set(0);
                            m.oldest_pending_age.Set(0);
                        }
                    }
                    shown = std::move(seen);
                }
                tick.expires_after(std::chrono::seconds(2));
                auto [ec] = co_await tick.async_wait(use_tuple);
                if (ec) {
                    co_return;
                }
            }
        },
        log::on_failure("queue gauge refresh failed"));
}

void delivery_service::notify(const std::vector<std::string>& subscribers)
{
    std::lock_guard lock(mutex_);
    for (const auto& name : subscribers) {
        for (auto& w : workers_) {
            if (w->cfg.name == name) {
                w->poke();
            }
        }
    }
}

void delivery_service::watch_recovery(const std::string& subscriber)
{
    std::lock_guard lock(mutex_);
    for (auto& w : workers_) {
        if (w->cfg.name == subscriber) {
            w->watching_recovery = true;
        }
    }
}

void delivery_service::notify_all()
{
    std::lock_guard lock(mutex_);
    for (auto& w : workers_) {
        w->poke();
    }
}

void delivery_service::stop()
{
    std::lock_guard lock(mutex_);
    stopped_ = true;
    for (auto& w : workers_) {
        w->halt();
    }
}

std::size_t delivery_service::in_flight() const
{
    std::lock_guard lock(mutex_);
    std::size_t n = 0;
    for (const auto* list : {&workers_, &retired_}) {
        for (const auto& w : *list) {
            n += w->busy_count.load();
        }
    }
    return n;
}

} // namespace switchboard
