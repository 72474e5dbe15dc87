// What handlers and deliverers use of the store, as awaitables: `co_await calls.totals(…)`
// returns a result<T>, resuming on the caller's executor. The store is split into the parts
// that exist, so each handler names only what it uses:
//
//   event_log         webhook events in (event_publisher)
//   delivery_queue    deliveries out: claim, complete; the admin API's listings and replays
//   call_log          the operator API's call and message log, numbers, totals
//   idempotency_keys  the operator API's Idempotency-Key records
//   subscriber_store  the subscribers stored through the subscriber API; the fan-out list
//   store_health      capacity: a write probe, sizes, free space, rows (the capacity gauges);
//                     retention passes
//
// Each is a view of one event_store (service/store/event_store.hpp), the backend interface SQLite and
// Redis implement with callbacks on their own threads; the adaptation is written once, here.
#pragma once

#include "service/http/net.hpp"
#include "service/store/event_store.hpp"

namespace switchboard {

template <class T> using store_result = boost::system::result<T>;

class event_log {
public:
    explicit event_log(event_store& s) : store_(s) { }
    // Stores the event once (a duplicate dedupe key answers the first event), completes it
    // from its record and queues a delivery per matching subscriber; error store_unavailable
    // when it was not committed.
    task<store_result<append_result>> append(append_request req);

private:
    event_store& store_;
};

class delivery_queue {
public:
    explicit delivery_queue(event_store& s) : store_(s) { }
    task<store_result<claim_result>> claim(std::string subscriber, std::size_t limit, std::int64_t now_ms);
    task<store_result<bool>> complete(std::string subscriber, delivery_outcome outcome);
    task<store_result<std::vector<delivery_row>>> list(
        std::string subscriber, delivery_state state, std::size_t limit, std::int64_t after_seq);
    task<store_result<std::int64_t>> replay(std::string subscriber, std::string event_id, std::int64_t now_ms);
    task<store_result<std::vector<queue_stats>>> stats();
    // false while the store cannot take writes (Redis unreachable): readiness reports it.
    bool available() const { return store_.available(); }

private:
    event_store& store_;
};

class call_log {
public:
    explicit call_log(event_store& s) : store_(s) { }
    task<store_result<bool>> record_call(outbound_call call);
    task<store_result<bool>> record_message(outbound_message message);
    task<store_result<bool>> record_number(purchased_number number);
    task<store_result<call_page>> calls(call_filter filter);
    task<store_result<call_detail>> call(std::string call_sid); // error not_found
    task<store_result<phone_totals>> totals(std::string also_number);

private:
    event_store& store_;
};

class idempotency_keys {
public:
    explicit idempotency_keys(event_store& s) : store_(s) { }
    task<store_result<idempotency::decision>> begin(
        std::string scope, std::string fingerprint, std::int64_t now_ms, idempotency::policy policy);
    task<store_result<bool>> finish(
        std::string scope, idempotency::record begun, std::optional<idempotency::record> result);

private:
    event_store& store_;
};

// The subscriber API's table, and what appends fan out to (event_store.hpp has the rules).
class subscriber_store {
public:
    explicit subscriber_store(event_store& s) : store_(s) { }
    task<store_result<subscriber_table>> load();
    task<store_result<std::int64_t>> version();
    task<store_result<std::int64_t>> put(std::string name, std::string document, std::int64_t expected_version);
    task<store_result<std::int64_t>> remove(std::string name, bool force);
    void subscribe(std::vector<subscription> subs) { store_.subscribe(std::move(subs)); }

private:
    event_store& store_;
};

// The store as operations sees it: whether it takes writes, how big it is, how much room is left.
class store_health {
public:
    explicit store_health(event_store& s) : store_(s) { }
    task<store_result<store_capacity>> capacity(std::int64_t now_ms);
    // One retention pass (event_store::retain).
    task<store_result<retention::pass>> retain(retention::cutoffs cut, std::size_t batch);
    // A consistent copy at `path` (event_store::backup): its size in bytes.
    task<store_result<std::int64_t>> backup(std::string path);

private:
    event_store& store_;
};

// The views of one store, as the application hands them out.
struct store_parts {
    explicit store_parts(event_store& s) : events(s), deliveries(s), calls(s), keys(s), subscribers(s), health(s) { }
    event_log events;
    delivery_queue deliveries;
    call_log calls;
    idempotency_keys keys;
    subscriber_store subscribers;
    store_health health;
};

} // namespace switchboard
