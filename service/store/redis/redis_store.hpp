// The shared event store: Redis, for several replicas behind one Service. Events go to Redis
// Streams (one per subscriber) in the same Lua script that de-duplicates them and updates the
// call record, before the webhook answers; each subscriber's stream is consumed through one
// consumer group, so each delivery is made by one replica, acknowledged after the outcome is
// recorded, and taken over (XAUTOCLAIM) from a replica that stopped answering for
// `reclaim_idle`. Per-call state is updated with optimistic concurrency (the record's version
// is checked inside the write script), so Twilio retries and out-of-order callbacks landing on
// different replicas give the same result as on one. Keys: service/store/redis/redis_scripts.cpp.
#pragma once

#include "service/client/redis_client.hpp"
#include "service/store/event_store.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace switchboard {

namespace redis_detail {
class record_guesses;
}

struct redis_store_settings {
    redis_settings connection;
    std::string prefix = "switchboard:"; // every key starts with it: several deployments, one Redis
    std::chrono::milliseconds reclaim_idle{60'000}; // a delivery in flight this long is taken over
    std::string consumer; // this replica's consumer name (host name and pid)
};

class redis_store final : public event_store {
public:
    redis_store(redis_store_settings settings, std::vector<subscription> subscriptions);
    ~redis_store() override;

    // Connects in the background (and reconnects whenever the connection is lost).
    void start();
    // Fails what is waiting and closes the connection. Idempotent.
    void close();
    // The connection, shared with the rate limiter.
    redis_client& client() noexcept { return *client_; }
    const redis_store_settings& settings() const noexcept { return settings_; }

    static constexpr const char* group = "deliverers";

    void append(append_request req, callback<append_result> done) override;
    void claim(std::string subscriber, std::size_t limit, std::int64_t now_ms, callback<claim_result> done) override;
    void complete(std::string subscriber, delivery_outcome outcome, callback<bool> done) override;
    void list(std::string subscriber, delivery_state state, std::size_t limit, std::int64_t after_seq,
        callback<std::vector<delivery_row>> done) override;
    void replay(
        std::string subscriber, std::string event_id, std::int64_t now_ms, callback<std::int64_t> done) override;
    void stats(callback<std::vector<queue_stats>> done) override;
    void record_call(outbound_call call, callback<bool> done) override;
    void record_message(outbound_message message, callback<bool> done) override;
    void record_number(purchased_number number, callback<bool> done) override;
    void calls(call_filter filter, callback<call_page> done) override;
    void call(std::string call_sid, callback<call_detail> done) override;
    void totals(std::string also_number, callback<phone_totals> done) override;
    void idempotency_begin(std::string scope, std::string fingerprint, std::int64_t now_ms, idempotency::policy policy,
        callback<idempotency::decision> done) override;
    void idempotency_finish(std::string scope, idempotency::record begun, std::optional<idempotency::record> result,
        callback<bool> done) override;
    void capacity(std::int64_t now_ms, callback<store_capacity> done) override;
    void retain(retention::cutoffs cut, std::size_t batch, callback<retention::pass> done) override;
    void backup(std::string path, callback<std::int64_t> done) override;
    void subscribe(std::vector<subscription> subs) override;
    void subscribers(callback<subscriber_table> done) override;
    void subscribers_version(callback<std::int64_t> done) override;
    void put_subscriber(
        std::string name, std::string document, std::int64_t expected_version, callback<std::int64_t> done) override;
    void remove_subscriber(std::string name, bool force, callback<std::int64_t> done) override;
    void on_commit(std::function<void(const store_timing&)> observer) override;
    bool available() const override;

    struct scripts;
    struct write_op;

private:
    bool knows(const std::string& subscriber) const;
    // Plans the write from the record as this replica last wrote it (none: a new record) and
    // runs the write script: one round trip. When the guess was wrong (the script's version
    // check), or on a real conflict, reads the record (and the dedupe key) and plans again.
    void versioned_write(std::shared_ptr<write_op> op);
    void planned_write(std::shared_ptr<write_op> op, std::unordered_map<std::string, std::string> rec);
    struct idempotency_op;
    void idempotency_try(std::shared_ptr<idempotency_op> op);
    // Plans a versioned write from the record it read: appends the write script's arguments.
    using plan_fn
        = std::function<void(const std::unordered_map<std::string, std::string>&, std::vector<std::string>& args)>;
    // A call or message record upsert without an event (the operator API's call log).
    void upsert(std::string kind, std::string sid, plan_fn plan, callback<bool> done);
    // A removed subscriber's delivery records, in bounded batches until none is left.
    void purge(std::string name, std::int64_t undelivered, callback<std::int64_t> done);

    redis_store_settings settings_;
    subscription_set subs_;
    std::unique_ptr<redis_client> client_;
    std::unique_ptr<scripts> scripts_;
    std::unique_ptr<redis_detail::record_guesses> guesses_; // so a write can skip its read
    std::function<void(const store_timing&)> observer_;
    std::atomic<std::int64_t> last_reclaim_ms_{0};
};

} // namespace switchboard
