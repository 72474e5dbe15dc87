// The SQLite store's connection layer: prepared statements, one connection (write or read)
// with its schema migrations, the call and message log's rows, and the operation type the
// writer and reader threads run. Internal to service/store/sqlite/.
#pragma once

#include "protocol/core/error.hpp"
#include "protocol/events/records.hpp"
#include "service/store/event_store.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace switchboard::sqlite {

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

// The call and message log rows. Their columns hold a protocol/events/records.hpp record as it
// is: every rule of how it changes is there, none here.
extern const char* const call_columns;
extern const char* const message_columns;
call_record read_call(const statement& q);
message_record read_message(const statement& q);

class database {
public:
    enum class mode { write, read };

    // Opens (and for `write`, creates and migrates) the database at `path`. Throws
    // std::runtime_error naming the file and the reason.
    // `subs`: what appends fan out to, shared by the writer and the read connection (null: none).
    database(const std::string& path, std::shared_ptr<subscription_set> subs, mode m = mode::write);
    ~database();
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    void exec(const char* sql); // throws sql_error
    // A prepared statement, kept for the connection's life (keyed by the text's address).
    statement& sql(const char* text);

    std::int64_t changes() const { return sqlite3_changes64(db_); }
    std::int64_t last_rowid() const { return sqlite3_last_insert_rowid(db_); }
    subscription_set::snapshot subscriptions() const { return subs_->current(); }
    const std::shared_ptr<subscription_set>& shared_subscriptions() const { return subs_; }
    sqlite3* handle() const noexcept { return db_; }
    bool knows(const std::string& subscriber) const { return subs_->knows(subscriber); }

private:
    void migrate(const std::string& path);
    void enable_auto_vacuum(const std::string& path);
    void backfill_billed_minutes();
    void backfill_totals();

    sqlite3* db_ = nullptr;
    std::map<const char*, std::unique_ptr<statement>> cache_;
    std::shared_ptr<subscription_set> subs_;
};

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

// The rows of the store's tables, as the capacity gauges and `store check` report them.
struct row_counts {
    std::int64_t events = 0;
    std::int64_t deliveries = 0;
    std::int64_t calls = 0;
    std::int64_t messages = 0;
};
row_counts count_rows(database& db);

// A consistent copy of the database `source` reads (its snapshot: the writer goes on), written
// to `dest` with SQLite's online backup API and fsynced. Returns its size in bytes; throws
// sql_error.
std::int64_t backup(database& source, const std::string& dest);

} // namespace switchboard::sqlite
