// `switchboard store export` for the SQLite store: every event with its delivery rows, the call
// and message log, the numbers and the totals, as protocol/events/store_export.hpp's NDJSON,
// read in one snapshot of <data_dir>/switchboard.db (read-only; beside a running service or
// without one).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

namespace switchboard {

// 0: written; 2: the store cannot be read (the reason on `err`).
int export_sqlite_store(const std::string& data_dir, std::int64_t now_ms, std::ostream& out, std::ostream& err);

} // namespace switchboard
