// smmap's benchmark suite: the library and the raw baselines it must
// approach, on the same file in the same process run, in a stated
// page-cache state. Prints Google Benchmark's results, then a table of
// ratios against the targets of docs/performance.md (medians over repetitions).
//
// Flags (besides Google Benchmark's own):
//   --file=PATH     the file to read (default: a file of --size bytes made
//                   under --dir and kept for later runs)
//   --size=1G       size of the default file
//   --dir=/var/tmp  where the default file is made
//   --cache=large,small  page-cache states to measure
//   --no_t6         skip the threads-against-processes measurement
//   --no_t9         skip the comparison with the Python library
//   --no_t10        skip the hits-beside-misses measurements (T10, T11)
//
// Not thread-safe (one suite per process).

#ifndef SMMAP_TOOLS_BENCH_SUITE_H_
#define SMMAP_TOOLS_BENCH_SUITE_H_

#include <memory>

#include "absl/status/statusor.h"
#include "smmap/manager.h"
#include "smmap/options.h"

namespace smmap {
namespace bench {

// A caller's manager options, measured as one more sliding scan.
struct UserScan {
  bool greedy = false;
  ManagerOptions options;
};

// A greedy or tiling manager with `scan.options`.
absl::StatusOr<std::unique_ptr<MemmapManager>> MakeManager(
    const UserScan& scan);

// Runs the suite with command-line flags `argv`; `user` (may be null) adds
// a scan with those options. Returns a process exit code.
int RunSuite(int argc, char** argv, const UserScan* user);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_SUITE_H_
