// What each SQLite store operation does, in SQL: run by the writer inside the batch's
// transaction, or by the reader on its own connection (sqlite_pipeline.hpp). How the call and
// message records change is protocol/events/records.hpp's; these functions load and save them.
// One file because each store operation is one short function and they share the row helpers.
#include "service/store/sqlite/sqlite_pipeline.hpp"

#include <algorithm>
#include <filesystem>

#include <sys/statvfs.h>

namespace switchboard {
namespace {

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
    const auto subs = db.subscriptions();
    for (const auto& s : *subs) {
        if (s.receives(e)) {
            r.subscribers.push_back(s.name);
        }
    }
    db.sql("INSERT INTO events (id, dedupe_key, type, occurred_at_ms, payload, subject, deliveries_left) "
           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
        .bind(e.id, req.dedupe_key, to_string(e.type), e.occurred_at_ms, to_json(e), record_key(e),
            static_cast<std::int64_t>(r.subscribers.size()))
        .run();
    const std::int64_t seq = db.last_rowid();
    for (const auto& name : r.subscribers) {
        const bool ordered = std::any_of(
            subs->begin(), subs->end(), [&](const subscription& s) { return s.per_call && s.name == name; });
        db.sql(
              "INSERT INTO deliveries (subscriber, seq, state, next_attempt_at_ms, subject) VALUES (?1, ?2, 0, ?3, ?4)")
            .bind(name, seq, e.occurred_at_ms, ordered ? record_key(e) : std::string())
            .run();
    }
    r.event_id = e.id;
    return r;
}

} // namespace

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
            // per_call: a delivery waits while an earlier one of its call (or message) is not
            // delivered or dead yet (deliveries_ordered: the live rows by subject).
            const bool per_call = db.shared_subscriptions()->per_call(subscriber);
            auto& due = per_call
                ? db.sql("SELECT d.seq, e.id, e.payload, e.occurred_at_ms, d.attempts, d.first_attempt_at_ms "
                         "FROM deliveries d JOIN events e ON e.seq = d.seq "
                         "WHERE d.subscriber = ?1 AND d.state = 0 AND d.next_attempt_at_ms <= ?2 "
                         "AND (d.subject = '' OR NOT EXISTS (SELECT 1 FROM deliveries q INDEXED BY deliveries_ordered "
                         "WHERE q.subscriber = ?1 AND q.subject = d.subject AND q.seq < d.seq AND q.state IN (0, 1) "
                         "AND q.subject != '')) "
                         "ORDER BY d.next_attempt_at_ms, d.seq LIMIT ?3")
                : db.sql("SELECT d.seq, e.id, e.payload, e.occurred_at_ms, d.attempts, d.first_attempt_at_ms "
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
            // per_call: the next retry that is not due yet (one range step of deliveries_due). A
            // row due now that waits for an earlier one of its call is not looked for: that
            // one's outcome wakes the dispatcher (and searching every waiting row at each claim
            // made the claim as slow as the queue is long).
            auto& next = per_call
                ? db.sql("SELECT min(next_attempt_at_ms) FROM deliveries WHERE subscriber = ?1 AND state = 0 "
                         "AND next_attempt_at_ms > ?2")
                : db.sql("SELECT min(next_attempt_at_ms) FROM deliveries WHERE subscriber = ?1 AND state = 0");
            if (per_call) {
                next.bind(subscriber, now_ms);
            } else {
                next.bind(subscriber);
            }
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
            const auto subs = db.subscriptions();
            for (const auto& s : *subs) {
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

// A write through the writer and its fsync (disk full, a read-only volume: it fails), then the
// sizes on the read connection.
void sqlite_store::capacity(std::int64_t now_ms, callback<store_capacity> done)
{
    impl_->submit<bool>(
        [now_ms](database& db) -> boost::system::result<bool> {
            db.sql("INSERT INTO store_meta (key, value) VALUES ('last_probe_at_ms', ?1) "
                   "ON CONFLICT (key) DO UPDATE SET value = ?1")
                .bind(std::to_string(now_ms))
                .run();
            return true;
        },
        [this, done = std::move(done)](boost::system::result<bool> probe) mutable {
            impl_->submit_read<store_capacity>(
                [writable = probe.has_value(), db_path = impl_->db_path, wal_path = impl_->wal_path](
                    database& db) -> boost::system::result<store_capacity> {
                    store_capacity c;
                    c.writable = writable;
                    std::error_code ec;
                    for (const auto& f : {db_path, wal_path}) {
                        const auto size = std::filesystem::file_size(f, ec);
                        c.size_bytes += ec ? 0 : static_cast<std::int64_t>(size);
                    }
                    struct statvfs fs { };
                    const std::string dir = std::filesystem::path(db_path).parent_path().string();
                    if (::statvfs(dir.empty() ? "." : dir.c_str(), &fs) == 0) {
                        c.capacity_bytes
                            = static_cast<std::int64_t>(fs.f_blocks) * static_cast<std::int64_t>(fs.f_frsize);
                        c.free_bytes = static_cast<std::int64_t>(fs.f_bavail) * static_cast<std::int64_t>(fs.f_frsize);
                    }
                    const sqlite::row_counts rows = sqlite::count_rows(db);
                    c.events = rows.events;
                    c.deliveries = rows.deliveries;
                    c.calls = rows.calls;
                    c.messages = rows.messages;
                    return c;
                },
                std::move(done));
        });
}

} // namespace switchboard
