// smmap bench [FILE]: the benchmark suite (tools/bench/suite.h) on FILE, or
// on a file of --size bytes made in a temporary directory and removed after.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
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
  bench::SuiteConfig suite = config.bench;
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
    if (!suite.list) {
      std::printf("Making %s...\n", suite.path.c_str());
      std::fflush(stdout);
    }
  }
  absl::Cleanup remove = [&] {
    if (!dir.empty()) {
      ::unlink(suite.path.c_str());
      ::rmdir(dir.c_str());
    }
  };
  if (!dir.empty()) {
    // --list needs no more than the smallest file the suite takes.
    const uint64_t size = suite.list ? 16 << 20 : config.bench_size;
    absl::Status made = bench::MakeBenchFile(suite.path, size);
    if (!made.ok()) return RuntimeError("bench", suite.path, made);
  }
  if (config.manager_given) suite.user = config.manager;
  return bench::RunSuite(suite);
}

}  // namespace tools
}  // namespace smmap
