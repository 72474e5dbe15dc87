#include "service/store/sqlite/sqlite_check.hpp"

#include "service/store/sqlite/sqlite_database.hpp"
#include "service/store/sqlite/sqlite_store.hpp"

#include <filesystem>

namespace switchboard {

int check_sqlite_store(const std::string& data_dir, std::ostream& out, std::ostream& err)
{
    const std::string path = (std::filesystem::path(data_dir) / sqlite_store::file_name).string();
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
        err << "store check: " << path << " does not exist\n";
        return 2;
    }
    try {
        sqlite::database db(path, {}, sqlite::database::mode::read);
        const auto one = [&db](const char* sql) {
            auto& q = db.sql(sql);
            q.bind();
            const std::int64_t v = q.step() ? q.integer(0) : 0;
            q.done();
            return v;
        };
        int status = 0;
        out << "store: sqlite " << path << "\n";
        const std::int64_t version = one("PRAGMA user_version");
        out << "schema version: " << version << " (this build: " << sqlite_store::schema_version << ")\n";
        if (version > sqlite_store::schema_version) {
            err << "store check: the schema is newer than this build understands\n";
            status = 1;
        }
        auto& integrity = db.sql("PRAGMA integrity_check");
        integrity.bind();
        std::string verdict;
        while (integrity.step()) {
            verdict += (verdict.empty() ? "" : "; ") + integrity.text(0);
        }
        integrity.done();
        out << "integrity: " << verdict << "\n";
        if (verdict != "ok") {
            status = 1;
        }
        if (version >= 1) {
            const sqlite::row_counts rows = sqlite::count_rows(db);
            out << "events: " << rows.events << "\n";
            out << "deliveries: " << rows.deliveries << " (pending "
                << one("SELECT count(*) FROM deliveries WHERE state = 0") << ", in flight "
                << one("SELECT count(*) FROM deliveries WHERE state = 1") << ", delivered "
                << one("SELECT count(*) FROM deliveries WHERE state = 2") << ", dead "
                << one("SELECT count(*) FROM deliveries WHERE state = 3") << ")\n";
            out << "calls: " << rows.calls << "\n";
            out << "messages: " << rows.messages << "\n";
        }
        if (version >= 2) {
            out << "numbers: " << one("SELECT count(*) FROM numbers") << "\n";
        }
        const auto wal = std::filesystem::file_size(path + "-wal", ec);
        out << "size: " << one("PRAGMA page_count") * one("PRAGMA page_size") << " bytes in pages, WAL "
            << (ec ? 0 : wal) << " bytes\n";
        return status;
    } catch (const std::exception& e) {
        err << "store check: " << e.what() << "\n";
        return 2;
    }
}

} // namespace switchboard
