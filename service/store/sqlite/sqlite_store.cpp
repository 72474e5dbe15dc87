// The SQLite event store's life: the lock file, opening, the writability check at start-up,
// starting and stopping its threads (sqlite_pipeline.hpp).
#include "service/store/sqlite/sqlite_store.hpp"

#include "service/store/sqlite/sqlite_pipeline.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace switchboard {

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

} // namespace switchboard
