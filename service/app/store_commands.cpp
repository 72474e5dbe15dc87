// `switchboard store check | prune | restore | export | import`. They need the store's settings only: a missing
// TWILIO_AUTH_TOKEN is not their concern.
#include "service/app/store_commands.hpp"

#include "protocol/events/call_event.hpp"

#include "service/ops/clock.hpp"
#include "service/store/redis/redis_check.hpp"
#include "service/store/redis/redis_import.hpp"
#include "service/store/redis/redis_store.hpp"
#include "service/store/sqlite/sqlite_check.hpp"
#include "service/store/sqlite/sqlite_export.hpp"
#include "service/store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace switchboard {

configured_store open_configured_store(const config& c)
{
    std::vector<subscription> subs;
    for (const auto& s : c.subscribers) {
        subs.push_back({s.name, s.events, s.per_call_ordering});
    }
    configured_store out;
    if (c.store.redis) {
        redis_store_settings rs;
        rs.connection.endpoint = c.store.endpoint;
        rs.connection.connect_timeout = c.store.timeout;
        rs.connection.command_timeout = c.store.timeout;
        rs.prefix = c.store.key_prefix;
        rs.reclaim_idle = c.store.reclaim_idle;
        rs.consumer = c.store.replica_name;
        auto r = std::make_unique<redis_store>(std::move(rs), std::move(subs));
        out.redis = r.get();
        out.store = std::move(r);
        return out;
    }
    auto s = std::make_unique<sqlite_store>(c.data_dir, std::move(subs));
    out.sqlite = s.get();
    out.store = std::move(s);
    return out;
}

namespace {

const char* const usage_text = "usage: switchboard store check [--config FILE]\n"
                               "       switchboard store prune [--config FILE] [--as-of TIME]\n"
                               "       switchboard store restore FILE [--config FILE]\n"
                               "       switchboard store export [--output FILE] [--config FILE]\n"
                               "       switchboard store import FILE [--config FILE]\n";

// One store operation, waited for (the command line has no event loop of its own).
template <class T, class Start> boost::system::result<T> wait_for(Start start)
{
    std::promise<boost::system::result<T>> promise;
    auto future = promise.get_future();
    start([&promise](boost::system::result<T> r) { promise.set_value(std::move(r)); });
    return future.get();
}

// An opened store, started and connected (Redis), or an error already printed.
std::optional<configured_store> open_for_command(const config& cfg, const char* command)
{
    try {
        configured_store s = open_configured_store(cfg);
        if (s.redis != nullptr) {
            s.redis->start();
            const auto until = std::chrono::steady_clock::now() + cfg.store.timeout;
            while (!s.redis->available() && std::chrono::steady_clock::now() < until) {
                std::this_thread::sleep_for(std::chrono::milliseconds(20));
            }
            if (!s.redis->available()) {
                std::cerr << "switchboard store " << command << ": cannot connect to Redis at "
                          << cfg.store.endpoint.host << ":" << cfg.store.endpoint.port << "\n";
                return std::nullopt;
            }
        }
        return s;
    } catch (const std::exception& e) {
        std::cerr << "switchboard store " << command << ": " << e.what() << "\n";
        return std::nullopt;
    }
}

// `store prune`: retention to the end, now (or as of --as-of, an RFC 3339 time: what the
// service's next run would remove at that time). SQLite refuses while the service runs.
int prune(const config& cfg, std::optional<std::int64_t> as_of_ms)
{
    auto opened = open_for_command(cfg, "prune");
    if (!opened) {
        return 2;
    }
    event_store& store = *opened->store;
    const std::int64_t now_ms = as_of_ms.value_or(unix_ms_now());
    const retention::cutoffs cut = retention::cutoffs_at(cfg.store.retention, now_ms);
    retention::removed sum;
    int passes = 0;
    for (;;) {
        auto pass = wait_for<retention::pass>(
            [&](event_store::callback<retention::pass> done) { store.retain(cut, 500, std::move(done)); });
        ++passes;
        if (!pass) {
            std::cerr << "switchboard store prune: the store refused a retention pass: " << pass.error().message()
                      << "\n";
            return 1;
        }
        sum += pass->rows;
        if (!pass->more) {
            break;
        }
    }
    std::cout << "removed: events " << sum.events << ", delivered " << sum.delivered << ", dead " << sum.dead
              << ", calls " << sum.calls << ", messages " << sum.messages << " (" << passes << " passes)\n";
    return 0;
}

bool sync_path(const std::string& path, int flags)
{
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
}

// `store restore FILE`: SQLite only, with the service stopped (its lock file is taken for the
// whole restore). FILE is checked first (integrity, schema version); the store it replaces is
// kept beside it as switchboard.db.before-restore-<time> (with its WAL), never deleted.
int restore(const config& cfg, const std::string& file)
{
    namespace fs = std::filesystem;
    if (cfg.store.redis) {
        std::cerr << "switchboard store restore: the configured store is Redis: restore it through Redis' own "
                     "persistence (its AOF directory or RDB file; README \"Data and capacity\")\n";
        return 2;
    }
    {
        sqlite3* db = nullptr;
        std::string verdict;
        std::int64_t version = -1;
        if (sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
            sqlite3_stmt* q = nullptr;
            if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, nullptr) == SQLITE_OK) {
                while (sqlite3_step(q) == SQLITE_ROW) {
                    verdict += (verdict.empty() ? "" : "; ")
                        + std::string(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
                }
            }
            sqlite3_finalize(q);
            if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, nullptr) == SQLITE_OK
                && sqlite3_step(q) == SQLITE_ROW) {
                version = sqlite3_column_int64(q, 0);
            }
            sqlite3_finalize(q);
        } else {
            verdict = sqlite3_errmsg(db);
        }
        sqlite3_close_v2(db);
        if (verdict != "ok") {
            std::cerr << "switchboard store restore: " << file << " is not an intact SQLite database: " << verdict
                      << "\n";
            return 1;
        }
        if (version < 1 || version > sqlite_store::schema_version) {
            std::cerr << "switchboard store restore: " << file << " has schema version " << version
                      << "; this build reads 1 to " << sqlite_store::schema_version << "\n";
            return 1;
        }
    }
    std::error_code ec;
    fs::create_directories(cfg.data_dir, ec);
    const fs::path target = fs::path(cfg.data_dir) / sqlite_store::file_name;
    const std::string lock_path = target.string() + ".lock";
    const int lock = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || ::flock(lock, LOCK_EX | LOCK_NB) != 0) {
        std::cerr << "switchboard store restore: the store " << target.string()
                  << " is in use by a running service (or " << lock_path << " cannot be opened): stop it first\n";
        if (lock >= 0) {
            ::close(lock);
        }
        return 2;
    }
    const auto fail = [&](const std::string& why) {
        std::cerr << "switchboard store restore: " << why << "\n";
        ::close(lock);
        return 1;
    };
    std::string kept;
    if (fs::exists(target, ec)) {
        kept = target.string() + ".before-restore-" + std::to_string(unix_ms_now() / 1000);
        for (const char* suffix : {"-wal", "-shm"}) {
            if (fs::exists(target.string() + suffix, ec)) {
                fs::rename(target.string() + suffix, kept + suffix, ec);
                if (ec) {
                    return fail("cannot move " + target.string() + suffix + " aside: " + ec.message());
                }
            }
        }
        fs::rename(target, kept, ec);
        if (ec) {
            return fail("cannot move " + target.string() + " aside: " + ec.message());
        }
    }
    const std::string partial = target.string() + ".restoring";
    fs::copy_file(file, partial, fs::copy_options::overwrite_existing, ec);
    if (ec || !sync_path(partial, O_RDONLY)) {
        fs::remove(partial, ec);
        return fail("cannot copy " + file + " into " + cfg.data_dir
            + (kept.empty() ? "" : " (the previous store is " + kept + ")"));
    }
    fs::rename(partial, target, ec);
    if (ec) {
        return fail("cannot put the copy in place: " + ec.message());
    }
    sync_path(cfg.data_dir, O_RDONLY | O_DIRECTORY);
    ::close(lock);
    std::cout << "restored " << file << " as " << target.string() << "\n";
    if (!kept.empty()) {
        std::cout << "the previous store is kept as " << kept << " (delete it when the restore is verified)\n";
    }
    std::cout << "next: switchboard store check, then start the service (deliveries in flight at the copy are pending "
                 "again)\n";
    return 0;
}

// `store export [--output FILE]`: the SQLite store as NDJSON (protocol/events/store_export.hpp),
// on standard output or into FILE (written as FILE.partial, renamed once complete).
int export_store(const config& cfg, const std::string& file)
{
    if (cfg.store.redis) {
        std::cerr << "switchboard store export: the configured store is Redis; export reads the SQLite store "
                     "(a Redis store moves with Redis' own replication or its AOF/RDB files)\n";
        return 2;
    }
    if (file.empty()) {
        return export_sqlite_store(cfg.data_dir, unix_ms_now(), std::cout, std::cerr);
    }
    const std::string partial = file + ".partial";
    int status = 2;
    {
        std::ofstream out(partial, std::ios::binary | std::ios::trunc);
        if (!out) {
            std::cerr << "switchboard store export: cannot write " << partial << ": " << std::strerror(errno) << "\n";
            return 2;
        }
        status = export_sqlite_store(cfg.data_dir, unix_ms_now(), out, std::cerr);
    }
    std::error_code ec;
    if (status != 0) {
        std::filesystem::remove(partial, ec);
        return status;
    }
    std::filesystem::rename(partial, file, ec);
    if (ec) {
        std::cerr << "switchboard store export: cannot rename " << partial << " to " << file << ": " << ec.message()
                  << "\n";
        return 2;
    }
    std::cerr << "exported the store to " << file << "\n";
    return 0;
}

// `store import FILE`: into the configured Redis store (the move from SQLite to Redis).
int import_store(const config& cfg, const std::string& file)
{
    if (!cfg.store.redis) {
        std::cerr << "switchboard store import: the configured store is SQLite; import writes into a Redis store "
                     "(SWITCHBOARD_STORE=redis://…). To copy a SQLite store, use backup and restore\n";
        return 2;
    }
    return import_into_redis(cfg.store.endpoint, cfg.store.key_prefix, file, std::cout, std::cerr);
}

} // namespace

int store_command(const std::vector<std::string>& args)
{
    if (args.empty()
        || (args[0] != "check" && args[0] != "prune" && args[0] != "restore" && args[0] != "export"
            && args[0] != "import")) {
        std::cerr << usage_text;
        return 2;
    }
    const std::string& command = args[0];
    load_options opts;
    std::optional<std::int64_t> as_of;
    std::string file;
    for (std::size_t i = 1; i < args.size(); ++i) {
        if ((command == "restore" || command == "import") && file.empty() && !args[i].starts_with("--")) {
            file = args[i];
        } else if (command == "export" && args[i] == "--output" && i + 1 < args.size()) {
            file = args[++i];
        } else if (args[i] == "--config" && i + 1 < args.size()) {
            opts.config_file = args[++i];
        } else if (command == "prune" && args[i] == "--as-of" && i + 1 < args.size()) {
            as_of = parse_timestamp(args[++i]);
            if (!as_of) {
                std::cerr << "switchboard store prune: --as-of: expected an RFC 3339 time such as "
                             "2027-01-31T00:00:00Z, got '"
                          << args[i] << "'\n";
                return 2;
            }
        } else {
            std::cerr << "switchboard store " << command << ": unexpected argument '" << args[i] << "'\n" << usage_text;
            return 2;
        }
    }
    opts.env_names = process_env_names();
    const env_lookup real = process_env();
    const env_lookup env = [real](const std::string& name) -> std::optional<std::string> {
        auto v = real(name);
        if (!v && name == "TWILIO_AUTH_TOKEN") {
            return std::string("store-command-needs-no-token");
        }
        return v;
    };
    const load_result loaded = load_config(env, opts);
    if (!loaded.errors.empty()) {
        std::cerr << "switchboard store " << command << ": invalid configuration:\n";
        for (const auto& e : loaded.errors) {
            std::cerr << "  " << e << "\n";
        }
        return 2;
    }
    const config& cfg = loaded.cfg;
    if (command == "restore") {
        if (file.empty()) {
            std::cerr << usage_text;
            return 2;
        }
        return restore(cfg, file);
    }
    if (command == "prune") {
        return prune(cfg, as_of);
    }
    if (command == "export") {
        return export_store(cfg, file);
    }
    if (command == "import") {
        if (file.empty()) {
            std::cerr << usage_text;
            return 2;
        }
        return import_store(cfg, file);
    }
    if (cfg.store.redis) {
        std::vector<std::string> names;
        for (const auto& s : cfg.subscribers) {
            names.push_back(s.name);
        }
        return check_redis_store(cfg.store.endpoint, cfg.store.key_prefix, names, std::cout, std::cerr);
    }
    return check_sqlite_store(cfg.data_dir, std::cout, std::cerr);
}

} // namespace switchboard
