// Every subscriber, wherever it is managed: those of SWITCHBOARD_SUBSCRIBERS (read-only) and those
// stored through the subscriber API (the store's subscriber table, shared by every replica on
// Redis). The registry owns the merged list: it tells the store whom to fan events out to
// (every subscriber, paused ones too: their events queue up) and the delivery service whom to
// deliver to (active ones), and it makes the API's changes (each names the version it
// replaces). It polls the table's version once a second, so a change made on another replica
// is applied here within a second.
#pragma once

#include "service/app/config.hpp"
#include "service/events/subscriber_document.hpp"
#include "service/http/net.hpp"
#include "service/store/awaitable_store.hpp"

#include <boost/json/object.hpp>
#include <boost/system/error_code.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

class delivery_service;

// The outcome of an API change: ec is invalid_parameter (message names the field), not_found,
// conflict (message says why), store_unavailable, or none.
struct registry_answer {
    boost::system::error_code ec;
    std::string message;
    std::optional<subscriber_view> view;
    std::string secret; // a secret the registry generated (create, rotate): shown once
    std::int64_t removed_deliveries = 0; // remove with force
};

class subscriber_registry {
public:
    // Throws std::runtime_error when a configured subscriber's TLS settings are unusable.
    subscriber_registry(event_store& store, subscriber_store& table, delivery_service& deliveries,
        std::vector<subscriber_config> configured);

    // Reads the stored subscribers and applies them now, blocking (start-up: before the
    // listeners accept, so the first webhook fans out to every subscriber). False when the store
    // cannot be read (Redis not reachable yet): the poll applies them once it can.
    bool load_now(std::chrono::milliseconds timeout);
    // Polls the table's version every `interval` and applies a change, on `ex`.
    void start(const connection_executor& ex, std::chrono::milliseconds interval = std::chrono::seconds(1));
    // The stored subscribers were read at least once (readiness).
    bool loaded() const noexcept { return loaded_.load(); }

    std::vector<subscriber_view> list() const;
    std::optional<subscriber_view> find(std::string_view name) const;
    // Whether any subscriber would receive `e` (an operational event nobody takes is not stored).
    bool wanted(const call_event& e) const;

    // The subscriber API. `expected_version`: 0 for "whatever is stored now".
    task<registry_answer> create(const boost::json::value& body);
    task<registry_answer> update(std::string name, const boost::json::object& patch, std::int64_t expected_version);
    task<registry_answer> set_state(
        std::string name, subscriber_state state, std::string reason, std::int64_t expected_version);
    // A new secret (given, or generated when empty); the current one keeps signing for `overlap`.
    task<registry_answer> rotate(std::string name, std::string secret, std::chrono::seconds overlap);
    task<registry_answer> drop_previous_secrets(std::string name);
    task<registry_answer> remove(std::string name, bool force);
    // Disables a subscriber whose deliveries failed for too long (configured ones too: their
    // state is stored beside their configuration). False when it is disabled already or gone.
    task<bool> disable(std::string name, std::string reason);

    static constexpr std::chrono::hours default_overlap{24};

private:
    struct stored {
        stored_subscriber row;
        boost::json::object settings; // as the API took them (SWITCHBOARD_SUBSCRIBERS' object)
        subscriber_view view;
    };
    // Reads the table when its version is not the one applied, then applies it.
    task<bool> refresh();
    void apply(const subscriber_table& table);
    subscriber_view configured_view(const subscriber_config& c) const; // under mutex_
    task<registry_answer> set_configured_state(
        std::string name, subscriber_state state, std::string reason, std::int64_t expected_version);
    // The stored document of `name` changed by `edit` (which may refuse with a message), written
    // with the version it was read at.
    template <class Edit> task<registry_answer> change(std::string name, std::int64_t expected_version, Edit edit);

    event_store& store_;
    subscriber_store& table_;
    delivery_service& deliveries_;
    const std::vector<subscriber_config> configured_;
    mutable std::mutex mutex_;
    std::int64_t applied_version_ = -1; // under mutex_
    std::vector<stored> stored_; // under mutex_, by name
    std::vector<stored> configured_states_; // under mutex_: configured subscribers' stored states
    std::vector<subscription> fan_out_; // under mutex_: what the store was told last
    std::vector<std::pair<std::string, std::string>> worker_problems_; // under mutex_
    std::atomic<bool> loaded_{false};
};

} // namespace switchboard
