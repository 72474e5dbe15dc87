// Command-line entry points: serve (default), sign, help, version.
#pragma once

#include <optional>
#include <string>

namespace switchboard {

int run_cli(int argc, char** argv);

// An auth token from FILE's first line, or from standard input for "-" (so it never appears in
// the process list, as an argument would); trailing whitespace trimmed. nullopt: unreadable or empty.
std::optional<std::string> read_token(const std::string& file);

} // namespace switchboard
