// smmap bench [FILE]: the benchmark suite (tools/bench/suite.h) on FILE, or
// on a file of --size bytes made in a temporary directory and removed after.

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "tools/bench/page_cache.h"
#include "tools/bench/suite.h"
#include "tools/cli.h"
#include "tools/commands.h"

namespace smmap {
namespace tools {

int BenchCommand(const Config& config) {
  if (config.args.size() > 1) return UsageError("bench takes at most one FILE");
  bench::SuiteConfig suite;
  std::string dir;
  if (config.args.size() == 1) {
    suite.path = config.args[0];
  } else {
    char pattern[] = "/var/tmp/smmap-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      return RuntimeError("bench", pattern,
                          absl::ErrnoToStatus(errno, "mkdtemp"));
    }
    dir = pattern;
    suite.path = dir + "/smmap-bench.bin";
    std::printf("Making %s...\n", suite.path.c_str());
    std::fflush(stdout);
    absl::Status made = bench::MakeBenchFile(suite.path, config.bench_size);
    if (!made.ok()) {
      ::unlink(suite.path.c_str());
      ::rmdir(dir.c_str());
      return RuntimeError("bench", suite.path, made);
    }
  }
  absl::Cleanup remove = [&] {
    if (!dir.empty()) {
      ::unlink(suite.path.c_str());
      ::rmdir(dir.c_str());
    }
  };
  suite.states = config.states;
  suite.repetitions = config.repetitions.value_or(config.quick ? 1 : 3);
  suite.min_time_s = config.min_time_s.value_or(config.quick ? 0.05 : 0.2);
  suite.filter = config.filter;
  suite.t6 = config.t6 && !config.quick;
  suite.t9 = config.t9 && !config.quick;
  suite.t10 = config.t10;
  suite.sweeps = config.sweeps;
  if (config.manager_given) suite.user = config.manager;
  suite.verbose = config.verbose;
  suite.rows_path = config.rows_path;
  suite.json_path = config.json_path;
  suite.list = config.list;
  return bench::RunSuite(suite);
}

}  // namespace tools
}  // namespace smmap
