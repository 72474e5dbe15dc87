// Command-line entry points: serve (default), sign, help, version.
#pragma once

namespace switchboard {

int run_cli(int argc, char** argv);

} // namespace switchboard
