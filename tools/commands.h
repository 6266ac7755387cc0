// The smmap tool's commands, one file each (scan_command.cc, cat_command.cc,
// bench_command.cc). Each takes the parsed command line and returns the
// process's exit code: 0, 1 on errors (one line on stderr naming the file
// and the reason), 2 on bad usage.

#ifndef SMMAP_TOOLS_COMMANDS_H_
#define SMMAP_TOOLS_COMMANDS_H_

#include "tools/cli.h"

namespace smmap {
namespace tools {

int ScanCommand(const Config& config);
int CatCommand(const Config& config);
int BenchCommand(const Config& config);

}  // namespace tools
}  // namespace smmap

#endif  // SMMAP_TOOLS_COMMANDS_H_
