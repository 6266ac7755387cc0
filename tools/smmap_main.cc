// The smmap command-line tool: scan, cat and benchmark files through smmap.
//
//   smmap scan FILE                 checksum, throughput and statistics
//   smmap cat FILE [OFFSET [LENGTH]]
//   smmap bench [FILE]              the library against raw baselines
//
// Run `smmap --help` for the options (tools/cli.cc).

#include <cstdio>
#include <string>

#include "absl/status/statusor.h"
#include "tools/cli.h"
#include "tools/commands.h"

int main(int argc, char** argv) {
  namespace tools = smmap::tools;
  absl::StatusOr<tools::Config> config = tools::ParseCommandLine(argc, argv);
  if (!config.ok()) return tools::UsageError(config.status().message());
  if (config->help) {
    std::fputs(tools::Usage().c_str(), stdout);
    return 0;
  }
  if (config->command == "scan") return tools::ScanCommand(*config);
  if (config->command == "cat") return tools::CatCommand(*config);
  return tools::BenchCommand(*config);
}
