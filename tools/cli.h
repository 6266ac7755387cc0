// The smmap tool's command line, parsed once: the command, its arguments,
// the manager choice and the benchmark settings. Every flag is a row of one
// table (cli.cc), which also writes --help.
//
// Thread-safe (pure functions).

#ifndef SMMAP_TOOLS_CLI_H_
#define SMMAP_TOOLS_CLI_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tools/bench/suite.h"
#include "tools/common/manager_choice.h"

namespace smmap {
namespace tools {

struct Config {
  bool help = false;              // --help: print Usage() and exit 0
  std::string command;            // "scan", "cat" or "bench"
  std::vector<std::string> args;  // the command's operands

  // All commands: the manager.
  ManagerChoice manager;
  bool manager_given = false;  // a manager flag was given

  // bench: the suite's settings (the file is set by the command), the size
  // of the file it makes when none is given, and whether --quick lowered the
  // suite's defaults (applied once the whole command line is read, so that
  // an explicit --repetitions or --min-time wins wherever it stands).
  bench::SuiteConfig bench;
  uint64_t bench_size = 256 << 20;
  bool quick = false;
};

// InvalidArgument, with a message for the user, for an unknown command or
// flag, a malformed or empty value, a bench flag given to another command,
// or a missing command; --help anywhere wins. Flags take their value as
// --flag=VALUE or --flag VALUE (VALUE not starting with "--"); "--" ends
// the flags.
absl::StatusOr<Config> ParseCommandLine(int argc, char** argv);

// The --help text.
std::string Usage();

// A usage error: the message and a hint to stderr; returns 2.
int UsageError(absl::string_view message);

// A runtime error: one line naming the command, the file and the reason
// (with its status code) to stderr; returns 1.
int RuntimeError(absl::string_view command, absl::string_view file,
                 const absl::Status& status);

}  // namespace tools
}  // namespace smmap

#endif  // SMMAP_TOOLS_CLI_H_
