// SQLite event store: schema and migrations, the writer thread, group commit.
#include "service/sqlite_store.hpp"

#include "protocol/error.hpp"
#include "protocol/records.hpp"
#include "service/clock.hpp"
#include "service/log.hpp"

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace switchboard {

namespace {

// An SQL failure inside an operation: the batch's transaction is rolled back.
struct sql_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class statement {
public:
    statement(sqlite3* db, const char* sql)
    {
        if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
            throw sql_error(std::string("prepare: ") + sqlite3_errmsg(db) + " in: " + sql);
        }
    }
    ~statement() { sqlite3_finalize(stmt_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    // Binds the arguments (1-based, in order) after resetting the statement.
    template <class... Args> statement& bind(const Args&... args)
    {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
        int i = 0;
        (bind_one(++i, args), ...);
        return *this;
    }

    // true: a row is available; false: done.
    bool step()
    {
        const int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW) {
            return true;
        }
        if (rc == SQLITE_DONE) {
            return false;
        }
        const std::string why = sqlite3_errmsg(sqlite3_db_handle(stmt_));
        sqlite3_reset(stmt_);
        throw sql_error(why);
    }
    void run()
    {
        while (step()) { }
        sqlite3_reset(stmt_);
    }

    std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
    bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    std::optional<std::int64_t> optional_integer(int col) const
    {
        return is_null(col) ? std::nullopt : std::optional<std::int64_t>(integer(col));
    }
    std::string text(int col) const
    {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p == nullptr ? std::string()
                            : std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)));
    }
    void done() { sqlite3_reset(stmt_); }

private:
    void bind_one(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
    void bind_one(int i, int v) { sqlite3_bind_int64(stmt_, i, v); }
    void bind_one(int i, std::string_view v)
    {
        sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void bind_one(int i, const std::string& v) { bind_one(i, std::string_view(v)); }
    void bind_one(int i, const std::optional<std::int64_t>& v)
    {
        if (v) {
            sqlite3_bind_int64(stmt_, i, *v);
        } else {
            sqlite3_bind_null(stmt_, i);
        }
    }

    sqlite3_stmt* stmt_ = nullptr;
};

// The call and message log rows. Their columns hold a protocol/records.hpp record as it is:
// every rule of how it changes is there, none here.
constexpr const char* call_columns
    = "call_sid, account_sid, from_number, to_number, direction, status, last_sequence, duration_seconds, "
      "started_at_ms, ended_at_ms, updated_at_ms, menu_selections, agent_name, call_purpose, workflow_id";
constexpr const char* message_columns
    = "message_sid, account_sid, from_number, to_number, direction, status, body, num_media, error_code, "
      "created_at_ms, updated_at_ms, agent_name";

call_record read_call(const statement& q)
{
    call_record r;
    r.call_sid = q.text(0);
    r.account_sid = q.text(1);
    r.from = q.text(2);
    r.to = q.text(3);
    r.direction = q.text(4);
    r.status = q.text(5);
    r.last_sequence = q.integer(6);
    r.duration_seconds = q.optional_integer(7);
    r.started_at_ms = q.integer(8);
    r.ended_at_ms = q.optional_integer(9);
    r.updated_at_ms = q.integer(10);
    r.menu_selections = split_selections(q.text(11));
    r.agent_name = q.text(12);
    r.call_purpose = q.text(13);
    r.workflow_id = q.text(14);
    return r;
}

message_record read_message(const statement& q)
{
    message_record r;
    r.message_sid = q.text(0);
    r.account_sid = q.text(1);
    r.from = q.text(2);
    r.to = q.text(3);
    r.direction = q.text(4);
    r.status = q.text(5);
    r.body = q.text(6);
    r.num_media = q.optional_integer(7);
    r.error_code = q.text(8);
    r.created_at_ms = q.integer(9);
    r.updated_at_ms = q.integer(10);
    r.agent_name = q.text(11);
    return r;
}

// Schema migrations, applied in order inside one transaction; PRAGMA user_version records
// how many ran. Never edit a released step: add one.
constexpr const char* migrations[] = {
    // 1: events, deliveries, the call log.
    R"sql(
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    dedupe_key TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    occurred_at_ms INTEGER NOT NULL,
    payload TEXT NOT NULL
);
CREATE TABLE deliveries (
    subscriber TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER NOT NULL,
    first_attempt_at_ms INTEGER,
    last_attempt_at_ms INTEGER,
    last_status INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (subscriber, seq)
) WITHOUT ROWID;
CREATE INDEX deliveries_due ON deliveries (subscriber, state, next_attempt_at_ms);
CREATE TABLE calls (
    call_sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL DEFAULT '',
    from_number TEXT NOT NULL DEFAULT '',
    to_number TEXT NOT NULL DEFAULT '',
    direction TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    last_sequence INTEGER NOT NULL DEFAULT -1,
    duration_seconds INTEGER,
    started_at_ms INTEGER NOT NULL,
    ended_at_ms INTEGER,
    updated_at_ms INTEGER NOT NULL,
    menu_selections TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX calls_started ON calls (started_at_ms);
CREATE TABLE messages (
    message_sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL DEFAULT '',
    from_number TEXT NOT NULL DEFAULT '',
    to_number TEXT NOT NULL DEFAULT '',
    direction TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT '',
    body TEXT NOT NULL DEFAULT '',
    num_media INTEGER,
    error_code TEXT NOT NULL DEFAULT '',
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX messages_created ON messages (created_at_ms);
CREATE TABLE store_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    // 2: the operator API's call log: who placed a call and why, events by call or message,
    // numbers bought, and newest-first paging.
    R"sql(
ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT '';
UPDATE events SET subject = coalesce(json_extract(payload, '$.data.call_sid'),
                                     json_extract(payload, '$.data.message_sid'), '');
CREATE INDEX events_subject ON events (subject, seq);
ALTER TABLE calls ADD COLUMN agent_name TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN call_purpose TEXT NOT NULL DEFAULT '';
ALTER TABLE calls ADD COLUMN workflow_id TEXT NOT NULL DEFAULT '';
CREATE INDEX calls_newest ON calls (started_at_ms DESC, call_sid DESC);
ALTER TABLE messages ADD COLUMN agent_name TEXT NOT NULL DEFAULT '';
CREATE TABLE numbers (
    sid TEXT PRIMARY KEY,
    phone_number TEXT NOT NULL,
    friendly_name TEXT NOT NULL DEFAULT '',
    purchased_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 3: history filtered by status walks that status's calls only (a rare status scanned the
    // whole newest-first index), and calls_started is redundant next to calls_newest.
    R"sql(
CREATE INDEX calls_status_newest ON calls (status, started_at_ms DESC, call_sid DESC);
DROP INDEX calls_started;
)sql",
    // 4: Idempotency-Key records of the operator API's creates (protocol/idempotency.hpp).
    R"sql(
CREATE TABLE idempotency_keys (
    scope TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    lease_until_ms INTEGER NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_expiry ON idempotency_keys (expires_at_ms);
)sql",
    // 5: the minutes Twilio bills for a call, written with its duration from the one rule
    // (records.hpp billed_minutes); the rows already there are filled in by migrate().
    R"sql(
ALTER TABLE calls ADD COLUMN billed_minutes INTEGER;
)sql",
    // 6: the running totals of the call and message log (protocol/records.hpp counters), kept
    // with every write instead of summed over every row at each read; migrate() fills them in
    // from the rows already there.
    R"sql(
CREATE TABLE totals (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
};
static_assert(std::size(migrations) == sqlite_store::schema_version);

class database;

// A queued operation: executes inside the batch's transaction, then reports after COMMIT.
struct operation {
    virtual ~operation() = default;
    virtual void execute(database& db) = 0;
    virtual void finish(bool committed) = 0;
    bool committed = false;
};

template <class T, class Fn> struct typed_operation final : operation {
    typed_operation(Fn f, event_store::callback<T> d) : fn(std::move(f)), done(std::move(d)) { }
    void execute(database& db) override { outcome.emplace(fn(db)); }
    void finish(bool ok) override
    {
        if (!done) {
            return;
        }
        if (ok && outcome) {
            done(std::move(*outcome));
        } else {
            done(boost::system::result<T>(boost::system::in_place_error, make_error_code(error::store_unavailable)));
        }
        done = nullptr;
    }
    Fn fn;
    event_store::callback<T> done;
    std::optional<boost::system::result<T>> outcome;
};

class database {
public:
    enum class mode { write, read };

    database(const std::string& path, std::vector<subscription> subs, mode m = mode::write) : subs_(std::move(subs))
    {
        const int flags = m == mode::write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
        const int rc
            = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
        if (rc != SQLITE_OK) {
            const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
            sqlite3_close_v2(db_);
            throw std::runtime_error("cannot open the event store " + path + ": " + why);
        }
        if (m == mode::read) {
            // The operator and admin reads: WAL lets them run beside the writer, on a snapshot,
            // without holding up a commit. The writer made the schema already.
            exec("PRAGMA query_only=1");
            exec("PRAGMA busy_timeout=1000");
            return;
        }
        try {
            // One process owns the database (the lock file, see sqlite_store): no
            // locking_mode=EXCLUSIVE, so the read connection can share it.
            exec("PRAGMA journal_mode=WAL");
            // NORMAL: SQLite does not fsync at COMMIT; the syncer thread does, before any
            // commit is acknowledged (see sqlite_store::impl). Checkpoints still sync.
            exec("PRAGMA synchronous=NORMAL");
            exec("PRAGMA wal_autocheckpoint=8192");
            exec("PRAGMA foreign_keys=OFF");
            migrate(path);
            exec("BEGIN IMMEDIATE");
            exec("UPDATE deliveries SET state = 0 WHERE state = 1");
            exec("COMMIT");
        } catch (const sql_error& e) {
            cache_.clear(); // statements first: a connection with live statements does not close
            sqlite3_close_v2(db_);
            const std::string what = e.what();
            if (what.find("locked") != std::string::npos || what.find("busy") != std::string::npos) {
                throw std::runtime_error("the event store " + path + " is in use by another process (" + what + ")");
            }
            throw std::runtime_error("cannot use the event store " + path + ": " + what);
        } catch (...) {
            cache_.clear();
            sqlite3_close_v2(db_);
            throw;
        }
    }
    ~database()
    {
        cache_.clear();
        sqlite3_close_v2(db_);
    }

    void exec(const char* sql)
    {
        char* msg = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
            std::string why = msg != nullptr ? msg : sqlite3_errmsg(db_);
            sqlite3_free(msg);
            throw sql_error(why);
        }
    }

    statement& sql(const char* text)
    {
        auto it = cache_.find(text);
        if (it == cache_.end()) {
            it = cache_.emplace(text, std::make_unique<statement>(db_, text)).first;
        }
        return *it->second;
    }

    std::int64_t changes() const { return sqlite3_changes64(db_); }
    std::int64_t last_rowid() const { return sqlite3_last_insert_rowid(db_); }
    const std::vector<subscription>& subscriptions() const { return subs_; }
    bool knows(const std::string& subscriber) const
    {
        for (const auto& s : subs_) {
            if (s.name == subscriber) {
                return true;
            }
        }
        return false;
    }

private:
    void migrate(const std::string& path)
    {
        auto& v = sql("PRAGMA user_version");
        v.step();
        const std::int64_t version = v.integer(0);
        v.done();
        if (version > sqlite_store::schema_version) {
            throw std::runtime_error("the event store " + path + " has schema version " + std::to_string(version)
                + ", newer than this build understands (" + std::to_string(sqlite_store::schema_version)
                + "): run the newer release or restore a backup");
        }
        if (version == sqlite_store::schema_version) {
            return;
        }
        exec("BEGIN IMMEDIATE");
        for (auto i = version; i < sqlite_store::schema_version; ++i) {
            exec(migrations[i]);
        }
        if (version < 5) {
            backfill_billed_minutes();
        }
        if (version < 6) {
            backfill_totals();
        }
        exec(("PRAGMA user_version=" + std::to_string(sqlite_store::schema_version)).c_str());
        exec("COMMIT");
        log::line(log::level::info, "event store schema migrated")
            .num("from_version", version)
            .num("to_version", sqlite_store::schema_version)
            .emit();
    }

    // Migration 5: billed minutes of the calls recorded before the column existed, by the same
    // rule as every new duration (inside the migration's transaction).
    void backfill_billed_minutes()
    {
        statement calls(db_, "SELECT call_sid, duration_seconds FROM calls WHERE duration_seconds IS NOT NULL");
        statement update(db_, "UPDATE calls SET billed_minutes = ?2 WHERE call_sid = ?1");
        calls.bind();
        while (calls.step()) {
            update.bind(calls.text(0), billed_minutes(calls.integer(1))).run();
        }
    }

    // Migration 6: the totals of the rows already there, by the same rule as every write.
    void backfill_totals()
    {
        counters sum;
        const auto add = [&sum](const counters& c) {
            for (const auto& [name, value] : c) {
                sum[name] += value;
            }
        };
        statement calls(db_, (std::string("SELECT ") + call_columns + " FROM calls").c_str());
        calls.bind();
        while (calls.step()) {
            add(totals_of(read_call(calls)));
        }
        statement messages(db_, (std::string("SELECT ") + message_columns + " FROM messages").c_str());
        messages.bind();
        while (messages.step()) {
            add(totals_of(read_message(messages)));
        }
        statement insert(db_, "INSERT INTO totals (name, value) VALUES (?1, ?2)");
        for (const auto& [name, value] : sum) {
            insert.bind(name, value).run();
        }
    }

    sqlite3* db_ = nullptr;
    std::map<const char*, std::unique_ptr<statement>> cache_;
    std::vector<subscription> subs_;
};

void add_totals(database& db, const counters& change)
{
    for (const auto& [name, delta] : change) {
        db.sql("INSERT INTO totals (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = value + ?2")
            .bind(name, delta)
            .run();
    }
}

std::optional<call_record> load_call(database& db, const std::string& sid)
{
    static const std::string sql = std::string("SELECT ") + call_columns + " FROM calls WHERE call_sid = ?1";
    auto& q = db.sql(sql.c_str());
    q.bind(sid);
    std::optional<call_record> r;
    if (q.step()) {
        r = read_call(q);
    }
    q.done();
    return r;
}

// Writes the record as computed, and what it adds to the totals.
void save(database& db, const call_change& c)
{
    const call_record& r = c.record;
    db.sql(
          "INSERT INTO calls (call_sid, account_sid, from_number, to_number, direction, status, last_sequence, "
          "duration_seconds, started_at_ms, ended_at_ms, updated_at_ms, menu_selections, agent_name, call_purpose, "
          "workflow_id, billed_minutes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) "
          "ON CONFLICT (call_sid) DO UPDATE SET account_sid = ?2, from_number = ?3, to_number = ?4, direction = ?5, "
          "status = ?6, last_sequence = ?7, duration_seconds = ?8, started_at_ms = ?9, ended_at_ms = ?10, "
          "updated_at_ms = ?11, menu_selections = ?12, agent_name = ?13, call_purpose = ?14, workflow_id = ?15, "
          "billed_minutes = ?16")
        .bind(r.call_sid, r.account_sid, r.from, r.to, r.direction, r.status, r.last_sequence, r.duration_seconds,
            r.started_at_ms, r.ended_at_ms, r.updated_at_ms, join_selections(r.menu_selections), r.agent_name,
            r.call_purpose, r.workflow_id, billed_minutes(r))
        .run();
    add_totals(db, c.totals);
}

std::optional<message_record> load_message(database& db, const std::string& sid)
{
    static const std::string sql = std::string("SELECT ") + message_columns + " FROM messages WHERE message_sid = ?1";
    auto& q = db.sql(sql.c_str());
    q.bind(sid);
    std::optional<message_record> r;
    if (q.step()) {
        r = read_message(q);
    }
    q.done();
    return r;
}

void save(database& db, const message_change& c)
{
    const message_record& r = c.record;
    db.sql("INSERT INTO messages (message_sid, account_sid, from_number, to_number, direction, status, body, "
           "num_media, error_code, created_at_ms, updated_at_ms, agent_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
           "?9, ?10, ?11, ?12) ON CONFLICT (message_sid) DO UPDATE SET account_sid = ?2, from_number = ?3, "
           "to_number = ?4, direction = ?5, status = ?6, body = ?7, num_media = ?8, error_code = ?9, "
           "created_at_ms = ?10, updated_at_ms = ?11, agent_name = ?12")
        .bind(r.message_sid, r.account_sid, r.from, r.to, r.direction, r.status, r.body, r.num_media, r.error_code,
            r.created_at_ms, r.updated_at_ms, r.agent_name)
        .run();
    add_totals(db, c.totals);
}

boost::system::result<append_result> do_append(database& db, append_request& req)
{
    append_result r;
    auto& seen = db.sql("SELECT id FROM events WHERE dedupe_key = ?1");
    seen.bind(req.dedupe_key);
    if (seen.step()) {
        r.duplicate = true;
        r.event_id = seen.text(0);
        seen.done();
        return r;
    }
    seen.done();
    call_event& e = req.event;
    // A batch may run twice (see run): the record is read again and the event completed anew.
    switch (record_of(e)) {
    case record_kind::call: {
        const call_change c = updated(load_call(db, e.call_sid), e);
        save(db, c);
        r.applied = c.applied;
        r.current_status = e.current_status;
        break;
    }
    case record_kind::message: {
        const message_change c = updated(load_message(db, e.message_sid), e);
        save(db, c);
        r.current_status = e.current_status;
        break;
    }
    case record_kind::none:
        break;
    }
    db.sql("INSERT INTO events (id, dedupe_key, type, occurred_at_ms, payload, subject) VALUES (?1, ?2, ?3, ?4, ?5, "
           "?6)")
        .bind(e.id, req.dedupe_key, to_string(e.type), e.occurred_at_ms, to_json(e), record_key(e))
        .run();
    const std::int64_t seq = db.last_rowid();
    for (const auto& s : db.subscriptions()) {
        if (s.matches(e.type)) {
            db.sql("INSERT INTO deliveries (subscriber, seq, state, next_attempt_at_ms) VALUES (?1, ?2, 0, ?3)")
                .bind(s.name, seq, e.occurred_at_ms)
                .run();
            r.subscribers.push_back(s.name);
        }
    }
    r.event_id = e.id;
    return r;
}

} // namespace

// Two threads, pipelined: the writer runs a batch and commits it to the WAL (page cache), then
// hands it to the syncer, which fsyncs the WAL and only then completes the batch's callbacks.
// While one batch is being synced the writer already runs the next, so the disk flush is paid
// once per pipeline turn, not once per transaction. A commit is acknowledged only after the
// fsync that made its WAL frames durable: the durability of synchronous=FULL, without its stall.
struct sqlite_store::impl {
    using batch_t = std::vector<std::unique_ptr<operation>>;

    impl(const std::string& path, std::vector<subscription> subs)
        : db(path, subs), reads(path, std::move(subs), database::mode::read), wal_path(path + "-wal")
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
                finish(std::move(b.ops));
                if (observer) {
                    observer(
                        store_timing{size, std::chrono::duration<double>(now - b.started).count(), b.ok && synced});
                }
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

sqlite_store::sqlite_store(const std::string& data_dir, std::vector<subscription> subscriptions)
{
    std::error_code ec;
    std::filesystem::create_directories(data_dir, ec);
    if (ec) {
        throw std::runtime_error("SWITCHBOARD_DATA_DIR: cannot create '" + data_dir + "': " + ec.message());
    }
    const std::string path = (std::filesystem::path(data_dir) / file_name).string();
    // One process owns the database: a second one (another replica on the same volume) stops
    // here instead of delivering the same rows twice. The kernel drops the lock with the process.
    const std::string lock_path = path + ".lock";
    const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0) {
        throw std::runtime_error(
            "cannot use the event store " + path + ": cannot open " + lock_path + ": " + std::strerror(errno));
    }
    if (::flock(lock, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        ::close(lock);
        throw std::runtime_error("the event store " + path + " is in use by another process ("
            + (err == EWOULDBLOCK ? std::string("database is locked: ") + lock_path + " is held" : std::strerror(err))
            + ")");
    }
    try {
        impl_ = std::make_unique<impl>(path, std::move(subscriptions));
    } catch (...) {
        ::close(lock);
        throw;
    }
    impl_->lock_file.fd = lock;
    // Prove the store takes writes now (full disk, read-only volume), not at the first webhook.
    try {
        impl_->db.exec("BEGIN IMMEDIATE");
        impl_->db
            .sql("INSERT INTO store_meta (key, value) VALUES ('last_started_at_ms', ?1) "
                 "ON CONFLICT (key) DO UPDATE SET value = ?1")
            .bind(std::to_string(unix_ms_now()))
            .run();
        impl_->db.exec("COMMIT");
    } catch (const sql_error& e) {
        throw std::runtime_error("the event store " + path + " cannot be written: " + e.what());
    }
    impl_->open_wal();
    impl_->writer = std::thread([this] { impl_->run(); });
    impl_->syncer = std::thread([this] { impl_->sync_loop(); });
    impl_->reader = std::thread([this] { impl_->read_loop(); });
}

sqlite_store::~sqlite_store()
{
    close();
}

void sqlite_store::close()
{
    if (!impl_) {
        return;
    }
    {
        std::lock_guard lock(impl_->mutex);
        impl_->closing = true;
    }
    impl_->wake.notify_all();
    impl_->read_wake.notify_all();
    if (impl_->reader.joinable()) {
        impl_->reader.join();
    }
    if (impl_->writer.joinable()) {
        impl_->writer.join();
    }
    if (impl_->syncer.joinable()) {
        impl_->syncer.join();
    }
}

void sqlite_store::complete_on(std::function<void(std::function<void()>)> executor)
{
    std::lock_guard lock(impl_->mutex);
    impl_->completions = std::move(executor);
}

void sqlite_store::on_commit(std::function<void(const store_timing&)> observer)
{
    std::lock_guard lock(impl_->mutex);
    impl_->observer = std::move(observer);
}

void sqlite_store::append(append_request req, callback<append_result> done)
{
    impl_->submit<append_result>(
        [req = std::move(req)](database& db) mutable { return do_append(db, req); }, std::move(done));
}

void sqlite_store::claim(std::string subscriber, std::size_t limit, std::int64_t now_ms, callback<claim_result> done)
{
    impl_->submit<claim_result>(
        [subscriber = std::move(subscriber), limit, now_ms](database& db) -> boost::system::result<claim_result> {
            claim_result r;
            auto& due = db.sql("SELECT d.seq, e.id, e.payload, e.occurred_at_ms, d.attempts, d.first_attempt_at_ms "
                               "FROM deliveries d JOIN events e ON e.seq = d.seq "
                               "WHERE d.subscriber = ?1 AND d.state = 0 AND d.next_attempt_at_ms <= ?2 "
                               "ORDER BY d.next_attempt_at_ms, d.seq LIMIT ?3");
            due.bind(subscriber, now_ms, static_cast<std::int64_t>(limit));
            while (due.step()) {
                r.deliveries.push_back({due.integer(0), due.text(1), due.text(2), due.integer(3),
                    static_cast<int>(due.integer(4)), due.optional_integer(5)});
            }
            due.done();
            for (const auto& d : r.deliveries) {
                db.sql("UPDATE deliveries SET state = 1 WHERE subscriber = ?1 AND seq = ?2")
                    .bind(subscriber, d.seq)
                    .run();
            }
            auto& next = db.sql("SELECT min(next_attempt_at_ms) FROM deliveries WHERE subscriber = ?1 AND state = 0");
            next.bind(subscriber);
            if (next.step()) {
                r.next_due_at_ms = next.optional_integer(0);
            }
            next.done();
            return r;
        },
        std::move(done));
}

void sqlite_store::complete(std::string subscriber, delivery_outcome o, callback<bool> done)
{
    impl_->submit<bool>(
        [subscriber = std::move(subscriber), o = std::move(o)](database& db) -> boost::system::result<bool> {
            db.sql("UPDATE deliveries SET state = ?3, attempts = ?4, next_attempt_at_ms = ?5, "
                   "first_attempt_at_ms = coalesce(first_attempt_at_ms, ?6), last_attempt_at_ms = ?6, "
                   "last_status = ?7, last_error = ?8 WHERE subscriber = ?1 AND seq = ?2 AND state = 1")
                .bind(subscriber, o.seq, static_cast<std::int64_t>(o.state), o.attempts,
                    o.state == delivery_state::pending ? o.next_attempt_at_ms : o.attempted_at_ms, o.attempted_at_ms,
                    o.last_status, o.last_error)
                .run();
            return db.changes() == 1;
        },
        std::move(done));
}

void sqlite_store::list(std::string subscriber, delivery_state state, std::size_t limit, std::int64_t after_seq,
    callback<std::vector<delivery_row>> done)
{
    impl_->submit_read<std::vector<delivery_row>>(
        [subscriber = std::move(subscriber), state, limit, after_seq](
            database& db) -> boost::system::result<std::vector<delivery_row>> {
            if (!db.knows(subscriber)) {
                return {boost::system::in_place_error, make_error_code(error::not_found)};
            }
            std::vector<delivery_row> rows;
            auto& q = db.sql("SELECT d.seq, e.id, e.type, e.occurred_at_ms, d.state, d.attempts, d.next_attempt_at_ms, "
                             "d.last_status, d.last_error FROM deliveries d JOIN events e ON e.seq = d.seq "
                             "WHERE d.subscriber = ?1 AND d.state = ?2 AND d.seq > ?3 ORDER BY d.seq LIMIT ?4");
            q.bind(subscriber, static_cast<std::int64_t>(state), after_seq, static_cast<std::int64_t>(limit));
            while (q.step()) {
                delivery_row r;
                r.seq = q.integer(0);
                r.event_id = q.text(1);
                r.type = q.text(2);
                r.occurred_at_ms = q.integer(3);
                r.state = static_cast<delivery_state>(q.integer(4));
                r.attempts = static_cast<int>(q.integer(5));
                if (r.state == delivery_state::pending) {
                    r.next_attempt_at_ms = q.integer(6);
                }
                r.last_status = static_cast<int>(q.integer(7));
                r.last_error = q.text(8);
                rows.push_back(std::move(r));
            }
            q.done();
            return rows;
        },
        std::move(done));
}

void sqlite_store::replay(
    std::string subscriber, std::string event_id, std::int64_t now_ms, callback<std::int64_t> done)
{
    impl_->submit<std::int64_t>(
        [subscriber = std::move(subscriber), event_id = std::move(event_id), now_ms](
            database& db) -> boost::system::result<std::int64_t> {
            if (!db.knows(subscriber)) {
                return {boost::system::in_place_error, make_error_code(error::not_found)};
            }
            if (event_id.empty()) {
                // One bounded batch per operation: the writer runs webhooks' commits in between.
                db.sql("UPDATE deliveries SET state = 0, attempts = 0, first_attempt_at_ms = NULL, "
                       "next_attempt_at_ms = ?2 WHERE subscriber = ?1 AND state = 3 AND seq IN "
                       "(SELECT seq FROM deliveries WHERE subscriber = ?1 AND state = 3 ORDER BY seq LIMIT ?3)")
                    .bind(subscriber, now_ms, static_cast<std::int64_t>(event_store::replay_batch))
                    .run();
                return db.changes();
            }
            db.sql("UPDATE deliveries SET state = 0, attempts = 0, first_attempt_at_ms = NULL, next_attempt_at_ms = ?2 "
                   "WHERE subscriber = ?1 AND state = 3 AND seq = (SELECT seq FROM events WHERE id = ?3)")
                .bind(subscriber, now_ms, event_id)
                .run();
            if (db.changes() == 0) {
                return {boost::system::in_place_error, make_error_code(error::not_found)};
            }
            return db.changes();
        },
        std::move(done));
}

void sqlite_store::stats(callback<std::vector<queue_stats>> done)
{
    impl_->submit_read<std::vector<queue_stats>>(
        [](database& db) -> boost::system::result<std::vector<queue_stats>> {
            std::vector<queue_stats> out;
            for (const auto& s : db.subscriptions()) {
                queue_stats q;
                q.subscriber = s.name;
                auto& counts
                    = db.sql("SELECT state, count(*) FROM deliveries WHERE subscriber = ?1 AND state IN (0, 1, "
                             "3) GROUP BY state");
                counts.bind(s.name);
                while (counts.step()) {
                    const auto n = counts.integer(1);
                    switch (static_cast<delivery_state>(counts.integer(0))) {
                    case delivery_state::pending:
                        q.pending = n;
                        break;
                    case delivery_state::in_flight:
                        q.in_flight = n;
                        break;
                    case delivery_state::dead:
                        q.dead = n;
                        break;
                    case delivery_state::delivered:
                        break;
                    }
                }
                counts.done();
                auto& oldest = db.sql("SELECT e.occurred_at_ms FROM events e WHERE e.seq = (SELECT min(seq) FROM "
                                      "deliveries WHERE subscriber = ?1 AND state IN (0, 1))");
                oldest.bind(s.name);
                if (oldest.step()) {
                    q.oldest_pending_occurred_at_ms = oldest.integer(0);
                }
                oldest.done();
                out.push_back(std::move(q));
            }
            return out;
        },
        std::move(done));
}

void sqlite_store::record_call(outbound_call c, callback<bool> done)
{
    impl_->submit<bool>(
        [c = std::move(c)](database& db) -> boost::system::result<bool> {
            save(db, updated(load_call(db, c.call_sid), c));
            return true;
        },
        std::move(done));
}

void sqlite_store::record_message(outbound_message m, callback<bool> done)
{
    impl_->submit<bool>(
        [m = std::move(m)](database& db) -> boost::system::result<bool> {
            save(db, updated(load_message(db, m.message_sid), m));
            return true;
        },
        std::move(done));
}

void sqlite_store::record_number(purchased_number n, callback<bool> done)
{
    impl_->submit<bool>(
        [n = std::move(n)](database& db) -> boost::system::result<bool> {
            db.sql("INSERT INTO numbers (sid, phone_number, friendly_name, purchased_at_ms) VALUES (?1, ?2, ?3, ?4) "
                   "ON CONFLICT (sid) DO UPDATE SET phone_number = ?2, friendly_name = ?3")
                .bind(n.sid, n.phone_number, n.friendly_name, n.purchased_at_ms)
                .run();
            return true;
        },
        std::move(done));
}

void sqlite_store::idempotency_begin(std::string scope, std::string fingerprint, std::int64_t now_ms,
    idempotency::policy policy, callback<idempotency::decision> done)
{
    impl_->submit<idempotency::decision>(
        [scope = std::move(scope), fingerprint = std::move(fingerprint), now_ms, policy](
            database& db) -> boost::system::result<idempotency::decision> {
            // Expired keys go a few at a time, on the way: the table stays as large as one
            // day's creates.
            db.sql("DELETE FROM idempotency_keys WHERE scope IN (SELECT scope FROM idempotency_keys WHERE "
                   "expires_at_ms <= ?1 ORDER BY expires_at_ms LIMIT 16)")
                .bind(now_ms)
                .run();
            auto& q = db.sql("SELECT fingerprint, expires_at_ms, lease_until_ms, status, body FROM idempotency_keys "
                             "WHERE scope = ?1")
                          .bind(scope);
            std::optional<idempotency::record> existing;
            if (q.step()) {
                existing = idempotency::record{
                    q.text(0), q.integer(1), q.integer(2), static_cast<int>(q.integer(3)), q.text(4)};
            }
            q.done();
            auto d = idempotency::begin(existing, fingerprint, now_ms, policy);
            if (d.write) {
                db.sql("INSERT OR REPLACE INTO idempotency_keys (scope, fingerprint, expires_at_ms, lease_until_ms, "
                       "status, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                    .bind(scope, d.write->fingerprint, d.write->expires_at_ms, d.write->lease_until_ms, d.write->status,
                        d.write->body)
                    .run();
            }
            return d;
        },
        std::move(done));
}

void sqlite_store::idempotency_finish(
    std::string scope, idempotency::record begun, std::optional<idempotency::record> result, callback<bool> done)
{
    impl_->submit<bool>(
        [scope = std::move(scope), begun = std::move(begun), result = std::move(result)](
            database& db) -> boost::system::result<bool> {
            // Only the claim this request made: after its lease another request may own the key.
            if (result) {
                db.sql("UPDATE idempotency_keys SET status = ?4, lease_until_ms = ?5, body = ?6 WHERE scope = ?1 AND "
                       "fingerprint = ?2 AND status = 0 AND lease_until_ms = ?3")
                    .bind(scope, begun.fingerprint, begun.lease_until_ms, result->status, result->lease_until_ms,
                        result->body)
                    .run();
            } else {
                db.sql("DELETE FROM idempotency_keys WHERE scope = ?1 AND fingerprint = ?2 AND status = 0 AND "
                       "lease_until_ms = ?3")
                    .bind(scope, begun.fingerprint, begun.lease_until_ms)
                    .run();
            }
            return db.changes() == 1;
        },
        std::move(done));
}

void sqlite_store::calls(call_filter f, callback<call_page> done)
{
    impl_->submit_read<call_page>(
        [f = std::move(f)](database& db) -> boost::system::result<call_page> {
            static const std::string sql = std::string("SELECT ") + call_columns
                + " FROM calls WHERE (?1 = '' OR status = ?1) "
                  "AND (?2 = '' OR direction = ?2 OR (?2 = 'outbound' AND direction LIKE 'outbound%')) "
                  "AND (?3 IS NULL OR started_at_ms < ?3 OR (started_at_ms = ?3 AND call_sid < ?4)) "
                  "ORDER BY started_at_ms DESC, call_sid DESC LIMIT ?5";
            auto& q = db.sql(sql.c_str());
            q.bind(
                f.status, f.direction, f.before_started_at_ms, f.before_call_sid, static_cast<std::int64_t>(f.limit));
            call_page page;
            while (q.step()) {
                page.rows.push_back(read_call(q));
            }
            q.done();
            if (page.rows.size() == f.limit && !page.rows.empty()) {
                page.more = call_position{page.rows.back().started_at_ms, page.rows.back().call_sid};
            }
            return page;
        },
        std::move(done));
}

void sqlite_store::call(std::string call_sid, callback<call_detail> done)
{
    impl_->submit_read<call_detail>(
        [sid = std::move(call_sid)](database& db) -> boost::system::result<call_detail> {
            static const std::string sql = std::string("SELECT ") + call_columns + " FROM calls WHERE call_sid = ?1";
            auto& q = db.sql(sql.c_str());
            q.bind(sid);
            if (!q.step()) {
                q.done();
                return {boost::system::in_place_error, make_error_code(error::not_found)};
            }
            call_detail d;
            d.call = read_call(q);
            q.done();
            auto& ev = db.sql("SELECT payload FROM events WHERE subject = ?1 ORDER BY seq LIMIT 1000");
            ev.bind(sid);
            while (ev.step()) {
                d.events.push_back(ev.text(0));
            }
            ev.done();
            return d;
        },
        std::move(done));
}

void sqlite_store::totals(std::string also_number, callback<phone_totals> done)
{
    impl_->submit_read<phone_totals>(
        [also = std::move(also_number)](database& db) -> boost::system::result<phone_totals> {
            counters c;
            auto& q = db.sql("SELECT name, value FROM totals");
            q.bind();
            while (q.step()) {
                c.emplace(q.text(0), q.integer(1));
            }
            q.done();
            phone_totals t = read_totals(c);
            auto& n = db.sql("SELECT count(*) + (?1 <> '' AND ?1 NOT IN (SELECT phone_number FROM numbers)) "
                             "FROM numbers");
            n.bind(also);
            if (n.step()) {
                t.numbers = n.integer(0);
            }
            n.done();
            return t;
        },
        std::move(done));
}

} // namespace switchboard
