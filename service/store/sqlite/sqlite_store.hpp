// The embedded event store: one SQLite database in the data directory (WAL, exclusive lock),
// written by one thread that runs queued operations in shared transactions (group commit) and
// flushed by another that fsyncs the WAL before any of them is acknowledged (pipelined: the
// next batch runs while the previous one is flushed). Blocking work never runs on the network
// threads.
#pragma once

#include "service/store/event_store.hpp"

#include <memory>
#include <string>
#include <vector>

namespace switchboard {

class sqlite_store final : public event_store {
public:
    // Opens or creates <data_dir>/switchboard.db, applies migrations, and makes deliveries that
    // were in flight when the previous process stopped due again. Throws std::runtime_error with
    // an operator-readable message (unwritable directory, database in use by another process,
    // newer schema).
    sqlite_store(const std::string& data_dir, std::vector<subscription> subscriptions);
    ~sqlite_store() override; // runs what is queued, then closes

    // Stops taking operations (later ones fail with store_unavailable), runs what is queued,
    // and joins the writer thread. Idempotent.
    void close();

    // Where callbacks run: `executor(fn)` must run fn soon on some thread (the application
    // posts it to the io_context: one hand-off per batch). Default: on the writer thread.
    void complete_on(std::function<void(std::function<void()>)> executor);

    static constexpr int schema_version = 9;
    static constexpr const char* file_name = "switchboard.db";
    // The process exits with this code when an fsync of the WAL fails (fail-stop).
    static constexpr int fsync_failure_exit_code = 75;

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

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace switchboard
