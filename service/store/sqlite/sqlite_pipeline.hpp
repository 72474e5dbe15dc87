// The SQLite store's threads: the writer (batches in one transaction, group commit), the syncer
// (fsyncs the WAL before anything is acknowledged) and the reader (history, stats, listings on
// their own connection). Internal to service/store/sqlite/: sqlite_store.cpp starts and stops
// them, sqlite_operations.cpp submits each operation.
#pragma once

#include "service/ops/clock.hpp"
#include "service/ops/log.hpp"
#include "service/store/sqlite/sqlite_database.hpp"
#include "service/store/sqlite/sqlite_store.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace switchboard {

using sqlite::call_columns;
using sqlite::database;
using sqlite::message_columns;
using sqlite::operation;
using sqlite::read_call;
using sqlite::read_message;
using sqlite::sql_error;
using sqlite::statement;
using sqlite::typed_operation;

// Two threads, pipelined: the writer runs a batch and commits it to the WAL (page cache), then
// hands it to the syncer, which fsyncs the WAL and only then completes the batch's callbacks.
// While one batch is being synced the writer already runs the next, so the disk flush is paid
// once per pipeline turn, not once per transaction. A commit is acknowledged only after the
// fsync that made its WAL frames durable: the durability of synchronous=FULL, without its stall.
struct sqlite_store::impl {
    using batch_t = std::vector<std::unique_ptr<operation>>;

    impl(const std::string& path, std::vector<subscription> subs)
        : db(path, std::make_shared<subscription_set>(std::move(subs)))
        , reads(path, db.shared_subscriptions(), database::mode::read)
        , db_path(path)
        , wal_path(path + "-wal")
    {
    }
    ~impl()
    {
        if (wal_fd >= 0) {
            ::close(wal_fd);
        }
    }

    // The lock file's descriptor, closed last (after the connections).
    struct lock_holder {
        int fd = -1;
        ~lock_holder()
        {
            if (fd >= 0) {
                ::close(fd);
            }
        }
    };
    lock_holder lock_file;

    database db;
    // The read connection and its thread: history, stats, admin listings and the queue gauges
    // run here, so a long scan never holds up a webhook's commit. Its callbacks run like the
    // writer's (completions).
    database reads;
    std::deque<std::unique_ptr<operation>> read_queue; // under mutex
    std::condition_variable read_wake;
    std::thread reader;
    const std::string db_path;
    const std::string wal_path;
    int wal_fd = -1;
    std::mutex mutex;
    std::condition_variable wake;
    std::deque<std::unique_ptr<operation>> queue;
    bool closing = false;
    std::function<void(const store_timing&)> observer;
    std::function<void(std::function<void()>)> completions; // where callbacks run; inline if empty
    std::thread writer;

    struct unsynced {
        batch_t ops;
        std::chrono::steady_clock::time_point started;
        bool ok;
    };
    std::mutex sync_mutex;
    std::condition_variable sync_wake;
    std::vector<unsynced> to_sync;
    bool writer_done = false;
    std::thread syncer;

    void enqueue(std::unique_ptr<operation> op)
    {
        {
            std::lock_guard lock(mutex);
            if (!closing) {
                queue.push_back(std::move(op));
                op = nullptr;
            }
        }
        if (op) {
            op->finish(false);
            return;
        }
        wake.notify_one();
    }

    template <class T, class Fn> void submit(Fn fn, callback<T> done)
    {
        enqueue(std::make_unique<typed_operation<T, Fn>>(std::move(fn), std::move(done)));
    }

    // A read on the read connection; `fn` must not write.
    template <class T, class Fn> void submit_read(Fn fn, callback<T> done)
    {
        auto op = std::make_unique<typed_operation<T, Fn>>(std::move(fn), std::move(done));
        {
            std::lock_guard lock(mutex);
            if (!closing) {
                read_queue.push_back(std::move(op));
            }
        }
        if (op) {
            op->finish(false);
            return;
        }
        read_wake.notify_one();
    }

    void read_loop()
    {
        for (;;) {
            std::unique_ptr<operation> op;
            {
                std::unique_lock lock(mutex);
                read_wake.wait(lock, [this] { return closing || !read_queue.empty(); });
                if (read_queue.empty()) {
                    return;
                }
                op = std::move(read_queue.front());
                read_queue.pop_front();
            }
            try {
                reads.exec("BEGIN"); // one snapshot for the operation's statements
                op->execute(reads);
                reads.exec("COMMIT");
                op->committed = true;
            } catch (const std::exception& e) {
                log::line(log::level::error, "event store read failed").str("error", e.what()).emit();
                try {
                    reads.exec("ROLLBACK");
                } catch (const sql_error&) {
                    // not in a transaction
                }
            }
            batch_t one;
            one.push_back(std::move(op));
            finish(std::move(one));
        }
    }

    // Runs the operations in one transaction. false: nothing was committed.
    bool run_batch(batch_t& ops, std::size_t from, std::size_t to, std::string& why)
    {
        try {
            db.exec("BEGIN IMMEDIATE");
        } catch (const sql_error& e) {
            why = e.what();
            return false;
        }
        try {
            for (std::size_t i = from; i < to; ++i) {
                ops[i]->execute(db);
            }
            db.exec("COMMIT");
            return true;
        } catch (const std::exception& e) {
            why = e.what();
            try {
                db.exec("ROLLBACK");
            } catch (const sql_error&) {
                // Already rolled back by SQLite (e.g. SQLITE_FULL during COMMIT).
            }
            return false;
        }
    }

    void open_wal()
    {
        wal_fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
        if (wal_fd < 0) {
            throw std::runtime_error("cannot open the event store's WAL " + wal_path + ": " + std::strerror(errno));
        }
    }

    // fsync of the WAL file (any descriptor of the file flushes all of its dirty pages). Reopens
    // it if SQLite ever replaced the file.
    bool sync_wal(std::string& why)
    {
        struct stat by_path { };
        struct stat by_fd { };
        if (::stat(wal_path.c_str(), &by_path) == 0 && ::fstat(wal_fd, &by_fd) == 0 && by_path.st_ino != by_fd.st_ino) {
            ::close(wal_fd);
            wal_fd = ::open(wal_path.c_str(), O_RDONLY | O_CLOEXEC);
        }
        if (wal_fd < 0 || ::fsync(wal_fd) != 0) {
            why = std::string("fsync of the WAL failed: ") + std::strerror(errno);
            return false;
        }
        return true;
    }

    void run()
    {
        batch_t batch;
        for (;;) {
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [this] { return closing || !queue.empty(); });
                if (queue.empty()) {
                    break; // closing, and nothing left
                }
                while (!queue.empty()) {
                    batch.push_back(std::move(queue.front()));
                    queue.pop_front();
                }
            }
            const auto started = std::chrono::steady_clock::now();
            std::string why;
            const bool ok = run_batch(batch, 0, batch.size(), why);
            if (ok) {
                for (auto& op : batch) {
                    op->committed = true;
                }
            } else {
                log::line(log::level::error, "event store commit failed")
                    .str("error", why)
                    .num("batch_size", static_cast<std::int64_t>(batch.size()))
                    .emit();
                if (batch.size() > 1) {
                    // One operation may have failed the whole batch: give each its own
                    // transaction, so only what truly cannot commit is refused.
                    for (std::size_t i = 0; i < batch.size(); ++i) {
                        std::string own;
                        batch[i]->committed = run_batch(batch, i, i + 1, own);
                    }
                }
            }
            {
                std::lock_guard lock(sync_mutex);
                to_sync.push_back({std::move(batch), started, ok});
            }
            sync_wake.notify_one();
            batch.clear(); // moved from: valid and empty
        }
        {
            std::lock_guard lock(sync_mutex);
            writer_done = true;
        }
        sync_wake.notify_one();
    }

    void sync_loop()
    {
        std::vector<unsynced> turn;
        for (;;) {
            {
                std::unique_lock lock(sync_mutex);
                sync_wake.wait(lock, [this] { return writer_done || !to_sync.empty(); });
                if (to_sync.empty()) {
                    return;
                }
                turn.swap(to_sync);
            }
            std::string why;
            const bool synced = sync_wal(why);
            if (!synced) {
                // Fail-stop. The batch is committed in the WAL (visible to later batches) but not
                // durable, and after a writeback error Linux may drop the dirty pages and report
                // the next fsync as fine: a Twilio retry would be answered as a duplicate of an
                // event that may never reach the disk. Stop now: nothing of the batch was
                // acknowledged, Twilio retries, and the next start recovers from what is on disk.
                log::line(log::level::error,
                    "event store flush failed: stopping (nothing of the batch was acknowledged; the next start "
                    "recovers the store from what is on disk)")
                    .str("error", why)
                    .num("exit_code", fsync_failure_exit_code)
                    .emit();
                log::flush();
                std::_Exit(fsync_failure_exit_code);
            }
            const auto now = std::chrono::steady_clock::now();
            for (auto& b : turn) {
                const std::size_t size = b.ops.size();
                if (!synced) {
                    for (auto& op : b.ops) {
                        op->committed = false;
                    }
                }
                // Observed before it is acknowledged: whoever sees an acknowledgement also sees the
                // commit counted (the metrics, the writable gauge).
                if (observer) {
                    observer(
                        store_timing{size, std::chrono::duration<double>(now - b.started).count(), b.ok && synced});
                }
                finish(std::move(b.ops));
            }
            turn.clear();
        }
    }

    // Runs the callbacks: one hand-off per batch to the completion executor (so the waiting
    // coroutines are resumed from the network threads, and their memory is freed there).
    void finish(batch_t done)
    {
        if (!completions) {
            for (auto& op : done) {
                op->finish(op->committed);
            }
            return;
        }
        auto shared = std::make_shared<batch_t>(std::move(done));
        completions([shared] {
            for (auto& op : *shared) {
                op->finish(op->committed);
            }
        });
    }
};

} // namespace switchboard
