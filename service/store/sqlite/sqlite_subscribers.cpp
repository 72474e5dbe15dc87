// The SQLite store's stored subscribers (the subscriber API): the `subscribers` table, its
// version in store_meta, and what a subscriber's removal takes with it.
#include "service/store/sqlite/sqlite_pipeline.hpp"

#include "protocol/core/error.hpp"

namespace switchboard {
namespace {

std::int64_t table_version(database& db)
{
    auto& q = db.sql("SELECT CAST(value AS INTEGER) FROM store_meta WHERE key = 'subscribers_version'");
    const std::int64_t v = q.step() ? q.integer(0) : 0;
    q.done();
    return v;
}

void bump_table_version(database& db)
{
    db.sql("INSERT INTO store_meta (key, value) VALUES ('subscribers_version', '1') "
           "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)")
        .run();
}

template <class T> boost::system::result<T> failed(error e)
{
    return {boost::system::in_place_error, make_error_code(e)};
}

} // namespace

void sqlite_store::subscribe(std::vector<subscription> subs)
{
    impl_->db.shared_subscriptions()->replace(std::move(subs));
}

void sqlite_store::subscribers(callback<subscriber_table> done)
{
    impl_->submit_read<subscriber_table>(
        [](database& db) -> boost::system::result<subscriber_table> {
            subscriber_table t;
            t.version = table_version(db);
            auto& q = db.sql("SELECT name, document, version FROM subscribers ORDER BY name");
            while (q.step()) {
                t.subscribers.push_back({q.text(0), q.text(1), q.integer(2)});
            }
            q.done();
            return t;
        },
        std::move(done));
}

void sqlite_store::subscribers_version(callback<std::int64_t> done)
{
    impl_->submit_read<std::int64_t>(
        [](database& db) -> boost::system::result<std::int64_t> { return table_version(db); }, std::move(done));
}

void sqlite_store::put_subscriber(
    std::string name, std::string document, std::int64_t expected_version, callback<std::int64_t> done)
{
    impl_->submit<std::int64_t>(
        [name = std::move(name), document = std::move(document), expected_version](
            database& db) -> boost::system::result<std::int64_t> {
            auto& q = db.sql("SELECT version FROM subscribers WHERE name = ?1");
            q.bind(name);
            // A plain number and a flag: GCC's -O1 TSan build saw an optional as maybe unset.
            const bool exists = q.step();
            const std::int64_t current = exists ? q.integer(0) : 0;
            q.done();
            if (expected_version == 0 && exists) {
                return failed<std::int64_t>(error::conflict);
            }
            if (expected_version > 0 && !exists) {
                return failed<std::int64_t>(error::not_found);
            }
            if (expected_version > 0 && current != expected_version) {
                return failed<std::int64_t>(error::conflict);
            }
            const std::int64_t next = current + 1;
            db.sql("INSERT INTO subscribers (name, document, version) VALUES (?1, ?2, ?3) "
                   "ON CONFLICT (name) DO UPDATE SET document = ?2, version = ?3")
                .bind(name, document, next)
                .run();
            bump_table_version(db);
            return next;
        },
        std::move(done));
}

void sqlite_store::remove_subscriber(std::string name, bool force, callback<std::int64_t> done)
{
    impl_->submit<std::int64_t>(
        [name = std::move(name), force](database& db) -> boost::system::result<std::int64_t> {
            auto& q = db.sql("SELECT 1 FROM subscribers WHERE name = ?1");
            q.bind(name);
            const bool exists = q.step();
            q.done();
            if (!exists) {
                return failed<std::int64_t>(error::not_found);
            }
            auto& c = db.sql("SELECT count(*) FROM deliveries WHERE subscriber = ?1 AND state IN (0, 1)");
            c.bind(name);
            const std::int64_t undelivered = c.step() ? c.integer(0) : 0;
            c.done();
            if (undelivered > 0 && !force) {
                return failed<std::int64_t>(error::conflict);
            }
            // Every row of it goes, and each event counts one row fewer (retention removes an
            // event once none is left).
            db.sql("UPDATE events SET deliveries_left = deliveries_left - 1 "
                   "WHERE seq IN (SELECT seq FROM deliveries WHERE subscriber = ?1)")
                .bind(name)
                .run();
            db.sql("DELETE FROM deliveries WHERE subscriber = ?1").bind(name).run();
            db.sql("DELETE FROM subscribers WHERE name = ?1").bind(name).run();
            bump_table_version(db);
            // No append after this one fans out to it (appends run on this thread, in order).
            auto& set = *db.shared_subscriptions();
            auto rest = *set.current();
            std::erase_if(rest, [&](const subscription& s) { return s.name == name; });
            set.replace(std::move(rest));
            return undelivered;
        },
        std::move(done));
}

} // namespace switchboard
