#include "tools/bench/threads_vs_processes.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"
#include "smmap/smmap.h"
#include "tools/common/scan.h"

namespace smmap {
namespace bench {
namespace {

// Scans half `half` (0 or 1) of the file `passes` times through `mman`;
// false on failure.
bool ScanHalf(MemmapManager& mman, const BenchFile& file, int half,
              int passes) {
  const uint64_t mid = file.size / 2;
  const uint64_t begin = half == 0 ? 0 : mid;
  const uint64_t size = half == 0 ? mid : file.size - mid;
  for (int pass = 0; pass < passes; ++pass) {
    absl::StatusOr<SlidingCursor> cursor =
        mman.MakeSlidingCursor(file.path, begin, size);
    if (!cursor.ok()) return false;
    absl::StatusOr<uint64_t> x = tools::ScanRange(*cursor, 0, size);
    if (!x.ok()) return false;
    benchmark::DoNotOptimize(*x);
  }
  return true;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

void Measure(const BenchFile& file, const ManagerOptions& options, int passes,
             int trials, const std::string& name, Figures& figures) {
  std::vector<double> threads_s, processes_s;
  for (int trial = 0; trial < trials; ++trial) {
    auto start = std::chrono::steady_clock::now();
    {
      auto mman = TilingMemmapManager::Create(options);
      if (!mman.ok()) return;
      bool other_ok = false;
      std::thread other([&] { other_ok = ScanHalf(**mman, file, 1, passes); });
      const bool ok = ScanHalf(**mman, file, 0, passes);
      other.join();
      if (!ok || !other_ok) return;  // no figure: the row reads n/a
    }
    threads_s.push_back(SecondsSince(start));

    start = std::chrono::steady_clock::now();
    pid_t children[2];
    for (int half = 0; half < 2; ++half) {
      children[half] = ::fork();
      if (children[half] == 0) {
        auto mman = TilingMemmapManager::Create(options);
        ::_exit(mman.ok() && ScanHalf(**mman, file, half, passes) ? 0 : 1);
      }
    }
    bool ok = true;
    for (pid_t child : children) {
      int status = 0;
      const bool waited = child > 0 && ::waitpid(child, &status, 0) == child;
      ok = ok && waited && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    if (!ok) return;
    processes_s.push_back(SecondsSince(start));
  }
  figures.Set(name + ".threads_s", Median(threads_s));
  figures.Set(name + ".processes_s", Median(processes_s));
}

}  // namespace

void MeasureThreadsAgainstProcesses(const BenchFile& file, int passes,
                                    int trials, Figures& figures) {
  Measure(file, ManagerOptions(), passes, trials, "t6/default", figures);
  ManagerOptions churn;
  churn.window_size = 4 * kMiB;       // regions of 4 MiB, one every 2 MiB
  churn.max_memory_size = 16 * kMiB;  // far below the file: constant eviction
  Measure(file, churn, passes, trials, "t6/churn", figures);
}

}  // namespace bench
}  // namespace smmap
