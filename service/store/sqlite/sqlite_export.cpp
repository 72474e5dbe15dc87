#include "service/store/sqlite/sqlite_export.hpp"

#include "protocol/events/store_export.hpp"
#include "service/store/sqlite/sqlite_database.hpp"
#include "service/store/sqlite/sqlite_store.hpp"

#include <filesystem>

namespace switchboard {

int export_sqlite_store(const std::string& data_dir, std::int64_t now_ms, std::ostream& out, std::ostream& err)
{
    namespace x = store_export;
    const std::string path = (std::filesystem::path(data_dir) / sqlite_store::file_name).string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        err << "store export: " << path << " does not exist\n";
        return 2;
    }
    try {
        sqlite::database db(path, {}, sqlite::database::mode::read);
        auto& version = db.sql("PRAGMA user_version");
        version.bind();
        const std::int64_t schema = version.step() ? version.integer(0) : 0;
        version.done();
        if (schema != sqlite_store::schema_version) {
            err << "store export: the database has schema version " << schema << "; this build exports version "
                << sqlite_store::schema_version << " (start the service once to migrate it)\n";
            return 2;
        }
        x::counts written;
        const auto emit = [&](const x::line& l) {
            x::add(written, l);
            out << x::to_line(l) << '\n';
        };
        db.sql("BEGIN").bind().run(); // one snapshot, while a service may go on writing
        emit(x::header{"sqlite", now_ms});

        std::vector<std::string> subscribers;
        auto& names = db.sql("SELECT DISTINCT subscriber FROM deliveries ORDER BY subscriber");
        names.bind();
        while (names.step()) {
            subscribers.push_back(names.text(0));
        }
        names.done();
        auto& rows = db.sql("SELECT state, attempts, next_attempt_at_ms, first_attempt_at_ms, last_attempt_at_ms, "
                            "last_status, last_error FROM deliveries WHERE subscriber = ?1 AND seq = ?2");
        auto& events
            = db.sql("SELECT seq, id, type, occurred_at_ms, dedupe_key, subject, payload FROM events ORDER BY seq");
        events.bind();
        while (events.step()) {
            x::event e{events.integer(0), events.text(1), events.text(2), events.integer(3), events.text(4),
                events.text(5), events.text(6), {}};
            for (const auto& s : subscribers) {
                rows.bind(s, e.seq);
                if (rows.step()) {
                    const auto state = static_cast<delivery_state>(rows.integer(0));
                    e.deliveries.push_back({s, std::string(to_string(state)), rows.integer(1), rows.integer(2),
                        rows.optional_integer(3), rows.optional_integer(4), rows.integer(5), rows.text(6)});
                }
                rows.done();
            }
            emit(e);
        }
        events.done();

        // (The statement cache is keyed by the text's address: these strings outlive it.)
        static const std::string calls_sql
            = std::string("SELECT ") + sqlite::call_columns + " FROM calls ORDER BY started_at_ms, call_sid";
        static const std::string messages_sql
            = std::string("SELECT ") + sqlite::message_columns + " FROM messages ORDER BY created_at_ms, message_sid";
        auto& calls = db.sql(calls_sql.c_str());
        calls.bind();
        while (calls.step()) {
            emit(sqlite::read_call(calls));
        }
        calls.done();
        auto& messages = db.sql(messages_sql.c_str());
        messages.bind();
        while (messages.step()) {
            emit(sqlite::read_message(messages));
        }
        messages.done();
        auto& numbers = db.sql("SELECT sid, phone_number, friendly_name, purchased_at_ms FROM numbers ORDER BY sid");
        numbers.bind();
        while (numbers.step()) {
            emit(x::number{numbers.text(0), numbers.text(1), numbers.text(2), numbers.integer(3)});
        }
        numbers.done();
        auto& stored = db.sql("SELECT name, document, version FROM subscribers ORDER BY name");
        stored.bind();
        while (stored.step()) {
            emit(x::subscriber{stored.text(0), stored.text(1), stored.integer(2)});
        }
        stored.done();
        x::totals t;
        auto& totals = db.sql("SELECT name, value FROM totals ORDER BY name");
        totals.bind();
        while (totals.step()) {
            t.values[totals.text(0)] = totals.integer(1);
        }
        totals.done();
        emit(t);
        db.sql("COMMIT").bind().run();
        out << x::to_line(written) << '\n';
        out.flush();
        if (!out) {
            err << "store export: writing the output failed\n";
            return 2;
        }
        return 0;
    } catch (const std::exception& e) {
        err << "store export: " << e.what() << "\n";
        return 2;
    }
}

} // namespace switchboard
