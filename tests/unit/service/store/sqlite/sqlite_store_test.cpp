// The SQLite event store, on a real database in a temporary directory: de-duplication, call
// ordering, fan-out, claim/complete, crash recovery of in-flight rows, dead letters, replay.
#include "protocol/core/error.hpp"
#include "service/store/sqlite/sqlite_store.hpp"

#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <future>

using namespace switchboard;

namespace {

struct temp_dir {
    temp_dir()
    {
        path = std::filesystem::temp_directory_path()
            / ("switchboard-store-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        std::filesystem::remove_all(path);
    }
    ~temp_dir() { std::filesystem::remove_all(path); }
    std::string str() const { return path.string(); }
    std::filesystem::path path;
    static inline int counter = 0;
};

// Runs one store operation and waits for its callback.
template <class T, class Start> boost::system::result<T> wait(Start start)
{
    std::promise<boost::system::result<T>> p;
    start([&p](boost::system::result<T> r) { p.set_value(std::move(r)); });
    return p.get_future().get();
}

std::vector<subscription> two_subscribers()
{
    return {{"crm", {"call.*"}}, {"analytics", {"*"}}};
}

const std::string sid = "CA" + std::string(32, 'a');

append_request status(const char* st, std::int64_t seq, std::int64_t at = 1000)
{
    call_status_update u;
    u.call_sid = sid;
    u.raw_status = st;
    u.status = parse_call_status(st);
    u.sequence_number = seq;
    u.from = "+14155551212";
    append_request r;
    r.event = status_changed_event(u);
    r.event.id = "evt_" + std::string(st) + std::to_string(seq);
    r.event.occurred_at_ms = at;
    r.dedupe_key = dedupe_key("", sid, seq, st);
    return r;
}

append_result append(sqlite_store& s, append_request r)
{
    auto out = wait<append_result>([&](auto done) { s.append(std::move(r), done); });
    BOOST_REQUIRE(out);
    return *out;
}

claim_result claim(sqlite_store& s, const char* who, std::size_t n, std::int64_t now = 1'000'000)
{
    auto out = wait<claim_result>([&](auto done) { s.claim(who, n, now, done); });
    BOOST_REQUIRE(out);
    return *out;
}

void finish(sqlite_store& s, const char* who, std::int64_t seq, delivery_state state, std::int64_t at)
{
    const delivery_outcome o{seq, state, 1, at, 0, state == delivery_state::delivered ? 200 : 410, ""};
    BOOST_REQUIRE(*wait<bool>([&](auto done) { s.complete(who, o, done); }));
}

retention::pass retain(sqlite_store& s, std::int64_t now, std::size_t batch = 500)
{
    const retention::policy p{std::chrono::seconds(10), std::chrono::seconds(20), std::chrono::seconds(100)};
    auto out = wait<retention::pass>([&](auto done) { s.retain(retention::cutoffs_at(p, now), batch, done); });
    BOOST_REQUIRE(out);
    return *out;
}

std::int64_t pragma(const std::filesystem::path& file, const char* sql)
{
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    BOOST_REQUIRE(sqlite3_prepare_v2(db, sql, -1, &q, nullptr) == SQLITE_OK);
    BOOST_REQUIRE(sqlite3_step(q) == SQLITE_ROW);
    const std::int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sqlite_event_store)

// Time is passed in: delivered 10 s, dead 20 s, log 100 s.
BOOST_AUTO_TEST_CASE(retention_removes_exactly_what_has_expired)
{
    temp_dir dir;
    sqlite_store s(dir.str(), two_subscribers());
    const auto a = append(s, status("ringing", 1, 1000)); // crm and analytics: both delivered at 2 s
    const auto b = append(s, status("completed", 3, 1500)); // crm: dead at 3 s; analytics: pending
    auto crm = claim(s, "crm", 2).deliveries;
    auto analytics = claim(s, "analytics", 1).deliveries;
    BOOST_REQUIRE(crm.size() == 2u);
    BOOST_REQUIRE(analytics.size() == 1u);
    finish(s, "crm", crm[0].seq, delivery_state::delivered, 2000);
    finish(s, "crm", crm[1].seq, delivery_state::dead, 3000);
    finish(s, "analytics", analytics[0].seq, delivery_state::delivered, 2000);
    const auto events = [&] { return wait<call_detail>([&](auto done) { s.call(sid, done); }).value().events.size(); };
    const auto totals = [&] { return wait<phone_totals>([&](auto done) { s.totals("", done); }).value().calls; };
    const auto before = totals();

    BOOST_TEST(retain(s, 11'999).rows.total() == 0); // the delivered rows are 9.999 s old
    BOOST_TEST(events() == 2u);

    auto p = retain(s, 12'500, 1); // one row of each kind a pass
    BOOST_TEST(p.rows.delivered == 1);
    BOOST_TEST(p.more);
    p = retain(s, 12'500, 1);
    BOOST_TEST(p.rows.delivered == 1);
    BOOST_TEST(p.rows.events == 1, "the first event went with its last delivery row");
    BOOST_TEST(retain(s, 12'500).rows.total() == 0);
    BOOST_TEST(events() == 1u);
    BOOST_TEST(
        wait<std::int64_t>([&](auto done) { s.replay("crm", a.event_id, 12'500, done); }).error() == error::not_found);

    // The dead letter goes 20 s after it died; the event stays for its pending delivery.
    BOOST_TEST(retain(s, 22'999).rows.dead == 0);
    p = retain(s, 50'000);
    BOOST_TEST(p.rows.dead == 1);
    BOOST_TEST(p.rows.events == 0);
    BOOST_TEST(events() == 1u);
    const auto stats = wait<std::vector<queue_stats>>([&](auto done) { s.stats(done); }).value();
    BOOST_TEST(stats.at(0).dead == 0);
    BOOST_TEST(stats.at(1).pending == 1);
    const auto late = claim(s, "analytics", 5).deliveries;
    BOOST_REQUIRE(late.size() == 1u); // the pending delivery was kept and is claimable
    BOOST_TEST(late[0].event_id == b.event_id);

    // Delivered at last: it and its event go 10 s later; the call record, started at 1 s, when the
    // log's 100 s have passed.
    finish(s, "analytics", late[0].seq, delivery_state::delivered, 60'000);
    BOOST_TEST(retain(s, 69'999).rows.total() == 0);
    p = retain(s, 70'001);
    BOOST_TEST(p.rows.delivered == 1);
    BOOST_TEST(p.rows.events == 1);
    BOOST_TEST(p.rows.calls == 0);
    BOOST_TEST(events() == 0u);
    BOOST_TEST(retain(s, 100'999).rows.calls == 0);
    BOOST_TEST(retain(s, 101'001).rows.calls == 1);
    BOOST_TEST(wait<call_detail>([&](auto done) { s.call(sid, done); }).error() == error::not_found);
    BOOST_TEST(totals() == before, "the totals count since the store began");
    const auto rows = wait<store_capacity>([&](auto done) { s.capacity(1, done); }).value();
    BOOST_TEST(rows.events == 0);
    BOOST_TEST(rows.deliveries == 0);
    BOOST_TEST(rows.calls == 0);
}

BOOST_AUTO_TEST_CASE(retention_gives_the_space_back_and_old_databases_are_converted)
{
    temp_dir dir;
    const auto file = dir.path / sqlite_store::file_name;
    {
        sqlite_store s(dir.str(), {});
        for (int i = 0; i < 3000; ++i) {
            auto r = status("ringing", 1, 1000);
            r.event.call_sid = "CA" + std::to_string(1'000'000 + i) + std::string(25, 'b');
            r.event.id = "evt_" + std::to_string(i);
            r.dedupe_key = "k" + std::to_string(i);
            append(s, r);
        }
    }
    const std::int64_t full = pragma(file, "PRAGMA page_count");
    BOOST_TEST(pragma(file, "PRAGMA auto_vacuum") == 2);
    {
        sqlite_store s(dir.str(), {});
        retention::pass p;
        do {
            p = retain(s, 200'000);
        } while (p.more);
    }
    BOOST_TEST(pragma(file, "PRAGMA page_count") * 4 < full, "the freed pages left the file");

    // A database made before incremental auto-vacuum is converted when the store opens it.
    {
        sqlite3* db = nullptr;
        BOOST_REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
        BOOST_REQUIRE(sqlite3_exec(db, "PRAGMA auto_vacuum=NONE; VACUUM", nullptr, nullptr, nullptr) == SQLITE_OK);
        sqlite3_close(db);
    }
    BOOST_TEST(pragma(file, "PRAGMA auto_vacuum") == 0);
    {
        sqlite_store s(dir.str(), {});
    }
    BOOST_TEST(pragma(file, "PRAGMA auto_vacuum") == 2);
}

BOOST_AUTO_TEST_CASE(retries_do_not_duplicate_and_fan_out_follows_filters)
{
    temp_dir dir;
    sqlite_store s(dir.str(), two_subscribers());
    const auto first = append(s, status("ringing", 1));
    BOOST_TEST(!first.duplicate);
    BOOST_TEST(first.event_id == "evt_ringing1");
    BOOST_TEST(first.subscribers.size() == 2u);
    auto again = status("ringing", 1);
    again.event.id = "evt_other";
    const auto second = append(s, again);
    BOOST_TEST(second.duplicate);
    BOOST_TEST(second.event_id == "evt_ringing1");
    BOOST_TEST(second.subscribers.empty());

    sms_message m;
    m.message_sid = "SM" + std::string(32, 'b');
    m.from = "+1";
    m.to = "+2";
    m.status = "received";
    append_request sms;
    sms.event = sms_received_event(m);
    sms.event.id = "evt_sms";
    sms.event.occurred_at_ms = 5;
    sms.dedupe_key = dedupe_key("token-1", m.message_sid, std::nullopt, "received");
    const auto r = append(s, sms);
    BOOST_TEST(r.subscribers == std::vector<std::string>{"analytics"});
    BOOST_TEST(claim(s, "crm", 10).deliveries.size() == 1u);
    BOOST_TEST(claim(s, "analytics", 10).deliveries.size() == 2u);
}

BOOST_AUTO_TEST_CASE(out_of_order_callbacks_leave_the_right_final_state)
{
    temp_dir dir;
    sqlite_store s(dir.str(), two_subscribers());
    BOOST_TEST(append(s, status("ringing", 1)).current_status == "ringing");
    const auto done = append(s, status("completed", 3));
    BOOST_TEST(done.current_status == "completed");
    const auto late = append(s, status("in-progress", 2));
    BOOST_TEST(!late.duplicate); // still an event, with what the consumer needs to order it
    BOOST_TEST((*late.applied == apply_result::after_terminal));
    BOOST_TEST(late.current_status == "completed");
    const auto c = claim(s, "crm", 10);
    BOOST_REQUIRE(c.deliveries.size() == 3u);
    const auto e = from_json(c.deliveries[2].payload);
    BOOST_REQUIRE(e);
    BOOST_TEST(e->status == "in-progress");
    BOOST_TEST(e->previous_status == "completed");
    BOOST_TEST(e->current_status == "completed");
    BOOST_TEST(*e->sequence_number == 2);
}

BOOST_AUTO_TEST_CASE(in_flight_rows_are_due_again_after_a_crash)
{
    temp_dir dir;
    {
        sqlite_store s(dir.str(), two_subscribers());
        append(s, status("ringing", 1));
        append(s, status("in-progress", 2));
        const auto c = claim(s, "crm", 1);
        BOOST_REQUIRE(c.deliveries.size() == 1u);
        BOOST_TEST(c.next_due_at_ms.has_value());
        BOOST_TEST(claim(s, "crm", 10).deliveries.size() == 1u); // the in-flight one is not handed out twice
        BOOST_TEST(claim(s, "crm", 10).deliveries.empty());
    } // "crash": nothing was completed
    sqlite_store s(dir.str(), two_subscribers());
    BOOST_TEST(claim(s, "crm", 10).deliveries.size() == 2u);
}

BOOST_AUTO_TEST_CASE(retry_dead_letter_and_replay)
{
    temp_dir dir;
    sqlite_store s(dir.str(), two_subscribers());
    append(s, status("ringing", 1));
    auto d = claim(s, "crm", 1).deliveries.at(0);
    delivery_outcome retry{d.seq, delivery_state::pending, 1, 2'000'000, 2'000'500, 503, "HTTP 503"};
    BOOST_TEST(*wait<bool>([&](auto done) { s.complete("crm", retry, done); }));
    BOOST_TEST(claim(s, "crm", 1, 2'000'499).deliveries.empty()); // not due yet
    d = claim(s, "crm", 1, 2'000'500).deliveries.at(0);
    BOOST_TEST(d.attempts == 1);
    BOOST_TEST(*d.first_attempt_at_ms == 2'000'000);
    delivery_outcome dead{d.seq, delivery_state::dead, 2, 2'000'600, 0, 410, "HTTP 410"};
    BOOST_TEST(*wait<bool>([&](auto done) { s.complete("crm", dead, done); }));
    // A late second outcome for a row no longer in flight changes nothing.
    BOOST_TEST(!*wait<bool>([&](auto done) { s.complete("crm", dead, done); }));

    const auto rows
        = wait<std::vector<delivery_row>>([&](auto done) { s.list("crm", delivery_state::dead, 10, 0, done); });
    BOOST_REQUIRE(rows);
    BOOST_REQUIRE(rows->size() == 1u);
    BOOST_TEST(rows->at(0).event_id == "evt_ringing1");
    BOOST_TEST(rows->at(0).last_status == 410);
    BOOST_TEST(rows->at(0).attempts == 2);

    const auto stats = wait<std::vector<queue_stats>>([&](auto done) { s.stats(done); });
    BOOST_REQUIRE(stats);
    BOOST_TEST(stats->at(0).dead == 1);
    BOOST_TEST(stats->at(1).pending == 1); // analytics never claimed
    BOOST_TEST(*stats->at(1).oldest_pending_occurred_at_ms == 1000);

    const auto missing = wait<std::int64_t>([&](auto done) { s.replay("crm", "evt_nope", 3'000'000, done); });
    BOOST_TEST(missing.error() == error::not_found);
    const auto unknown = wait<std::int64_t>([&](auto done) { s.replay("nobody", "", 3'000'000, done); });
    BOOST_TEST(unknown.error() == error::not_found);
    BOOST_TEST(*wait<std::int64_t>([&](auto done) { s.replay("crm", "evt_ringing1", 3'000'000, done); }) == 1);
    d = claim(s, "crm", 1, 3'000'000).deliveries.at(0);
    BOOST_TEST(d.attempts == 0);
    BOOST_TEST(!d.first_attempt_at_ms);
}

BOOST_AUTO_TEST_CASE(refuses_to_start_on_what_it_cannot_use)
{
    temp_dir dir;
    {
        sqlite_store s(dir.str(), {});
        // A second owner of the same database (two replicas on one volume) is refused.
        BOOST_CHECK_EXCEPTION(sqlite_store(dir.str(), {}), std::runtime_error, [](const std::runtime_error& e) {
            return std::string(e.what()).find("in use by another process") != std::string::npos;
        });
    }
    {
        sqlite3* db = nullptr;
        BOOST_REQUIRE(sqlite3_open((dir.path / sqlite_store::file_name).c_str(), &db) == SQLITE_OK);
        sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr, nullptr);
        sqlite3_close(db);
    }
    BOOST_CHECK_EXCEPTION(sqlite_store(dir.str(), {}), std::runtime_error, [](const std::runtime_error& e) {
        return std::string(e.what()).find("newer than this build") != std::string::npos;
    });
    const auto file = dir.path.parent_path() / ("switchboard-not-a-dir-" + std::to_string(::getpid()));
    std::ofstream(file) << "x";
    BOOST_CHECK_EXCEPTION(sqlite_store((file / "data").string(), {}), std::runtime_error,
        [](const std::runtime_error& e) { return std::string(e.what()).find("cannot create") != std::string::npos; });
    std::filesystem::remove(file);
}

BOOST_AUTO_TEST_CASE(operations_after_close_fail_cleanly)
{
    temp_dir dir;
    sqlite_store s(dir.str(), two_subscribers());
    s.close();
    const auto r = wait<append_result>([&](auto done) { s.append(status("ringing", 1), done); });
    BOOST_TEST(r.error() == error::store_unavailable);
}

BOOST_AUTO_TEST_CASE(concurrent_appends_share_commits)
{
    temp_dir dir;
    sqlite_store s(dir.str(), two_subscribers());
    std::atomic<std::size_t> batches{0};
    std::atomic<std::size_t> largest{0};
    s.on_commit([&](const store_timing& t) {
        ++batches;
        if (t.batch_size > largest) {
            largest = t.batch_size;
        }
    });
    constexpr int n = 2000;
    std::vector<std::promise<bool>> done(n);
    for (int i = 0; i < n; ++i) {
        auto r = status("ringing", i + 1);
        r.event.id = "evt_" + std::to_string(i);
        s.append(std::move(r), [&done, i](boost::system::result<append_result> out) { done[i].set_value(bool(out)); });
    }
    for (auto& p : done) {
        BOOST_TEST(p.get_future().get());
    }
    BOOST_TEST(batches.load() < static_cast<std::size_t>(n)); // group commit happened
    BOOST_TEST(largest.load() > 1u);
    BOOST_TEST(claim(s, "crm", 5000).deliveries.size() == static_cast<std::size_t>(n));
}

// Billed minutes are written with each duration by the one rule (records.hpp billed_minutes),
// and migration 5 fills them in for calls recorded before the column existed.
BOOST_AUTO_TEST_CASE(billed_minutes_are_written_and_migrated)
{
    temp_dir dir;
    const auto billed = [](sqlite_store& s) {
        std::int64_t minutes = 0;
        for (const auto& g : wait<phone_totals>([&](auto done) { s.totals("", done); }).value().calls) {
            minutes += g.billed_minutes;
        }
        return minutes;
    };
    {
        sqlite_store s(dir.str(), two_subscribers());
        auto done = status("completed", 3, 3000);
        done.event.duration_seconds = 61; // two minutes
        append(s, done);
        BOOST_TEST(billed(s) == 2);
    }
    {
        // The database as schema 4 left it: no billed_minutes column.
        sqlite3* db = nullptr;
        BOOST_REQUIRE(sqlite3_open((dir.path / sqlite_store::file_name).c_str(), &db) == SQLITE_OK);
        BOOST_REQUIRE(
            sqlite3_exec(db,
                "ALTER TABLE calls DROP COLUMN billed_minutes; DROP TABLE totals; ALTER TABLE events DROP COLUMN "
                "deliveries_left; DROP TABLE subscribers; DROP INDEX deliveries_ordered; ALTER TABLE deliveries DROP "
                "COLUMN subject; PRAGMA user_version=4",
                nullptr, nullptr, nullptr)
            == SQLITE_OK);
        sqlite3_close(db);
    }
    sqlite_store migrated(dir.str(), two_subscribers());
    BOOST_TEST(billed(migrated) == 2, "filled in by the migration");
}

BOOST_AUTO_TEST_CASE(call_log_for_the_operator_api)
{
    temp_dir dir;
    sqlite_store s(dir.str(), two_subscribers());
    // The status callback can arrive before the create answer: the API's fields merge in.
    append(s, status("ringing", 1, 2000));
    outbound_call placed{
        sid, "AC" + std::string(32, '0'), "+14155550100", "+14155551212", "queued", "Ada", "interview", "wf-1", 1500};
    BOOST_TEST(wait<bool>([&](auto done) { s.record_call(placed, done); }).value());
    auto later = status("completed", 3, 3000);
    later.event.duration_seconds = 61;
    const auto r = append(s, later);
    BOOST_TEST(r.current_status == "completed");

    auto detail = wait<call_detail>([&](auto done) { s.call(sid, done); });
    BOOST_REQUIRE(detail);
    BOOST_TEST(detail->call.status == "completed", "the callback's status is kept");
    BOOST_TEST(detail->call.agent_name == "Ada");
    BOOST_TEST(detail->call.call_purpose == "interview");
    BOOST_TEST(detail->call.duration_seconds.value() == 61);
    BOOST_REQUIRE(detail->events.size() == 2u);
    BOOST_TEST(from_json(detail->events[1]).value().workflow_id == "wf-1", "later events carry the API's fields");
    BOOST_TEST(from_json(detail->events[0]).value().workflow_id.empty());
    BOOST_TEST(
        (wait<call_detail>([&](auto done) { s.call("CA" + std::string(32, 'b'), done); }).error() == error::not_found));

    // Newest first, paged by (started_at, sid).
    for (int i = 0; i < 5; ++i) {
        outbound_call c{
            "CA" + std::string(31, 'c') + std::to_string(i), "", "+1", "+2", "queued", "", "", "", 10'000 + i};
        BOOST_TEST(wait<bool>([&](auto done) { s.record_call(c, done); }).value());
    }
    call_filter f;
    f.limit = 2;
    std::vector<std::string> seen;
    for (int page = 0; page < 5; ++page) {
        auto got = wait<call_page>([&](auto done) { s.calls(f, done); }).value();
        for (const auto& row : got.rows) {
            seen.push_back(row.call_sid);
        }
        BOOST_TEST(got.more.has_value() == (got.rows.size() == f.limit));
        if (!got.more) {
            break;
        }
        f.before_started_at_ms = got.more->started_at_ms;
        f.before_call_sid = got.more->call_sid;
    }
    BOOST_REQUIRE(seen.size() == 6u);
    BOOST_TEST(seen.front() == "CA" + std::string(31, 'c') + "4");
    BOOST_TEST(seen.back() == sid);
    call_filter done_only;
    done_only.status = "completed";
    BOOST_TEST(wait<call_page>([&](auto done) { s.calls(done_only, done); }).value().rows.size() == 1u);
    call_filter outbound;
    outbound.direction = "outbound";
    BOOST_TEST(wait<call_page>([&](auto done) { s.calls(outbound, done); }).value().rows.size() == 6u);

    purchased_number n{"PN" + std::string(32, '1'), "+14155550199", "line", 5};
    BOOST_TEST(wait<bool>([&](auto done) { s.record_number(n, done); }).value());
    outbound_message m{"SM" + std::string(32, '2'), "", "+14155550100", "+14155551212", "queued", "hi", "Ada", 6};
    BOOST_TEST(wait<bool>([&](auto done) { s.record_message(m, done); }).value());
    auto t = wait<phone_totals>([&](auto done) { s.totals("+14155550100", done); }).value();
    BOOST_TEST(t.numbers == 2, "the bought number and the sending one");
    BOOST_TEST(t.sms_sent == 1);
    std::int64_t calls = 0;
    for (const auto& g : t.calls) {
        calls += g.calls;
        if (g.status == "completed") {
            BOOST_TEST(g.billed_minutes == 2);
            BOOST_TEST(g.timed == 1);
        }
    }
    BOOST_TEST(calls == 6);
    BOOST_TEST(wait<phone_totals>([&](auto done) { s.totals("+14155550199", done); }).value().numbers == 1);
}

// Idempotency-Key records: claimed in flight, answered, replayed, freed, taken over after the
// lease, and reopened (the records survive a restart).
BOOST_AUTO_TEST_CASE(idempotency_keys_claim_answer_and_survive_a_restart)
{
    temp_dir dir;
    const idempotency::policy p{10'000, 1'000};
    using v = idempotency::verdict;
    const auto begin = [&](sqlite_store& s, const std::string& scope, const std::string& print, std::int64_t now) {
        return wait<idempotency::decision>([&](auto done) { s.idempotency_begin(scope, print, now, p, done); }).value();
    };
    {
        sqlite_store s(dir.str(), two_subscribers());
        auto first = begin(s, "k1", "F", 1000);
        BOOST_TEST((first.what == v::proceed));
        BOOST_TEST((begin(s, "k1", "F", 1500).what == v::in_flight));
        BOOST_TEST((begin(s, "k1", "G", 1500).what == v::mismatch));
        BOOST_TEST((begin(s, "k2", "F", 1500).what == v::proceed), "another scope is another key");
        const auto answer = idempotency::finish(*first.write, 201, R"({"sid":"CA1"})");
        BOOST_TEST(wait<bool>([&](auto done) { s.idempotency_finish("k1", *first.write, answer, done); }).value());
        // Not kept (a 429): the key is free again.
        auto freed = begin(s, "k3", "F", 1500);
        BOOST_TEST(
            wait<bool>([&](auto done) { s.idempotency_finish("k3", *freed.write, std::nullopt, done); }).value());
        BOOST_TEST((begin(s, "k3", "F", 1600).what == v::proceed));
        // A claim whose lease ran out is taken over; the first request's late answer is then
        // not stored over the new claim.
        auto stale = begin(s, "k4", "F", 1000);
        auto taker = begin(s, "k4", "F", 2000);
        BOOST_TEST((taker.what == v::proceed));
        BOOST_TEST(!wait<bool>([&](auto done) {
            s.idempotency_finish("k4", *stale.write, idempotency::finish(*stale.write, 201, "{}"), done);
        }).value());
        BOOST_TEST((begin(s, "k4", "F", 2100).what == v::in_flight));
    }
    sqlite_store reopened(dir.str(), two_subscribers());
    const auto again = begin(reopened, "k1", "F", 5000);
    BOOST_TEST((again.what == v::replay));
    BOOST_TEST(again.existing.status == 201);
    BOOST_TEST(again.existing.body == R"({"sid":"CA1"})");
    BOOST_TEST((begin(reopened, "k1", "G", 5000).what == v::mismatch));
    // Past its expiry (10 s after the first request) the key starts over, and expired rows are
    // removed as new keys are claimed.
    BOOST_TEST((begin(reopened, "k1", "G", 11'000).what == v::proceed));
    BOOST_TEST((begin(reopened, "k9", "F", 20'000).what == v::proceed));
    reopened.close();
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open((dir.path / sqlite_store::file_name).c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, "SELECT group_concat(scope) FROM idempotency_keys", -1, &q, nullptr);
    BOOST_REQUIRE(sqlite3_step(q) == SQLITE_ROW);
    // k2, k3 and k4 expired by 12 s; k1 was claimed again at 11 s (until 21 s).
    BOOST_TEST(std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 0))) == "k1,k9");
    sqlite3_finalize(q);
    sqlite3_close(db);
}

BOOST_AUTO_TEST_SUITE_END()
