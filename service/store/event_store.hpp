// The backend interface of the durable store: events (de-duplicated), the call and message log
// (records by protocol/events/records.hpp), and one delivery row per (event, subscriber). The
// embedded implementation is SQLite (service/store/sqlite/sqlite_store.hpp); a shared one
// (Redis, service/store/redis/redis_store.hpp) implements the same interface so several
// replicas can share one queue.
//
// Every operation is asynchronous: it is queued, runs off the network threads, and its callback
// is invoked once, from the store's own thread, with the outcome. Handlers and deliverers do not
// use this interface: they await its parts (service/store/awaitable_store.hpp).
#pragma once

#include "protocol/events/call_event.hpp"
#include "protocol/events/records.hpp"
#include "protocol/events/retention.hpp"
#include "protocol/phone_api/idempotency.hpp"
#include "protocol/twilio/call_status.hpp"

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace switchboard {

// What a subscriber receives, as far as the store is concerned: its name and event filter.
struct subscription {
    std::string name;
    std::vector<std::string> filters; // "*", "call.*", "sms.received", ...
    // The events of one call or message (their subject) are claimed one at a time, in stored
    // order: one is claimed only once every earlier one of its subject is delivered or dead.
    bool per_call = false;
    bool matches(event_type t) const;
    // Whether an append fans `e` out to this subscriber: its type matches, and an operational
    // event is never about the subscriber itself (it would feed on its own failures).
    bool receives(const call_event& e) const;
};

// The subscriptions a store fans events out to, replaced while it runs (the subscriber API):
// an append reads one snapshot, so it sees the list before or after a change, never half of it.
// Thread-safe.
class subscription_set {
public:
    using snapshot = std::shared_ptr<const std::vector<subscription>>;
    explicit subscription_set(std::vector<subscription> subs = {});
    snapshot current() const;
    void replace(std::vector<subscription> subs);
    bool knows(std::string_view name) const;
    bool per_call(std::string_view name) const;

private:
    mutable std::mutex mutex_;
    snapshot subs_;
};

// A subscriber stored through the subscriber API: its settings as the JSON document the API
// took (the same object SWITCHBOARD_SUBSCRIBERS holds, plus its state), and its version, which
// every change increments (a change names the version it replaces, so two operators, or two
// replicas, never overwrite each other's change unseen).
struct stored_subscriber {
    std::string name;
    std::string document;
    std::int64_t version = 0;
};

struct subscriber_table {
    std::int64_t version = 0; // of the whole table: any change increments it
    std::vector<stored_subscriber> subscribers; // by name
};

// One webhook's event, before it is stored.
struct append_request {
    call_event event; // id and occurred_at_ms set; the store completes it from its record (records.hpp)
    std::string dedupe_key; // protocol/events/call_event.hpp dedupe_key()
};

struct append_result {
    bool duplicate = false; // the key was seen: nothing new was stored
    std::string event_id; // the new event's id, or the id of the event it duplicates
    std::optional<apply_result> applied; // call.status_changed: how it changed the call record
    std::string current_status; // the call's or message's recorded status after the event
    std::vector<std::string> subscribers; // who got a delivery row (empty for duplicates)
};

// A delivery handed to a deliverer: it is "in flight" until complete() records its outcome.
// After a crash, in-flight deliveries are due again.
struct claimed_delivery {
    std::int64_t seq = 0; // the event's position in the store
    std::string event_id;
    std::string payload; // the event JSON, delivered as the body
    std::int64_t occurred_at_ms = 0;
    int attempts = 0; // failed attempts so far
    std::optional<std::int64_t> first_attempt_at_ms;
    std::string claim{}; // the store's token for this claim (Redis: the stream entry); empty for SQLite
};

struct claim_result {
    std::vector<claimed_delivery> deliveries;
    std::optional<std::int64_t> next_due_at_ms; // earliest pending row not claimed now
    // Redis: deliveries among `deliveries` taken over from replicas that stopped, by consumer.
    std::vector<std::pair<std::string, std::int64_t>> taken_over;
    // Redis: the delivery consumer group was missing and was made again (Redis lost its data).
    bool group_recreated = false;
};

enum class delivery_state { pending, in_flight, delivered, dead };
std::string_view to_string(delivery_state s) noexcept;
std::optional<delivery_state> parse_delivery_state(std::string_view s) noexcept;

struct delivery_outcome {
    std::int64_t seq = 0;
    delivery_state state = delivery_state::pending; // pending (retry later), delivered or dead
    int attempts = 0; // including this one
    std::int64_t attempted_at_ms = 0;
    std::int64_t next_attempt_at_ms = 0; // pending only
    int last_status = 0; // HTTP status of this attempt; 0 for transport errors
    std::string last_error; // why it failed; empty when delivered
    std::string claim; // claimed_delivery::claim: applied only while the delivery is still in flight under it
};

// A row as the admin API lists it.
struct delivery_row {
    std::int64_t seq = 0;
    std::string event_id;
    std::string type;
    std::int64_t occurred_at_ms = 0;
    delivery_state state = delivery_state::pending;
    int attempts = 0;
    std::optional<std::int64_t> next_attempt_at_ms;
    int last_status = 0;
    std::string last_error;
};

struct queue_stats {
    std::string subscriber;
    std::int64_t pending = 0;
    std::int64_t in_flight = 0;
    std::int64_t dead = 0;
    std::optional<std::int64_t> oldest_pending_occurred_at_ms;
};

// The call log, as the operator API reads and writes it: the records and their rules are
// protocol/events/records.hpp's (call_record, message_record, outbound_call, outbound_message,
// phone_totals).
struct purchased_number {
    std::string sid; // PN…
    std::string phone_number;
    std::string friendly_name;
    std::int64_t purchased_at_ms = 0;
};

struct call_filter {
    std::size_t limit = 50;
    std::string status; // empty: any
    std::string direction; // empty: any; "outbound": any outbound-*
    std::optional<std::int64_t> before_started_at_ms; // keyset page: rows strictly after this one
    std::string before_call_sid;
};

// One page of the call log. `more`: where the next page starts (the last row examined, which
// is not always the last row returned: a selective filter on Redis stops after a bounded scan),
// or nullopt at the end of the log.
struct call_position {
    std::int64_t started_at_ms = 0;
    std::string call_sid;
};
struct call_page {
    std::vector<call_record> rows;
    std::optional<call_position> more;
};

struct call_detail {
    call_record call;
    std::vector<std::string> events; // the call's event documents (JSON), oldest first
};

// The store's footprint and whether it takes writes, for the capacity gauges and alerts.
struct store_capacity {
    // A write just committed: SQLite, a probe row through the writer and its fsync; Redis, a SET
    // (refused at maxmemory with noeviction, on a read-only replica, or without a connection).
    bool writable = false;
    std::int64_t size_bytes = 0; // SQLite: the database and WAL files; Redis: used_memory
    // SQLite: the data directory's file system, and what of it this process may still use
    // (statvfs f_blocks, f_bavail); Redis: maxmemory and what is left of it (0 and 0: no limit).
    std::int64_t capacity_bytes = 0;
    std::int64_t free_bytes = 0;
    std::int64_t events = 0; // stored events
    std::int64_t deliveries = 0; // delivery rows (SQLite) or delivery records (Redis), any state
    std::int64_t calls = 0; // call log records
    std::int64_t messages = 0; // message log records (Redis: those with a known direction)
};

struct store_timing {
    std::size_t batch_size = 0;
    double commit_seconds = 0;
    bool ok = true;
};

class event_store {
public:
    template <class T> using callback = std::function<void(boost::system::result<T>)>;

    virtual ~event_store() = default;

    // Stores the event (or recognises a duplicate), applies the call update, records the call
    // log, and creates a pending delivery for every matching subscriber, in one transaction
    // shared with concurrent appends. The callback runs after COMMIT; error store_unavailable
    // when it did not commit.
    virtual void append(append_request req, callback<append_result> done) = 0;

    // Up to `limit` due pending deliveries of `subscriber`, oldest due first, now in flight.
    virtual void claim(std::string subscriber, std::size_t limit, std::int64_t now_ms, callback<claim_result> done) = 0;
    virtual void complete(std::string subscriber, delivery_outcome outcome, callback<bool> done) = 0;

    // Admin: rows of one state, from the oldest; re-queue dead deliveries (one, or when
    // `event_id` is empty the oldest replay_batch of them: callers repeat until fewer come
    // back, so no single transaction or script holds the store for long), answering how many
    // were re-queued.
    static constexpr std::size_t replay_batch = 1000;
    virtual void list(std::string subscriber, delivery_state state, std::size_t limit, std::int64_t after_seq,
        callback<std::vector<delivery_row>> done)
        = 0;
    virtual void replay(std::string subscriber, std::string event_id, std::int64_t now_ms, callback<std::int64_t> done)
        = 0;
    virtual void stats(callback<std::vector<queue_stats>> done) = 0;

    // The operator API's call log. Recording upserts: a status callback may arrive before the
    // create answer did, and the API's fields are merged into what the callback wrote.
    virtual void record_call(outbound_call call, callback<bool> done) = 0;
    virtual void record_message(outbound_message message, callback<bool> done) = 0;
    virtual void record_number(purchased_number number, callback<bool> done) = 0;
    // Newest first (started_at, then call SID, descending): at most filter.limit rows, each read
    // bounded, so a page may hold fewer rows and still have `more`.
    virtual void calls(call_filter filter, callback<call_page> done) = 0;
    // Error not_found for an unknown call.
    virtual void call(std::string call_sid, callback<call_detail> done) = 0;
    // `also_number`: a number in use that may not have been bought through the API (counted once).
    virtual void totals(std::string also_number, callback<phone_totals> done) = 0;

    // Idempotency-Key records of the operator API's creates, by idempotency::scope. `begin`
    // reads the scope's record and stores what idempotency::begin decides, atomically (one
    // transaction; on Redis a compare-and-set, so replicas share the keys). `finish` replaces
    // the in-flight record `begun` with `result`, or removes it when `result` is nullopt (the
    // answer is not kept) — only while `begun` is still the record stored; false otherwise.
    virtual void idempotency_begin(std::string scope, std::string fingerprint, std::int64_t now_ms,
        idempotency::policy policy, callback<idempotency::decision> done)
        = 0;
    virtual void idempotency_finish(
        std::string scope, idempotency::record begun, std::optional<idempotency::record> result, callback<bool> done)
        = 0;
    // Probes a write and measures the store (sizes, free space, rows); `writable` false when
    // the probe did not commit. The sizes are read even then.
    virtual void capacity(std::int64_t now_ms, callback<store_capacity> done) = 0;
    // One retention pass (protocol/events/retention.hpp): removes at most `batch` rows of each
    // kind older than the cutoffs (never a pending or in-flight delivery, nor its event) and
    // gives the space back (SQLite: incremental auto-vacuum; Redis: the keys are deleted).
    // SQLite runs it as one writer operation, shared with the appends of its batch; Redis as
    // bounded scripts.
    virtual void retain(retention::cutoffs cut, std::size_t batch, callback<retention::pass> done) = 0;
    // A consistent copy of the whole store written to `path` while the service runs (SQLite:
    // the online backup API on the read connection; the copy's size in bytes). Redis: error
    // not_configured (Redis' own persistence backs it up: README "Data and capacity").
    virtual void backup(std::string path, callback<std::int64_t> done) = 0;

    // The subscribers an append fans out to from now on (the configured and the stored ones,
    // paused included: their events queue up). Thread-safe; the list given at construction
    // until the first call.
    virtual void subscribe(std::vector<subscription> subs) = 0;
    // The stored subscribers, and the table's version alone (cheap: replicas poll it).
    virtual void subscribers(callback<subscriber_table> done) = 0;
    virtual void subscribers_version(callback<std::int64_t> done) = 0;
    // Stores `document` as subscriber `name`: `expected_version` 0 creates it (error conflict
    // when it exists), n > 0 replaces version n (error not_found without one, conflict when it
    // is not version n any more). Answers the new version.
    virtual void put_subscriber(
        std::string name, std::string document, std::int64_t expected_version, callback<std::int64_t> done)
        = 0;
    // Removes a stored subscriber. Its pending and in-flight deliveries refuse it (error
    // conflict) unless `force`, which removes them, and every other delivery row of it, too.
    // Answers how many undelivered deliveries were removed; error not_found without one.
    virtual void remove_subscriber(std::string name, bool force, callback<std::int64_t> done) = 0;

    // Observes every commit (batch size, duration, success), from the store's thread.
    virtual void on_commit(std::function<void(const store_timing&)> observer) = 0;

    // false while the store cannot take writes (Redis unreachable): readiness reports it.
    virtual bool available() const { return true; }
};

} // namespace switchboard
