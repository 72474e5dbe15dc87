// The merged subscriber list, the subscriber API's changes and the poll of the stored table.
#include "service/events/subscriber_registry.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "protocol/events/call_event.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "service/events/delivery_service.hpp"
#include "service/events/subscriber_document.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <future>

namespace switchboard {
namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<connection_executor>{});

registry_answer refused(error e, std::string message = {})
{
    registry_answer a;
    a.ec = make_error_code(e);
    a.message = std::move(message);
    return a;
}

} // namespace

subscriber_registry::subscriber_registry(event_store& store, subscriber_store& table, delivery_service& deliveries,
    std::vector<subscriber_config> configured)
    : store_(store), table_(table), deliveries_(deliveries), configured_(std::move(configured))
{
    apply(subscriber_table{-1, {}});
    std::lock_guard lock(mutex_);
    for (const auto& problem : worker_problems_) {
        const std::string& name = problem.first; // (clang 14 cannot capture a structured binding)
        if (std::any_of(configured_.begin(), configured_.end(), [&](const auto& c) { return c.name == name; })) {
            throw std::runtime_error("subscriber " + name + ": " + problem.second);
        }
    }
}

bool subscriber_registry::load_now(std::chrono::milliseconds timeout)
{
    auto promise = std::make_shared<std::promise<boost::system::result<subscriber_table>>>();
    auto future = promise->get_future();
    store_.subscribers([promise](boost::system::result<subscriber_table> r) { promise->set_value(std::move(r)); });
    if (future.wait_for(timeout) != std::future_status::ready) {
        return false;
    }
    auto r = future.get();
    if (!r) {
        return false;
    }
    apply(*r);
    return true;
}

void subscriber_registry::start(const connection_executor& ex, std::chrono::milliseconds interval)
{
    net::co_spawn(
        ex,
        [this, ex, interval]() -> task<void> {
            net::steady_timer tick(ex);
            for (;;) {
                co_await refresh();
                tick.expires_after(interval);
                auto [ec] = co_await tick.async_wait(use_tuple);
                if (ec) {
                    co_return;
                }
            }
        },
        log::on_failure("subscriber table poll failed"));
}

task<bool> subscriber_registry::refresh()
{
    auto v = co_await table_.version();
    if (!v) {
        co_return false;
    }
    {
        std::lock_guard lock(mutex_);
        if (*v == applied_version_) {
            co_return true;
        }
    }
    auto t = co_await table_.load();
    if (!t) {
        co_return false;
    }
    apply(*t);
    co_return true;
}

void subscriber_registry::apply(const subscriber_table& table)
{
    std::lock_guard lock(mutex_);
    if (table.version != -1 && table.version <= applied_version_) {
        return; // an older read finished after a newer one
    }
    std::vector<stored> next;
    for (const auto& row : table.subscribers) {
        if (std::any_of(configured_.begin(), configured_.end(), [&](const auto& c) { return c.name == row.name; })) {
            // Created through the API on a replica whose configuration did not have the name
            // yet: the configuration wins, and says so.
            log::line(
                log::level::warn, "a stored subscriber has the name of a configured one: the configured one is used")
                .str("subscriber", row.name)
                .emit();
            continue;
        }
        auto loaded = load_row(row);
        const auto before
            = std::find_if(stored_.begin(), stored_.end(), [&](const auto& s) { return s.row.name == row.name; });
        if (before == stored_.end() || before->row.version != row.version) {
            log::line(log::level::info, before == stored_.end() ? "subscriber added" : "subscriber changed")
                .str("subscriber", row.name)
                .num("version", row.version)
                .str("state", to_string(loaded.view.state))
                .emit();
            if (!loaded.view.problem.empty()) {
                log::line(
                    log::level::error, "a stored subscriber's settings do not load: its events queue up, undelivered")
                    .str("subscriber", row.name)
                    .str("error", loaded.view.problem)
                    .emit();
            }
        }
        next.push_back({row, std::move(loaded.settings), std::move(loaded.view)});
    }
    for (const auto& s : stored_) {
        if (std::none_of(next.begin(), next.end(), [&](const auto& n) { return n.row.name == s.row.name; })) {
            log::line(log::level::info, "subscriber removed").str("subscriber", s.row.name).emit();
        }
    }
    stored_ = std::move(next);
    if (table.version != -1) {
        applied_version_ = table.version;
        loaded_ = true;
    }

    std::vector<subscription> fan_out;
    std::vector<subscriber_config> deliver;
    for (const auto& c : configured_) {
        fan_out.push_back({c.name, c.events, c.per_call_ordering});
        deliver.push_back(c);
    }
    for (const auto& s : stored_) {
        fan_out.push_back({s.row.name, s.view.cfg ? s.view.cfg->events : filters_of(s.settings),
            s.view.cfg ? s.view.cfg->per_call_ordering : false});
        if (s.view.cfg && s.view.state == subscriber_state::active) {
            deliver.push_back(*s.view.cfg);
        }
    }
    store_.subscribe(std::move(fan_out));
    worker_problems_ = deliveries_.apply(deliver);
    for (auto& s : stored_) {
        for (const auto& [name, why] : worker_problems_) {
            if (name == s.row.name) {
                s.view.problem = why;
            }
        }
    }
    for (const auto& [name, why] : worker_problems_) {
        log::line(log::level::error, "subscriber not delivered to: its TLS settings do not load")
            .str("subscriber", name)
            .str("error", why)
            .emit();
    }
}

std::vector<subscriber_view> subscriber_registry::list() const
{
    std::lock_guard lock(mutex_);
    std::vector<subscriber_view> out;
    for (const auto& c : configured_) {
        subscriber_view v;
        v.name = c.name;
        v.configured = true;
        v.cfg = c;
        out.push_back(std::move(v));
    }
    for (const auto& s : stored_) {
        out.push_back(s.view);
    }
    return out;
}

std::optional<subscriber_view> subscriber_registry::find(std::string_view name) const
{
    for (auto& v : list()) {
        if (v.name == name) {
            return std::move(v);
        }
    }
    return std::nullopt;
}

std::vector<std::string> subscriber_registry::names() const
{
    std::vector<std::string> out;
    for (const auto& v : list()) {
        out.push_back(v.name);
    }
    return out;
}

task<registry_answer> subscriber_registry::create(const boost::json::value& body)
{
    const auto* o = body.if_object();
    if (o == nullptr) {
        co_return refused(error::invalid_parameter, "the body must be a JSON object of subscriber settings");
    }
    boost::json::object settings = *o;
    registry_answer out;
    if (!settings.contains("secret")) {
        out.secret = webhook_signature::generate_secret(crypto::random_bytes(32));
        settings["secret"] = out.secret;
    }
    std::vector<std::string> errors;
    const auto cfg = parse_subscriber(settings, "subscriber", errors);
    if (!cfg) {
        co_return refused(error::invalid_parameter, errors.empty() ? "invalid subscriber" : errors.front());
    }
    if (find(cfg->name)) {
        co_return refused(error::conflict, "a subscriber named '" + cfg->name + "' exists");
    }
    const std::int64_t now = unix_ms_now();
    auto r = co_await table_.put(cfg->name, document_of(settings, subscriber_state::active, "", now, now), 0);
    if (!r) {
        co_return refused(r.error() == error::conflict ? error::conflict : error::store_unavailable,
            r.error() == error::conflict ? "a subscriber named '" + cfg->name + "' exists" : std::string());
    }
    co_await refresh();
    out.view = find(cfg->name);
    co_return out;
}

template <class Edit>
task<registry_answer> subscriber_registry::change(std::string name, std::int64_t expected_version, Edit edit)
{
    stored current;
    {
        std::lock_guard lock(mutex_);
        if (std::any_of(configured_.begin(), configured_.end(), [&](const auto& c) { return c.name == name; })) {
            co_return refused(error::conflict,
                "subscriber '" + name + "' is managed by configuration (SWITCHBOARD_SUBSCRIBERS): change it there");
        }
        const auto it = std::find_if(stored_.begin(), stored_.end(), [&](const auto& s) { return s.row.name == name; });
        if (it == stored_.end()) {
            co_return refused(error::not_found, "no subscriber '" + name + "'");
        }
        current = *it;
    }
    if (expected_version != 0 && expected_version != current.row.version) {
        co_return refused(error::conflict,
            "subscriber '" + name + "' is at version " + std::to_string(current.row.version) + ", not "
                + std::to_string(expected_version));
    }
    boost::json::object settings = current.settings;
    subscriber_state state = current.view.state;
    std::string reason = current.view.state_reason;
    registry_answer out;
    if (auto problem = edit(settings, state, reason, out)) {
        co_return refused(error::invalid_parameter, std::move(*problem));
    }
    std::vector<std::string> errors;
    const auto cfg = parse_subscriber(settings, "subscriber", errors);
    if (!cfg) {
        co_return refused(error::invalid_parameter, errors.empty() ? "invalid subscriber" : errors.front());
    }
    if (cfg->name != name) {
        co_return refused(error::invalid_parameter, "name cannot change (create a subscriber with the new name)");
    }
    const std::int64_t now = unix_ms_now();
    const std::int64_t changed_at = state != current.view.state ? now : current.view.state_changed_at_ms;
    auto r = co_await table_.put(name, document_of(settings, state, reason, changed_at, now), current.row.version);
    if (!r) {
        if (r.error() == error::conflict) {
            co_return refused(
                error::conflict, "subscriber '" + name + "' was changed meanwhile: read it and try again");
        }
        if (r.error() == error::not_found) {
            co_return refused(error::not_found, "no subscriber '" + name + "'");
        }
        co_return refused(error::store_unavailable);
    }
    co_await refresh();
    out.view = find(name);
    co_return out;
}

task<registry_answer> subscriber_registry::update(
    std::string name, const boost::json::object& patch, std::int64_t expected_version)
{
    return change(std::move(name), expected_version,
        [&patch](boost::json::object& settings, subscriber_state&, std::string&,
            registry_answer&) -> std::optional<std::string> {
            for (const auto& [key, value] : patch) {
                if (value.is_null()) {
                    if (key == "name" || key == "url" || key == "secret") {
                        return std::string(key) + " cannot be removed";
                    }
                    settings.erase(key);
                } else {
                    settings[key] = value;
                }
            }
            return std::nullopt;
        });
}

task<registry_answer> subscriber_registry::set_state(
    std::string name, subscriber_state state, std::string reason, std::int64_t expected_version)
{
    return change(std::move(name), expected_version,
        [state, reason = std::move(reason)](boost::json::object&, subscriber_state& s, std::string& why,
            registry_answer&) -> std::optional<std::string> {
            s = state;
            why = state == subscriber_state::active ? std::string() : reason;
            return std::nullopt;
        });
}

task<registry_answer> subscriber_registry::rotate(std::string name, std::string secret, std::chrono::seconds overlap)
{
    return change(std::move(name), 0,
        [secret = std::move(secret), overlap](boost::json::object& settings, subscriber_state&, std::string&,
            registry_answer& out) mutable -> std::optional<std::string> {
            if (secret.empty()) {
                secret = webhook_signature::generate_secret(crypto::random_bytes(32));
                out.secret = secret;
            }
            const std::int64_t now = unix_ms_now();
            boost::json::array previous;
            const auto* old = settings.if_contains("secret");
            if (old != nullptr && old->is_string()) {
                previous.push_back({{"secret", old->as_string()},
                    {"expires_at", format_timestamp(now + std::chrono::milliseconds(overlap).count())}});
            }
            // The previous secrets still signing stay, the latest first, as many as fit.
            if (const auto* p = settings.if_contains("previous_secrets"); p != nullptr && p->is_array()) {
                for (const auto& e : p->as_array()) {
                    const auto* eo = e.if_object();
                    const auto* at = eo != nullptr ? eo->if_contains("expires_at") : nullptr;
                    const auto until
                        = at != nullptr && at->is_string() ? parse_timestamp(at->as_string()) : std::nullopt;
                    if (until && *until > now && previous.size() < 4) {
                        previous.push_back(e);
                    }
                }
            }
            settings["secret"] = secret;
            settings["previous_secrets"] = std::move(previous);
            return std::nullopt;
        });
}

task<registry_answer> subscriber_registry::drop_previous_secrets(std::string name)
{
    return change(std::move(name), 0,
        [](boost::json::object& settings, subscriber_state&, std::string&,
            registry_answer&) -> std::optional<std::string> {
            settings.erase("previous_secrets");
            return std::nullopt;
        });
}

task<registry_answer> subscriber_registry::remove(std::string name, bool force)
{
    if (std::any_of(configured_.begin(), configured_.end(), [&](const auto& c) { return c.name == name; })) {
        co_return refused(error::conflict,
            "subscriber '" + name + "' is managed by configuration (SWITCHBOARD_SUBSCRIBERS): remove it there");
    }
    auto r = co_await table_.remove(name, force);
    if (!r) {
        if (r.error() == error::not_found) {
            co_return refused(error::not_found, "no subscriber '" + name + "'");
        }
        if (r.error() == error::conflict) {
            co_return refused(error::conflict,
                "subscriber '" + name + "' has deliveries not made yet: remove it with ?force=true to drop them");
        }
        co_return refused(error::store_unavailable);
    }
    co_await refresh();
    registry_answer out;
    out.removed_deliveries = *r;
    co_return out;
}

} // namespace switchboard
