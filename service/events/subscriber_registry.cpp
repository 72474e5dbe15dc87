// The merged subscriber list, the subscriber API's changes and the poll of the stored table.
#include "service/events/subscriber_registry.hpp"

#include "protocol/core/crypto.hpp"
#include "protocol/core/error.hpp"
#include "protocol/events/webhook_signature.hpp"
#include "service/events/delivery_service.hpp"
#include "service/events/subscriber_document.hpp"
#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>

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

// A version-checked write that did not happen.
registry_answer put_failed(boost::system::error_code ec, const std::string& name)
{
    if (ec == error::conflict) {
        return refused(error::conflict, "subscriber '" + name + "' was changed meanwhile: read it and try again");
    }
    if (ec == error::not_found) {
        return refused(error::not_found, "no subscriber '" + name + "'");
    }
    return refused(error::store_unavailable);
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
    std::vector<stored> states; // of configured subscribers
    for (const auto& row : table.subscribers) {
        auto loaded = load_row(row);
        if (std::any_of(configured_.begin(), configured_.end(), [&](const auto& c) { return c.name == row.name; })) {
            if (loaded.state_only) {
                states.push_back({row, {}, std::move(loaded.view)});
                continue;
            }
            // Created through the API on a replica whose configuration did not have the name
            // yet: the configuration wins, and says so.
            log::line(
                log::level::warn, "a stored subscriber has the name of a configured one: the configured one is used")
                .str("subscriber", row.name)
                .emit();
            continue;
        }
        if (loaded.state_only) {
            continue; // the state of a subscriber no longer configured here
        }
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
    configured_states_ = std::move(states);
    if (table.version != -1) {
        applied_version_ = table.version;
        loaded_ = true;
    }

    std::vector<subscription> fan_out;
    std::vector<subscriber_config> deliver;
    for (const auto& c : configured_) {
        fan_out.push_back({c.name, c.events, c.per_call_ordering});
        if (configured_view(c).state == subscriber_state::active) {
            deliver.push_back(c);
        }
    }
    for (const auto& s : stored_) {
        fan_out.push_back({s.row.name, s.view.cfg ? s.view.cfg->events : filters_of(s.settings),
            s.view.cfg ? s.view.cfg->per_call_ordering : false});
        if (s.view.cfg && s.view.state == subscriber_state::active) {
            deliver.push_back(*s.view.cfg);
        }
    }
    fan_out_ = fan_out;
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
        out.push_back(configured_view(c));
    }
    for (const auto& s : stored_) {
        out.push_back(s.view);
    }
    return out;
}

subscriber_view subscriber_registry::configured_view(const subscriber_config& c) const
{
    subscriber_view v;
    const auto state = std::find_if(
        configured_states_.begin(), configured_states_.end(), [&](const auto& s) { return s.row.name == c.name; });
    if (state != configured_states_.end()) {
        v = state->view;
    }
    v.name = c.name;
    v.configured = true;
    v.cfg = c;
    return v;
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

bool subscriber_registry::wanted(const call_event& e) const
{
    std::lock_guard lock(mutex_);
    return std::any_of(fan_out_.begin(), fan_out_.end(), [&](const subscription& s) { return s.receives(e); });
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
    std::string problem;
    const auto cfg = parse_settings(settings, problem);
    if (!cfg) {
        co_return refused(error::invalid_parameter, problem);
    }
    if (find(cfg->name)) {
        co_return refused(error::conflict, "a subscriber named '" + cfg->name + "' exists");
    }
    const std::int64_t now = unix_ms_now();
    std::string doc = document_of(settings, subscriber_state::active, "", now, now); // (GCC 12: a local)
    auto r = co_await table_.put(cfg->name, std::move(doc), 0);
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
    std::string problem;
    const auto cfg = parse_settings(settings, problem);
    if (!cfg) {
        co_return refused(error::invalid_parameter, problem);
    }
    if (cfg->name != name) {
        co_return refused(error::invalid_parameter, "name cannot change (create a subscriber with the new name)");
    }
    const std::int64_t now = unix_ms_now();
    const std::int64_t changed_at = state != current.view.state ? now : current.view.state_changed_at_ms;
    std::string doc = document_of(settings, state, reason, changed_at, now); // (GCC 12: a local)
    auto r = co_await table_.put(name, std::move(doc), current.row.version);
    if (!r) {
        co_return put_failed(r.error(), name);
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
            registry_answer&) -> std::optional<std::string> { return patch_settings(settings, patch); });
}

task<registry_answer> subscriber_registry::set_state(
    std::string name, subscriber_state state, std::string reason, std::int64_t expected_version)
{
    const auto before = find(name);
    registry_answer a;
    if (before && before->configured) {
        a = co_await set_configured_state(name, state, std::move(reason), expected_version);
    } else {
        auto edit = [state, reason = std::move(reason)](boost::json::object&, subscriber_state& s, std::string& why,
                        registry_answer&) -> std::optional<std::string> {
            s = state;
            why = state == subscriber_state::active ? std::string() : reason;
            return std::nullopt;
        };
        a = co_await change(name, expected_version, std::move(edit));
    }
    if (!a.ec && before && before->state == subscriber_state::disabled && state == subscriber_state::active) {
        deliveries_.watch_recovery(name); // its next delivery is subscriber.recovered
    }
    co_return a;
}

task<registry_answer> subscriber_registry::set_configured_state(
    std::string name, subscriber_state state, std::string reason, std::int64_t expected_version)
{
    std::int64_t version = 0;
    subscriber_state current = subscriber_state::active;
    std::int64_t changed_at = 0;
    {
        std::lock_guard lock(mutex_);
        const auto it = std::find_if(
            configured_states_.begin(), configured_states_.end(), [&](const auto& s) { return s.row.name == name; });
        if (it != configured_states_.end()) {
            version = it->row.version;
            current = it->view.state;
            changed_at = it->view.state_changed_at_ms;
        }
    }
    if (expected_version != 0 && expected_version != version) {
        co_return refused(error::conflict,
            "subscriber '" + name + "' is at version " + std::to_string(version) + ", not "
                + std::to_string(expected_version));
    }
    const std::int64_t now = unix_ms_now();
    std::string doc = state_document_of(
        state, state == subscriber_state::active ? std::string() : reason, state != current ? now : changed_at, now);
    auto r = co_await table_.put(name, std::move(doc), version); // (GCC 12: the document a local)
    if (!r) {
        co_return put_failed(r.error() == error::not_found ? make_error_code(error::conflict) : r.error(), name);
    }
    co_await refresh();
    registry_answer out;
    out.view = find(name);
    co_return out;
}

task<bool> subscriber_registry::disable(std::string name, std::string reason)
{
    const auto v = find(name);
    if (!v || v->state == subscriber_state::disabled) {
        co_return false; // gone, or disabled already (another replica saw it first)
    }
    const auto a = co_await set_state(name, subscriber_state::disabled, std::move(reason), 0);
    co_return !a.ec;
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
            rotate_secret(settings, secret, unix_ms_now() + std::chrono::milliseconds(overlap).count());
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
