// Start-up order, signal handling, graceful drain.
// One file because it owns and wires every component in one constructor, in start-up order,
// and holds the Asio code of signals and drain.
#include "service/app/application.hpp"

#include "service/app/store_commands.hpp"
#include "service/client/twilio_client.hpp"
#include "service/events/delivery_service.hpp"
#include "service/events/event_publisher.hpp"
#include "service/events/subscriber_registry.hpp"
#include "service/events/webhook_routes.hpp"
#include "service/http/jwt_auth.hpp"
#include "service/http/listener.hpp"
#include "service/http/rate_limiter.hpp"
#include "service/http/router.hpp"
#include "service/http/tls.hpp"
#include "service/ivr/menu_catalog.hpp"
#include "service/ivr/voice_routes.hpp"
#include "service/ops/admin_routes.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/ops/metrics.hpp"
#include "service/ops/retention_job.hpp"
#include "service/ops/store_monitor.hpp"
#include "service/phone/phone_routes.hpp"
#include "service/store/redis/redis_store.hpp"
#include "service/store/redis/shared_rate_limiter.hpp"
#include "service/store/sqlite/sqlite_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>
#include <vector>

namespace switchboard {
namespace {

using tcp = net::ip::tcp;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

tcp::acceptor open_acceptor(const net::any_io_executor& executor, const endpoint_config& e, const char* name)
{
    const auto address = net::ip::make_address(e.host == "localhost" ? "127.0.0.1" : e.host);
    tcp::endpoint ep(address, e.port);
    tcp::acceptor acceptor(executor);
    boost::system::error_code ec;
    acceptor.open(ep.protocol(), ec);
    if (!ec) {
        acceptor.set_option(net::socket_base::reuse_address(true), ec);
    }
    if (!ec) {
        acceptor.bind(ep, ec);
    }
    if (!ec) {
        acceptor.listen(net::socket_base::max_listen_connections, ec);
    }
    if (ec) {
        throw std::runtime_error(std::string("cannot listen on ") + e.host + ":" + std::to_string(e.port) + " (" + name
            + "): " + ec.message());
    }
    return acceptor;
}

const log::on_failure log_exception{"background task failed"};

// Raises the soft open-file limit to the hard one (a shell or containerd gives 1024 with a much
// higher hard limit) and returns the limit in force.
std::size_t raise_open_file_limit()
{
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return 1024;
    }
    const rlim_t before = lim.rlim_cur;
    // An unlimited hard limit is still capped by the kernel's nr_open (1 Mi by default).
    const rlim_t want = lim.rlim_max == RLIM_INFINITY ? rlim_t{1} << 20 : lim.rlim_max;
    if (lim.rlim_cur < want) {
        rlimit raised = lim;
        raised.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            lim = raised;
        }
    }
    log::line(log::level::info, "open-file limit")
        .num("soft_at_start", static_cast<std::int64_t>(before))
        .num("soft", static_cast<std::int64_t>(lim.rlim_cur))
        .num("hard", static_cast<std::int64_t>(lim.rlim_max == RLIM_INFINITY ? -1 : lim.rlim_max))
        .emit();
    return static_cast<std::size_t>(lim.rlim_cur);
}

// The admin listener (probes, Prometheus, operators) has caps of its own, so a flood of the
// webhook port never takes its descriptors.
constexpr connection_caps admin_caps{128, 32};

// SWITCHBOARD_MAX_CONNECTIONS, or what the descriptor limit leaves after a reserve for the
// store, the subscribers' and Twilio's outbound connections and the admin listener.
std::size_t public_connection_cap(const config& c, std::size_t open_files)
{
    if (c.max_connections != 0) {
        return c.max_connections;
    }
    std::size_t reserve = 256 + 32 + admin_caps.max_total;
    for (const auto& s : c.subscribers) {
        reserve += s.concurrency;
    }
    const std::size_t derived = open_files > 2 * reserve ? open_files - reserve : open_files / 2;
    return std::clamp<std::size_t>(derived, 1, 32768);
}

} // namespace

struct application::impl {
    config cfg;
    metrics stats;
    menu_catalog menus; // before the store: a bad menu file stops start-up before anything opens
    sqlite_store* sqlite = nullptr; // the one of these that SWITCHBOARD_STORE names
    redis_store* redis = nullptr;
    std::unique_ptr<event_store> store;
    store_parts parts; // what the handlers and deliverers use of it
    event_publisher events;
    std::unique_ptr<rate_limiter> limiter;
    std::unique_ptr<shared_rate_limiter> shared_limiter; // Redis: one budget for all replicas
    // The IVR sms action: once per call and action, and a budget per destination number.
    rate_limiter sms_once{1.0, std::chrono::hours(24)};
    std::unique_ptr<rate_limiter> sms_per_destination;
    std::unique_ptr<shared_rate_limiter> shared_sms_once;
    std::unique_ptr<shared_rate_limiter> shared_sms_per_destination;
    std::unique_ptr<tls_context_store> tls;
    jwt_verifier tokens;
    std::atomic<bool> ready{false};
    std::atomic<bool> draining{false}; // the public listener drains first...
    std::atomic<bool> admin_draining{false}; // ...the admin one (readiness, metrics) last
    std::atomic<bool> cut_now{false};
    router public_routes;
    router admin_routes;
    connection_registry public_connections;
    connection_registry admin_connections;
    net::io_context ioc;
    // Signals, drain and both accept loops run on this strand: the acceptors are closed by the
    // drain while their accept loops wait, and Asio objects must not be used concurrently.
    net::strand<net::io_context::executor_type> control;
    tcp::acceptor public_acceptor;
    tcp::acceptor admin_acceptor;
    std::unique_ptr<delivery_service> deliveries; // after ioc: its timers and sockets go first
    std::unique_ptr<subscriber_registry> registry; // the configured and the stored subscribers
    std::unique_ptr<twilio_client> twilio; // likewise; null without TWILIO_ACCOUNT_SID
    const std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    explicit impl(config c)
        : cfg(std::move(c))
        , menus(cfg.menu_file, cfg.assistant_url, stats)
        , store(open_store(cfg))
        , parts(*store)
        , events(parts.events, stats, spill_limits{cfg.store.spill_events})
        , limiter(cfg.rate_limit_per_minute > 0 ? std::make_unique<rate_limiter>(cfg.rate_limit_per_minute) : nullptr)
        , shared_limiter(redis != nullptr && limiter ? std::make_unique<shared_rate_limiter>(
                             redis->client(), cfg.store.key_prefix, cfg.rate_limit_per_minute)
                                                     : nullptr)
        , sms_per_destination(cfg.ivr_sms_per_destination_per_hour > 0 ? std::make_unique<rate_limiter>(
                                  static_cast<double>(cfg.ivr_sms_per_destination_per_hour), std::chrono::hours(1))
                                                                       : nullptr)
        , shared_sms_once(redis != nullptr ? std::make_unique<shared_rate_limiter>(
                              redis->client(), cfg.store.key_prefix, 1.0, std::chrono::hours(24))
                                           : nullptr)
        , shared_sms_per_destination(redis != nullptr && sms_per_destination
                  ? std::make_unique<shared_rate_limiter>(redis->client(), cfg.store.key_prefix,
                      static_cast<double>(cfg.ivr_sms_per_destination_per_hour), std::chrono::hours(1))
                  : nullptr)
        , tls(cfg.tls_enabled() ? std::make_unique<tls_context_store>(cfg.tls_cert_file, cfg.tls_key_file) : nullptr)
        , tokens(jwt_settings{cfg.phone.jwt_secret, cfg.phone.jwt_jwks_file,
              {cfg.phone.jwt_issuer, cfg.phone.jwt_audience, cfg.phone.jwt_leeway, cfg.phone.jwt_max_lifetime}})
        , public_routes({cfg, stats, limiter.get(), shared_limiter.get(), &tokens})
        , admin_routes({cfg, stats, nullptr, nullptr})
        , ioc(static_cast<int>(threads()))
        , control(net::make_strand(ioc))
        , public_acceptor(control)
        , admin_acceptor(control)
        , deliveries(std::make_unique<delivery_service>(
              ioc, parts.deliveries, stats, redis != nullptr ? &redis->client() : nullptr, cfg.store.key_prefix))
        , registry(std::make_unique<subscriber_registry>(*store, parts.subscribers, *deliveries, cfg.subscribers))
        , twilio(make_twilio(ioc, cfg, stats))
    {
        store->on_commit([this](const store_timing& t) {
            stats.store_batch_size.Observe(static_cast<double>(t.batch_size));
            stats.store_commit_duration.Observe(t.commit_seconds);
            stats.store_writable.Set(t.ok ? 1 : 0);
            if (!t.ok) {
                stats.store_commit_failures.Increment();
            }
            if (sqlite != nullptr) {
                // SQLite: "up" means taking writes; a failing commit (disk full, read-only
                // volume) says so until one succeeds again (Redis reports its connection).
                stats.store_up.Set(t.ok ? 1 : 0);
            }
        });
        if (sqlite != nullptr) {
            // The stored subscribers before anything is accepted (callbacks still run on the
            // store's thread here, not on the io_context that is not running yet).
            if (!registry->load_now(std::chrono::seconds(30))) {
                throw std::runtime_error("the event store's subscriber table cannot be read");
            }
            sqlite->complete_on([this](std::function<void()> fn) { net::post(ioc, std::move(fn)); });
            stats.store_up.Set(1);
        }
        if (redis != nullptr) {
            redis->client().on_state([this](bool up, const std::string&) {
                stats.store_up.Set(up ? 1 : 0);
                if (!up) {
                    stats.store_disconnects.Increment();
                } else if (deliveries) {
                    // Deliveries due while Redis was away: look now, not at the next poll.
                    deliveries->notify_all();
                }
            });
        }
        events.deliver_with(deliveries.get());
        observe_deliveries();
        const voice_deps voice{cfg, stats, events, parts.calls, menus, twilio.get(), started,
            {&sms_once, sms_per_destination.get(), shared_sms_once.get(), shared_sms_per_destination.get()}};
        add_voice_routes(public_routes, voice);
        add_webhook_routes(public_routes, stats, events);
        add_admin_routes(admin_routes,
            {stats, ready, parts.deliveries, *deliveries, *registry, parts.health,
                cfg.store.redis ? std::string() : (std::filesystem::path(cfg.data_dir) / "backups").string(),
                parts.calls, menus});
        add_phone_routes(
            public_routes, {cfg, stats, parts.calls, parts.keys, events, twilio.get(), tokens.key_count(), voice});
    }

    // The operational events: a subscriber failing for its disable_after is disabled, a
    // delivery given up and a disabled subscriber that delivers again are published, each as an
    // event subscribers opt into (subscriber.*, delivery.*), on the control strand.
    void observe_deliveries()
    {
        delivery_observer o;
        o.failing = [this](const std::string& name, std::int64_t since_ms, const std::string& last_error) {
            net::co_spawn(
                control,
                [this, name, since_ms, last_error]() -> task<void> {
                    const std::string reason = "every delivery attempt failed since " + format_timestamp(since_ms)
                        + " (last: " + last_error + ")";
                    if (!co_await registry->disable(name, reason)) {
                        co_return;
                    }
                    stats.subscriber(name).disabled.Increment();
                    log::line(log::level::error, "subscriber disabled: its deliveries failed for too long")
                        .str("subscriber", name)
                        .str("failing_since", format_timestamp(since_ms))
                        .str("error", last_error)
                        .emit();
                    auto event = subscriber_disabled_event(name, since_ms, last_error, unix_ms_now());
                    if (registry->wanted(event.event)) {
                        co_await events.publish_operational(std::move(event));
                    }
                },
                log_exception);
        };
        o.dead_lettered = [this](const std::string& name, const claimed_delivery& d, const delivery_outcome& out) {
            const auto ev = from_json(d.payload);
            if (!ev || is_operational(ev->type)) {
                return; // an operational event's own death is logged, not published again
            }
            auto event = delivery_dead_lettered_event(name, d.event_id, to_string(ev->type), out.attempts,
                out.last_status, out.last_error, out.attempted_at_ms);
            if (registry->wanted(event.event)) { // only stored when a subscriber takes it
                net::co_spawn(control, events.publish_operational(std::move(event)), log_exception);
            }
        };
        o.recovered = [this](const std::string& name) {
            log::line(log::level::info, "subscriber recovered: it takes deliveries again")
                .str("subscriber", name)
                .emit();
            auto event = subscriber_recovered_event(name, unix_ms_now());
            if (registry->wanted(event.event)) {
                net::co_spawn(control, events.publish_operational(std::move(event)), log_exception);
            }
        };
        deliveries->observe(std::move(o));
    }

    static std::unique_ptr<twilio_client> make_twilio(net::io_context& ioc, const config& c, metrics& m)
    {
        if (!c.phone.twilio_configured()) {
            return nullptr;
        }
        twilio_settings s;
        s.account_sid = c.phone.account_sid;
        s.username = c.phone.api_key_sid.empty() ? c.phone.account_sid : c.phone.api_key_sid;
        s.password = c.phone.api_key_sid.empty() ? c.auth_tokens.front() : c.phone.api_key_secret;
        s.base_url = c.phone.api_base_url;
        s.ca_file = c.phone.api_ca_file;
        s.timeout = c.phone.api_timeout;
        s.max_pages = c.phone.max_pages;
        return std::make_unique<twilio_client>(ioc, std::move(s), m);
    }

    std::unique_ptr<event_store> open_store(const config& c)
    {
        configured_store opened = open_configured_store(c);
        sqlite = opened.sqlite;
        redis = opened.redis;
        return std::move(opened.store);
    }

    std::string store_name() const
    {
        return redis != nullptr ? redacted(cfg.store.endpoint) + " prefix " + cfg.store.key_prefix
                                : cfg.data_dir + "/" + sqlite_store::file_name;
    }

    unsigned threads() const
    {
        return cfg.threads > 0 ? cfg.threads : std::max(1u, std::thread::hardware_concurrency());
    }

    void announce(const char* name, const tcp::acceptor& a, bool with_tls)
    {
        const auto ep = a.local_endpoint();
        log::line(log::level::info, "listening")
            .str("listener", name)
            .str("address", ep.address().to_string())
            .num("port", ep.port())
            .boolean("tls", with_tls)
            .emit();
    }

    // --dev without a token: say which token to sign with, for the bound port.
    void dev_banner() const
    {
        const auto port = public_acceptor.local_endpoint().port();
        const std::string& token = cfg.auth_tokens.front();
        std::cerr << "\n  Development mode: no TWILIO_AUTH_TOKEN set, so requests must be signed with the\n"
                  << "  generated token " << token << " (saved in " << cfg.data_dir << "/dev-auth-token). Try:\n"
                  << "    switchboard sign --token-file " << cfg.data_dir
                  << "/dev-auth-token --url http://localhost:" << port << "/api/voice/incoming CallSid=CA1\n\n";
    }

    net::awaitable<void> handle_signals(net::signal_set& signals)
    {
        for (;;) {
            auto [ec, sig] = co_await signals.async_wait(use_tuple);
            if (ec) {
                co_return;
            }
            if (sig == SIGHUP) {
                menus.reload();
                reload_tls();
            } else if (!draining) {
                net::co_spawn(control, drain(sig), log_exception);
            } else {
                // A second SIGTERM/SIGINT while draining: stop waiting for in-flight requests.
                log::line(log::level::warn, "second stop signal: cutting in-flight requests now").emit();
                cut_now = true;
            }
        }
    }

    // SWITCHBOARD_MENU_WATCH_SECONDS: reload the menu file when it changes (a ConfigMap update).
    net::awaitable<void> watch_menus()
    {
        net::steady_timer t(ioc);
        for (;;) {
            t.expires_after(cfg.menu_watch);
            auto [ec] = co_await t.async_wait(use_tuple);
            if (ec || draining) {
                co_return;
            }
            if (menus.file_changed()) {
                menus.reload();
            }
        }
    }

    void reload_tls()
    {
        if (!tls) {
            log::line(log::level::info, "SIGHUP: nothing to reload (TLS off)").emit();
            return;
        }
        std::string error;
        if (tls->reload(error)) {
            stats.tls_reloads.Increment();
            log::line(log::level::info, "TLS certificate reloaded").emit();
        } else {
            stats.tls_reload_failures.Increment();
            log::line(log::level::error, "TLS reload refused; keeping the current certificate")
                .str("error", error)
                .emit();
        }
    }

    net::awaitable<void> drain(int sig)
    {
        const auto deadline = std::chrono::steady_clock::now() + cfg.drain_timeout;
        log::line(log::level::info, "draining")
            .str("signal", sig == SIGTERM ? "SIGTERM" : "SIGINT")
            .num("in_flight_connections", static_cast<std::int64_t>(public_connections.size()))
            .real("drain_timeout_seconds", std::chrono::duration<double>(cfg.drain_timeout).count())
            .emit();
        ready = false;
        stats.ready.Set(0);
        draining = true;
        boost::system::error_code ignored;
        public_acceptor.close(ignored);
        public_connections.close_idle();
        net::steady_timer tick(ioc);
        while (public_connections.size() > 0 && std::chrono::steady_clock::now() < deadline && !cut_now) {
            tick.expires_after(std::chrono::milliseconds(20));
            co_await tick.async_wait(use_tuple);
            public_connections.close_idle();
        }
        const std::size_t cut = public_connections.size();
        if (cut > 0) {
            public_connections.close_all();
            tick.expires_after(std::chrono::milliseconds(200));
            co_await tick.async_wait(use_tuple);
        }
        // No request is left: what the spill still holds is stored now if the store takes it
        // (and delivered after the restart), or dropped and logged.
        co_await net::co_spawn(control, events.finish_spill(deadline), net::use_awaitable);
        // Deliveries in flight finish and record their outcome (what does not is retried after
        // the restart: at least once).
        deliveries->stop();
        if (twilio) {
            twilio->stop();
        }
        while (deliveries->in_flight() > 0 && std::chrono::steady_clock::now() < deadline && !cut_now) {
            tick.expires_after(std::chrono::milliseconds(20));
            co_await tick.async_wait(use_tuple);
        }
        admin_draining = true;
        admin_acceptor.close(ignored);
        admin_connections.close_all();
        log::line(cut > 0 ? log::level::warn : log::level::info, "drained")
            .num("connections_cut", static_cast<std::int64_t>(cut))
            .emit();
        ioc.stop();
    }

    int run()
    {
        // Signals first, so a SIGTERM during start-up drains instead of killing the process.
        net::signal_set signals(ioc, SIGTERM, SIGINT, SIGHUP);
        if (redis != nullptr) {
            // Connects in the background and keeps reconnecting; /readyz says when it can take
            // writes. Give the first connection a moment, so "ready" usually means ready.
            redis->start();
            const auto until = std::chrono::steady_clock::now() + cfg.store.timeout;
            while (!redis->available() && std::chrono::steady_clock::now() < until) {
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
            }
            if (!redis->available() || !registry->load_now(cfg.store.timeout)) {
                log::line(log::level::warn,
                    "the stored subscribers cannot be read yet: not ready until they are (read every second)")
                    .emit();
            }
        }
        const std::size_t open_files = raise_open_file_limit();
        const connection_caps public_caps{public_connection_cap(cfg, open_files), cfg.max_connections_per_client};
        if (cfg.max_connections != 0 && public_caps.max_total + admin_caps.max_total + 256 > open_files) {
            log::line(log::level::warn, "SWITCHBOARD_MAX_CONNECTIONS leaves few descriptors for the rest")
                .num("max_connections", static_cast<std::int64_t>(public_caps.max_total))
                .num("open_file_limit", static_cast<std::int64_t>(open_files))
                .emit();
        }
        public_connections.set_caps(public_caps);
        admin_connections.set_caps(admin_caps);
        stats.connections_limit.Add({{"listener", "public"}}).Set(static_cast<double>(public_caps.max_total));
        stats.connections_limit.Add({{"listener", "admin"}}).Set(static_cast<double>(admin_caps.max_total));
        // Listen late: everything above is ready before the first connection is accepted.
        public_acceptor = open_acceptor(control, cfg.listen, "public");
        admin_acceptor = open_acceptor(control, cfg.admin_listen, "admin");
        net::co_spawn(control, handle_signals(signals), log_exception);
        if (cfg.menu_watch.count() > 0) {
            net::co_spawn(control, watch_menus(), log_exception);
        }
        net::co_spawn(control,
            accept_loop(
                admin_acceptor, {"admin", admin_routes, stats, cfg, admin_connections, admin_draining, nullptr}),
            log_exception);
        net::co_spawn(control,
            accept_loop(
                public_acceptor, {"public", public_routes, stats, cfg, public_connections, draining, tls.get()}),
            log_exception);
        deliveries->start();
        registry->start(control);
        events.start_spill(control);
        start_store_monitor(control, parts.health, stats, cfg.store.probe_interval);
        start_retention(control, parts.health, stats, {cfg.store.retention, cfg.store.retention_interval});
        announce("public", public_acceptor, tls != nullptr);
        announce("admin", admin_acceptor, false);
        if (cfg.auth_token_generated) {
            dev_banner();
        }
        ready = true;
        stats.ready.Set(1);
        log::line(log::level::info, "ready")
            .num("threads", threads())
            .str("store", store_name())
            .num("subscribers", static_cast<std::int64_t>(registry->list().size()))
            .emit();

        std::vector<std::thread> pool;
        for (unsigned i = 1; i < threads(); ++i) {
            pool.emplace_back([this] { ioc.run(); });
        }
        ioc.run();
        for (auto& t : pool) {
            t.join();
        }
        if (sqlite != nullptr) {
            sqlite->close();
        }
        if (redis != nullptr) {
            redis->close();
        }
        // We are exiting cleanly: a late stop signal must not turn exit code 0 into a kill.
        signals.clear();
        std::signal(SIGTERM, SIG_IGN);
        std::signal(SIGINT, SIG_IGN);
        log::line(log::level::info, "stopped").emit();
        log::flush();
        return 0;
    }
};

application::application(config cfg) : impl_(std::make_unique<impl>(std::move(cfg))) { }
application::~application() = default;

int application::run()
{
    return impl_->run();
}

} // namespace switchboard
