// smmap's benchmark suite: the library and the raw baselines it must
// approach, on the same file in the same process run, in stated page-cache
// states. Prints the machine, each page-cache state and the targets table
// of docs/performance.md (medians over repetitions); the per-benchmark rows
// of Google Benchmark go to a file or, verbose, to stdout; --json writes
// every figure. `smmap bench` (tools/bench_command.cc) is its command line.
//
// Not thread-safe (one suite per process: Google Benchmark's registry is
// global).

#ifndef SMMAP_TOOLS_BENCH_SUITE_H_
#define SMMAP_TOOLS_BENCH_SUITE_H_

#include <optional>
#include <string>
#include <vector>

#include "tools/bench/bench_file.h"
#include "tools/bench/library_benchmarks.h"
#include "tools/bench/page_cache.h"
#include "tools/bench/raw_baselines.h"
#include "tools/common/manager_choice.h"

namespace smmap {
namespace bench {

struct SuiteConfig {
  std::string path;  // the file measured, at least 16 MiB
  std::vector<CacheState> states = {CacheState::kLargeFolio,
                                    CacheState::kSmallFolio};
  int repetitions = 3;      // per benchmark; figures are medians
  double min_time_s = 0.2;  // per repetition
  std::string filter;       // a regex of benchmark names; empty: all
  // The measurements that are not Google Benchmark benchmarks (filter does
  // not reach them): T6 threads against processes, T9 against Python, T10
  // and T11 hits and misses side by side. Large-folio state only.
  bool t6 = true;
  bool t9 = true;
  bool t10 = true;
  // The sweeps behind BENCHMARKS.md's pictures: scans against window size
  // (64 KiB to 1 GiB) and random reads against budget / file size.
  bool sweeps = false;
  // A sliding scan with a caller's manager, as scan/sliding_user.
  std::optional<tools::ManagerChoice> user;
  bool verbose = false;   // rows to stdout
  std::string rows_path;  // else rows here (empty: a new file under /tmp)
  std::string json_path;  // empty: no JSON
  bool list = false;      // print the benchmarks' names, measure nothing
};

// Runs the suite; returns a process exit code (0, or 1 on errors, which it
// prints).
int RunSuite(const SuiteConfig& config);

// Registers the benchmarks of `config` on `file` with Google Benchmark
// (RunSuite's first step; for tests) and returns their names. They point at
// `file`, `mapping` and `manager`: call benchmark::ClearRegisteredBenchmarks()
// before those go.
std::vector<std::string> RegisterSuite(const SuiteConfig& config,
                                       const BenchFile& file,
                                       SharedMapping& mapping,
                                       SharedManager& manager);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_SUITE_H_
