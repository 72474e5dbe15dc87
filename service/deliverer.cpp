// Deliveries to subscribers: dispatcher, HTTP/1.1 client (plain or TLS), outcome recording.
#include "service/deliverer.hpp"

#include "protocol/delivery_policy.hpp"
#include "protocol/webhook_signature.hpp"
#include "service/clock.hpp"
#include "service/log.hpp"
#include "service/metrics.hpp"
#include "service/store_await.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/ssl.h>

#include <atomic>
#include <random>

namespace switchboard {
namespace {

using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});

double jitter()
{
    thread_local std::mt19937_64 gen{std::random_device{}()};
    return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

// One kept-alive connection to a subscriber.
struct connection {
    explicit connection(const connection_executor& ex) : tcp(ex) { }
    beast::tcp_stream tcp;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream&>> tls;
    beast::flat_buffer buffer;
    bool reused = false;
};

// What one attempt produced.
struct attempt_result {
    unsigned status = 0; // 0: no HTTP response
    std::string_view kind = "io_error"; // metric label: 2xx, 4xx, 429, 5xx, timeout, connect_error, ...
    std::string error; // for the delivery row and the log
    std::optional<std::chrono::milliseconds> retry_after;
    bool keep_alive = false;
    bool stale_connection = false; // a reused connection failed before any response byte
};

std::string_view status_kind(unsigned status)
{
    if (status >= 200 && status < 300) {
        return "2xx";
    }
    if (status == 429) {
        return "429";
    }
    if (status >= 500) {
        return "5xx";
    }
    return "4xx";
}

} // namespace

struct delivery_service::worker {
    worker(net::io_context& ioc, event_store& s, metrics& m, const subscriber_config& c)
        : cfg(c)
        , key(webhook_signature::parse_secret(c.secret).value())
        , strand(net::make_strand(ioc))
        , store(s)
        , stats(m.subscriber(c.name))
        , wake(strand)
    {
        if (cfg.https) {
            tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
            SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_2_VERSION);
            tls->set_default_verify_paths();
            if (!cfg.ca_file.empty()) {
                boost::system::error_code ec;
                tls->load_verify_file(cfg.ca_file, ec);
                if (ec) {
                    throw std::runtime_error(
                        "subscriber " + cfg.name + ": cannot load ca_file '" + cfg.ca_file + "': " + ec.message());
                }
            }
            tls->set_verify_mode(net::ssl::verify_peer);
        }
        host_header = cfg.host.find(':') != std::string::npos ? "[" + cfg.host + "]" : cfg.host;
        if (cfg.port != (cfg.https ? "443" : "80")) {
            host_header += ":" + cfg.port;
        }
    }

    const subscriber_config cfg;
    const std::string key;
    connection_executor strand;
    event_store& store;
    subscriber_metrics& stats;
    std::unique_ptr<net::ssl::context> tls;
    std::string host_header;

    // Strand-only state.
    net::steady_timer wake;
    bool poked = false;
    bool stopping = false;
    std::size_t busy = 0; // HTTP attempts in flight (the concurrency slots)
    std::vector<std::unique_ptr<connection>> idle;

    std::atomic<bool> wake_pending{false};
    std::atomic<std::size_t> busy_count{0}; // deliveries whose outcome is not recorded yet

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
            if (busy < cfg.concurrency) {
                const std::size_t free = cfg.concurrency - busy;
                auto r = co_await store_call<claim_result>([&](event_store::callback<claim_result> done) {
                    store.claim(cfg.name, free, unix_ms_now(), done);
                });
                if (!r) {
                    log::line(log::level::error, "cannot claim deliveries; retrying in 1 s")
                        .str("subscriber", cfg.name)
                        .str("error", r.error().message())
                        .emit();
                    next_due = unix_ms_now() + 1000;
                } else {
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

    task<void> deliver(claimed_delivery d)
    {
        const std::int64_t attempted_at = unix_ms_now();
        const auto started = std::chrono::steady_clock::now();
        attempt_result a = co_await attempt(d);
        if (a.stale_connection) {
            // The subscriber closed a kept-alive connection while it was idle: not an attempt.
            a = co_await attempt(d);
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        stats.attempt_duration.Observe(seconds);
        stats.attempts[a.kind].Increment();

        delivery_outcome o;
        o.seq = d.seq;
        o.attempts = d.attempts + 1;
        o.attempted_at_ms = attempted_at;
        o.last_status = static_cast<int>(a.status);
        const bool ok = a.status != 0 && delivery::classify_status(a.status) == delivery::verdict::delivered;
        if (ok) {
            o.state = delivery_state::delivered;
            stats.delivered.Increment();
            stats.latency.Observe(
                static_cast<double>(std::max<std::int64_t>(0, unix_ms_now() - d.occurred_at_ms)) / 1000.0);
        } else {
            o.last_error = a.status != 0 ? "HTTP " + std::to_string(a.status) : a.error;
            const bool retryable = a.status == 0 || delivery::classify_status(a.status) == delivery::verdict::retry;
            const auto age = std::chrono::milliseconds(attempted_at - d.first_attempt_at_ms.value_or(attempted_at));
            const auto step = delivery::plan_retry(cfg.retry, o.attempts, age, jitter(), a.retry_after);
            if (retryable && !step.give_up) {
                o.state = delivery_state::pending;
                o.next_attempt_at_ms = attempted_at + step.delay.count();
                stats.retried.Increment();
            } else {
                o.state = delivery_state::dead;
                stats.dead_lettered.Increment();
                log::line(log::level::warn, "delivery dead-lettered")
                    .str("subscriber", cfg.name)
                    .str("event_id", d.event_id)
                    .num("attempts", o.attempts)
                    .str("error", o.last_error)
                    .str("reason", retryable ? "retry limit reached" : "status is not retried")
                    .emit();
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
        --busy;
        poked = true;
        wake.cancel();
        for (int tries = 0;; ++tries) {
            auto r = co_await store_call<bool>(
                [&](event_store::callback<bool> done) { store.complete(cfg.name, o, done); });
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
        --busy_count;
    }

    task<attempt_result> attempt(const claimed_delivery& d)
    {
        const auto deadline = std::chrono::steady_clock::now() + cfg.timeout;
        std::unique_ptr<connection> c;
        if (!idle.empty()) {
            c = std::move(idle.back());
            idle.pop_back();
            c->reused = true;
        } else {
            c = std::make_unique<connection>(strand);
            if (auto failed = co_await connect(*c, deadline)) {
                co_return std::move(*failed);
            }
        }
        http::request<http::string_body> req{http::verb::post, cfg.target, 11};
        req.set(http::field::host, host_header);
        req.set(http::field::user_agent, "Switchboard/" SWITCHBOARD_VERSION);
        req.set(http::field::content_type, "application/json");
        const std::int64_t ts = unix_ms_now() / 1000;
        req.set("webhook-id", d.event_id);
        req.set("webhook-timestamp", std::to_string(ts));
        req.set("webhook-signature", webhook_signature::sign(key, d.event_id, ts, d.payload));
        req.keep_alive(true);
        req.body() = d.payload;
        req.prepare_payload();

        c->tcp.expires_at(deadline);
        attempt_result a;
        if (c->tls) { // (no co_await inside ?: — GCC 12 miscompiles it)
            a = co_await exchange(*c->tls, *c, req);
        } else {
            a = co_await exchange(c->tcp, *c, req);
        }
        if (a.keep_alive && !stopping) {
            c->tcp.expires_never();
            idle.push_back(std::move(c));
        }
        co_return a;
    }

    // nullopt: connected (and TLS handshake done).
    task<std::optional<attempt_result>> connect(connection& c, std::chrono::steady_clock::time_point deadline)
    {
        const auto fail = [](std::string_view kind, std::string what, const boost::system::error_code& ec) {
            attempt_result a;
            a.kind = ec == beast::error::timeout ? std::string_view("timeout") : kind;
            a.error = std::move(what) + ": " + ec.message();
            return std::optional<attempt_result>(std::move(a));
        };
        tcp::resolver resolver(strand);
        auto [rec, endpoints] = co_await resolver.async_resolve(cfg.host, cfg.port, use_tuple);
        if (rec) {
            co_return fail("connect_error", "resolve " + cfg.host, rec);
        }
        c.tcp.expires_at(deadline);
        auto [cec, ep] = co_await c.tcp.async_connect(endpoints, use_tuple);
        if (cec) {
            co_return fail("connect_error", "connect " + cfg.host + ":" + cfg.port, cec);
        }
        (void)ep;
        c.tcp.socket().set_option(tcp::no_delay(true));
        if (!tls) {
            co_return std::nullopt;
        }
        c.tls = std::make_unique<beast::ssl_stream<beast::tcp_stream&>>(c.tcp, *tls);
        if (!SSL_set_tlsext_host_name(c.tls->native_handle(), cfg.host.c_str())) {
            co_return fail("tls_error", "SNI",
                boost::system::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()));
        }
        c.tls->set_verify_callback(net::ssl::host_name_verification(cfg.host));
        auto [hec] = co_await c.tls->async_handshake(net::ssl::stream_base::client, use_tuple);
        if (hec) {
            co_return fail("tls_error", "TLS handshake with " + cfg.host, hec);
        }
        co_return std::nullopt;
    }

    template <class Stream>
    task<attempt_result> exchange(Stream& stream, connection& c, http::request<http::string_body>& req)
    {
        attempt_result a;
        const auto failed = [&](const char* what, const boost::system::error_code& ec, bool nothing_received) {
            a.kind = ec == beast::error::timeout ? std::string_view("timeout") : std::string_view("io_error");
            a.error = std::string(what) + ": " + ec.message();
            a.stale_connection = c.reused && nothing_received && ec != beast::error::timeout;
            return a;
        };
        auto [wec, written] = co_await http::async_write(stream, req, use_tuple);
        (void)written;
        if (wec) {
            co_return failed("send", wec, true);
        }
        http::response_parser<http::string_body> parser;
        parser.body_limit(64 * 1024);
        auto [rec, read] = co_await http::async_read(stream, c.buffer, parser, use_tuple);
        if (rec && !parser.is_header_done()) {
            co_return failed("response", rec, read == 0 && c.buffer.size() == 0);
        }
        const auto& res = parser.get();
        a.status = res.result_int();
        a.kind = status_kind(a.status);
        a.keep_alive = !rec && res.keep_alive();
        if (const auto it = res.find(http::field::retry_after); it != res.end()) {
            a.retry_after = delivery::parse_retry_after(it->value(), unix_ms_now() / 1000);
        }
        co_return a;
    }
};

delivery_service::delivery_service(
    net::io_context& ioc, event_store& store, metrics& stats, const std::vector<subscriber_config>& subs)
    : ioc_(ioc), store_(store), stats_(stats)
{
    for (const auto& s : subs) {
        workers_.push_back(std::make_unique<worker>(ioc, store, stats, s));
    }
}

delivery_service::~delivery_service() = default;

void delivery_service::start()
{
    for (auto& w : workers_) {
        net::co_spawn(
            w->strand, w->dispatch(), log::on_failure("delivery dispatcher failed", "subscriber", w->cfg.name));
    }
    // Queue gauges: depth by state and the oldest undelivered event's age, every 2 s.
    if (workers_.empty()) {
        return;
    }
    net::co_spawn(
        workers_.front()->strand,
        [this]() -> task<void> {
            net::steady_timer tick(workers_.front()->strand);
            for (;;) {
                auto r = co_await store_call<std::vector<queue_stats>>(
                    [&](event_store::callback<std::vector<queue_stats>> done) { store_.stats(done); });
                if (r) {
                    const std::int64_t now = unix_ms_now();
                    for (const auto& q : *r) {
                        auto& m = stats_.subscriber(q.subscriber);
                        m.pending.Set(static_cast<double>(q.pending));
                        m.in_flight.Set(static_cast<double>(q.in_flight));
                        m.dead.Set(static_cast<double>(q.dead));
                        m.oldest_pending_age.Set(q.oldest_pending_occurred_at_ms
                                ? static_cast<double>(std::max<std::int64_t>(0, now - *q.oldest_pending_occurred_at_ms))
                                    / 1000.0
                                : 0.0);
                    }
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
    for (const auto& name : subscribers) {
        for (auto& w : workers_) {
            if (w->cfg.name == name) {
                w->poke();
            }
        }
    }
}

void delivery_service::stop()
{
    for (auto& w : workers_) {
        net::post(w->strand, [raw = w.get()] {
            raw->stopping = true;
            raw->wake.cancel();
            raw->idle.clear();
        });
    }
}

std::size_t delivery_service::in_flight() const
{
    std::size_t n = 0;
    for (const auto& w : workers_) {
        n += w->busy_count.load();
    }
    return n;
}

} // namespace switchboard
