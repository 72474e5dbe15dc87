// Retention on SQLite (protocol/events/retention.hpp). A pass is one writer operation, so it
// shares a group commit with the webhooks' appends instead of holding the database: at most
// `batch` rows of each kind, each found through an index (deliveries_due by state and finish
// time, the events' seq, calls_newest, messages_created), then the pages they held given back
// to the file system (incremental auto-vacuum, at most vacuum_pages a pass).
#include "service/store/sqlite/sqlite_pipeline.hpp"

namespace switchboard {
namespace {

constexpr std::int64_t vacuum_pages = 4096; // 16 MiB of 4 KiB pages a pass

// The subscribers that have delivery rows, one index seek each: rows of a subscriber that is no
// longer configured are retained like the others.
std::vector<std::string> subscribers_with_rows(database& db)
{
    std::vector<std::string> out;
    auto& next = db.sql("SELECT min(subscriber) FROM deliveries WHERE subscriber > ?1");
    std::string after;
    for (;;) {
        next.bind(after);
        if (!next.step() || next.is_null(0)) {
            next.done();
            return out;
        }
        after = next.text(0);
        next.done();
        out.push_back(after);
    }
}

// Finished rows of one state older than `before` (their next_attempt_at_ms is the time they
// finished), each taken off its event's count of kept rows.
std::int64_t remove_finished(database& db, const std::vector<std::string>& subscribers, delivery_state state,
    std::int64_t before, std::int64_t batch)
{
    auto& old = db.sql("SELECT seq FROM deliveries WHERE subscriber = ?1 AND state = ?2 AND next_attempt_at_ms < ?3 "
                       "ORDER BY next_attempt_at_ms LIMIT ?4");
    auto& remove = db.sql("DELETE FROM deliveries WHERE subscriber = ?1 AND seq = ?2");
    auto& release = db.sql("UPDATE events SET deliveries_left = deliveries_left - 1 WHERE seq = ?1");
    std::int64_t removed = 0;
    std::vector<std::int64_t> seqs;
    for (const auto& s : subscribers) {
        if (removed >= batch) {
            break;
        }
        seqs.clear();
        old.bind(s, static_cast<std::int64_t>(state), before, batch - removed);
        while (old.step()) {
            seqs.push_back(old.integer(0));
        }
        old.done();
        for (const std::int64_t seq : seqs) {
            remove.bind(s, seq).run();
            release.bind(seq).run();
        }
        removed += static_cast<std::int64_t>(seqs.size());
    }
    return removed;
}

// Events older than `before` with no delivery row left. Events are stored in the order they
// occur, so the old ones are a prefix of seq: the first newer event bounds the scan.
std::int64_t remove_events(database& db, std::int64_t before, std::int64_t batch)
{
    auto& bound = db.sql("SELECT seq FROM events WHERE occurred_at_ms >= ?1 ORDER BY seq LIMIT 1");
    bound.bind(before);
    std::optional<std::int64_t> limit;
    if (bound.step()) {
        limit = bound.integer(0);
    }
    bound.done();
    auto& remove = db.sql("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq < ?1 "
                          "AND occurred_at_ms < ?2 AND deliveries_left <= 0 ORDER BY seq LIMIT ?3)");
    remove.bind(limit.value_or(std::numeric_limits<std::int64_t>::max()), before, batch).run();
    return db.changes();
}

std::int64_t remove_log(
    database& db, const char* select, const char* remove_sql, std::int64_t before, std::int64_t batch)
{
    auto& old = db.sql(select);
    std::vector<std::string> sids;
    old.bind(before, batch);
    while (old.step()) {
        sids.push_back(old.text(0));
    }
    old.done();
    auto& remove = db.sql(remove_sql);
    for (const auto& sid : sids) {
        remove.bind(sid).run();
    }
    return static_cast<std::int64_t>(sids.size());
}

retention::pass retain_pass(database& db, const retention::cutoffs& cut, std::int64_t batch)
{
    retention::pass p;
    const std::vector<std::string> subscribers = subscribers_with_rows(db);
    if (cut.delivered) {
        p.rows.delivered = remove_finished(db, subscribers, delivery_state::delivered, *cut.delivered, batch);
    }
    if (cut.dead) {
        p.rows.dead = remove_finished(db, subscribers, delivery_state::dead, *cut.dead, batch);
    }
    if (cut.delivered) {
        p.rows.events = remove_events(db, *cut.delivered, batch);
    }
    if (cut.log) {
        p.rows.calls
            = remove_log(db, "SELECT call_sid FROM calls WHERE started_at_ms < ?1 ORDER BY started_at_ms LIMIT ?2",
                "DELETE FROM calls WHERE call_sid = ?1", *cut.log, batch);
        p.rows.messages = remove_log(db,
            "SELECT message_sid FROM messages WHERE created_at_ms < ?1 ORDER BY created_at_ms LIMIT ?2",
            "DELETE FROM messages WHERE message_sid = ?1", *cut.log, batch);
    }
    p.more = retention::filled(p.rows, batch);
    if (p.rows.total() > 0) {
        db.exec(("PRAGMA incremental_vacuum(" + std::to_string(vacuum_pages) + ")").c_str());
    }
    return p;
}

} // namespace

void sqlite_store::backup(std::string path, callback<std::int64_t> done)
{
    impl_->submit_read<std::int64_t>(
        [path = std::move(path)](database& db) -> boost::system::result<std::int64_t> {
            try {
                return sqlite::backup(db, path);
            } catch (const sql_error& e) {
                log::line(log::level::error, "store backup failed").str("path", path).str("error", e.what()).emit();
                return boost::system::result<std::int64_t>(
                    boost::system::in_place_error, make_error_code(error::store_unavailable));
            }
        },
        std::move(done));
}

void sqlite_store::retain(retention::cutoffs cut, std::size_t batch, callback<retention::pass> done)
{
    impl_->submit<retention::pass>(
        [cut, batch = static_cast<std::int64_t>(batch)](
            database& db) -> boost::system::result<retention::pass> { return retain_pass(db, cut, batch); },
        std::move(done));
}

} // namespace switchboard
