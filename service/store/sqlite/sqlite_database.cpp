// The SQLite store's connection: opening, the schema and its migrations, the log's rows.
#include "service/store/sqlite/sqlite_database.hpp"

#include "service/ops/log.hpp"
#include "service/store/sqlite/sqlite_store.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace switchboard::sqlite {

const char* const call_columns
    = "call_sid, account_sid, from_number, to_number, direction, status, last_sequence, duration_seconds, "
      "started_at_ms, ended_at_ms, updated_at_ms, menu_selections, agent_name, call_purpose, workflow_id";
const char* const message_columns
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

namespace {

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
    // 4: Idempotency-Key records of the operator API's creates (protocol/phone_api/idempotency.hpp).
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
    // 6: the running totals of the call and message log (protocol/events/records.hpp counters), kept
    // with every write instead of summed over every row at each read; migrate() fills them in
    // from the rows already there.
    R"sql(
CREATE TABLE totals (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 7: retention (protocol/events/retention.hpp). Each event counts its delivery rows still
    // kept, so retention removes an event once its last row is gone without searching the
    // deliveries by event.
    R"sql(
ALTER TABLE events ADD COLUMN deliveries_left INTEGER NOT NULL DEFAULT 0;
UPDATE events SET deliveries_left = c.n
  FROM (SELECT seq, count(*) AS n FROM deliveries GROUP BY seq) AS c WHERE c.seq = events.seq;
)sql",
    // 8: subscribers stored through the subscriber API (event_store.hpp stored_subscriber); the
    // table's version is store_meta's subscribers_version.
    R"sql(
CREATE TABLE subscribers (
    name TEXT PRIMARY KEY,
    document TEXT NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID;
)sql",
    // 9: per_call ordering. A per_call subscriber's delivery rows carry their event's subject
    // (other rows ''), and the live ones are indexed by it, so a claim finds an earlier live
    // delivery of the same call with one index probe and without reading the event.
    R"sql(
ALTER TABLE deliveries ADD COLUMN subject TEXT NOT NULL DEFAULT '';
CREATE INDEX deliveries_ordered ON deliveries (subscriber, subject, seq) WHERE state IN (0, 1) AND subject != '';
)sql",
};
static_assert(std::size(migrations) == sqlite_store::schema_version);

} // namespace

database::database(const std::string& path, std::shared_ptr<subscription_set> subs, mode m)
    : subs_(subs ? std::move(subs) : std::make_shared<subscription_set>())
{
    const int flags = m == mode::write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    const int rc = sqlite3_open_v2(path.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nullptr);
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
        // Retention frees pages; incremental auto-vacuum gives them back to the file system in
        // the background (retain). It takes effect only before the first table, so it comes
        // before WAL mode writes the header; databases made before it are converted below.
        exec("PRAGMA auto_vacuum=INCREMENTAL");
        // One process owns the database (the lock file, see sqlite_store): no
        // locking_mode=EXCLUSIVE, so the read connection can share it.
        exec("PRAGMA journal_mode=WAL");
        // NORMAL: SQLite does not fsync at COMMIT; the syncer thread does, before any
        // commit is acknowledged (see sqlite_store::impl). Checkpoints still sync.
        exec("PRAGMA synchronous=NORMAL");
        exec("PRAGMA wal_autocheckpoint=8192");
        // A checkpointed WAL is cut back to this size, so a burst does not keep its file.
        exec("PRAGMA journal_size_limit=67108864");
        exec("PRAGMA foreign_keys=OFF");
        migrate(path);
        enable_auto_vacuum(path);
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

database::~database()
{
    cache_.clear();
    sqlite3_close_v2(db_);
}

void database::exec(const char* sql)
{
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string why = msg != nullptr ? msg : sqlite3_errmsg(db_);
        sqlite3_free(msg);
        throw sql_error(why);
    }
}

statement& database::sql(const char* text)
{
    auto it = cache_.find(text);
    if (it == cache_.end()) {
        it = cache_.emplace(text, std::make_unique<statement>(db_, text)).first;
    }
    return *it->second;
}

void database::migrate(const std::string& path)
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

// A database made before incremental auto-vacuum is rewritten once with it (VACUUM: about a
// second per 100 MB, and room for a copy in the WAL). Without room the store still works: SQLite
// reuses the pages retention frees, the file just does not shrink; the next start tries again.
void database::enable_auto_vacuum(const std::string& path)
{
    auto& setting = sql("PRAGMA auto_vacuum");
    setting.step();
    const std::int64_t current = setting.integer(0);
    setting.done();
    if (current == 2) {
        return;
    }
    const auto started = std::chrono::steady_clock::now();
    try {
        exec("VACUUM");
        exec("PRAGMA wal_checkpoint(TRUNCATE)");
    } catch (const sql_error& e) {
        log::line(log::level::warn,
            "event store not converted to incremental auto-vacuum: freed space is reused "
            "but not returned to the file system")
            .str("path", path)
            .str("error", e.what())
            .emit();
        return;
    }
    log::line(log::level::info, "event store converted to incremental auto-vacuum")
        .str("path", path)
        .real("seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count())
        .emit();
}

// Migration 5: billed minutes of the calls recorded before the column existed, by the same
// rule as every new duration (inside the migration's transaction).
void database::backfill_billed_minutes()
{
    statement calls(db_, "SELECT call_sid, duration_seconds FROM calls WHERE duration_seconds IS NOT NULL");
    statement update(db_, "UPDATE calls SET billed_minutes = ?2 WHERE call_sid = ?1");
    calls.bind();
    while (calls.step()) {
        update.bind(calls.text(0), billed_minutes(calls.integer(1))).run();
    }
}

// Migration 6: the totals of the rows already there, by the same rule as every write.
void database::backfill_totals()
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

std::int64_t backup(database& source, const std::string& dest)
{
    sqlite3* out = nullptr;
    const auto fail = [&](const std::string& why) {
        sqlite3_close_v2(out);
        std::error_code ec;
        std::filesystem::remove(dest, ec);
        throw sql_error("backup to " + dest + ": " + why);
    };
    if (sqlite3_open_v2(dest.c_str(), &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
        fail(out != nullptr ? sqlite3_errmsg(out) : "cannot open");
    }
    sqlite3_backup* b = sqlite3_backup_init(out, "main", source.handle(), "main");
    if (b == nullptr) {
        fail(sqlite3_errmsg(out));
    }
    const int rc = sqlite3_backup_step(b, -1); // every page, from one snapshot of the source
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        fail(sqlite3_errstr(rc));
    }
    // The copy is one self-contained file: no WAL beside it.
    if (sqlite3_exec(out, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK) {
        fail(sqlite3_errmsg(out));
    }
    sqlite3_close_v2(out);
    out = nullptr;
    const int fd = ::open(dest.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) {
        const std::string why = std::strerror(errno);
        if (fd >= 0) {
            ::close(fd);
        }
        fail("fsync: " + why);
    }
    ::close(fd);
    std::error_code ec;
    return static_cast<std::int64_t>(std::filesystem::file_size(dest, ec));
}

row_counts count_rows(database& db)
{
    auto& q = db.sql("SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries), "
                     "(SELECT count(*) FROM calls), (SELECT count(*) FROM messages)");
    q.bind();
    row_counts c;
    if (q.step()) {
        c = {q.integer(0), q.integer(1), q.integer(2), q.integer(3)};
    }
    q.done();
    return c;
}

} // namespace switchboard::sqlite
