// `switchboard store check` for the SQLite store: opens <data_dir>/switchboard.db read-only
// (beside a running service, or with none) and reports its schema version, SQLite's integrity
// check, the rows of every table and the delivery states, and the file sizes, one fact per line.
#pragma once

#include <ostream>
#include <string>

namespace switchboard {

// 0: intact and of a schema this build reads; 1: integrity problems or a newer schema; 2: the
// file cannot be opened (the reason on `err`).
int check_sqlite_store(const std::string& data_dir, std::ostream& out, std::ostream& err);

} // namespace switchboard
