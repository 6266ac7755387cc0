// What a miss costs, counted rather than timed: a count of instructions
// does not drift from run to run as wall time does on a shared guest.
//
//   miss_loop FILE N soft|immutable|ring|hit
//
// makes N random 4 KiB reads of FILE (at least 16 MiB) that nearly all
// miss: through a manager with the churn benchmarks' 64 KiB windows and
// 1 MiB budget (soft: the default, which re-examines the file before each
// new region; immutable: with immutable_files), or through the raw ring of
// as many mappings and no manager (ring). Run it under
//
//   valgrind --tool=callgrind miss_loop FILE N MODE
//
// (built with --config=opt: bazel-bin/tools/bench/miss_loop) for two
// values of N: the difference in instructions over the difference in N is
// the cost of one read, without the start-up. Between immutable and ring,
// it is what the manager adds to each miss in user space (valgrind does not
// count the kernel's work, the same munmap, mmap and page fault for both);
// soft also makes an lseek per miss. hit reads the same way from the first
// 512 KiB only, whose regions all fit in the budget and stay cached: after
// at most 16 misses, the cost of a cursor made and released on a cached
// region (T3's), with no system call. Prints the reads, the manager's hits
// and misses, and the wall time per read.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/numbers.h"
#include "benchmark/benchmark.h"
#include "smmap/smmap.h"
#include "tools/bench/bench_file.h"
#include "tools/bench/churn.h"
#include "tools/bench/raw_windows.h"
#include "tools/common/scan.h"

namespace smmap {
namespace bench {
namespace {

int Usage() {
  std::fprintf(stderr,
               "usage: miss_loop FILE N soft|immutable|ring|hit (N > 0)\n");
  return 2;
}

int Run(const std::string& path, uint64_t n, const std::string& mode) {
  const bool ring = mode == "ring";
  const bool hit = mode == "hit";
  if (n == 0 || (!ring && !hit && mode != "soft" && mode != "immutable")) {
    return Usage();
  }
  absl::StatusOr<BenchFile> file = BenchFile::Open(path);
  if (!file.ok()) {
    std::fprintf(stderr, "miss_loop: %s\n",
                 std::string(file.status().message()).c_str());
    return 1;
  }
  ManagerOptions options = ChurnOptions(kChurnBudget);
  options.immutable_files = mode == "immutable";
  absl::StatusOr<std::unique_ptr<TilingMemmapManager>> created =
      TilingMemmapManager::Create(options);
  if (!created.ok()) {
    std::fprintf(stderr, "miss_loop: %s\n",
                 std::string(created.status().message()).c_str());
    return 1;
  }
  TilingMemmapManager& mman = **created;
  RawWindows raw(file->path, file->size, kChurnWindow, kChurnWindow / 2,
                 kChurnBudget / kChurnWindow);
  const auto t0 = std::chrono::steady_clock::now();
  for (uint64_t k = 0; k < n; ++k) {
    const uint64_t ofs = hit ? file->RandomOffset(k) % (8 * kChurnWindow)
                             : file->RandomOffset(k);
    if (ring) {
      if (!raw.Read(ofs, 4 * kKiB)) {
        std::fprintf(stderr, "miss_loop: mmap at %llu failed\n",
                     static_cast<unsigned long long>(ofs));
        return 1;
      }
      continue;
    }
    absl::StatusOr<FixedCursor> c = mman.MakeCursor(file->path, ofs, 4 * kKiB);
    if (!c.ok()) {
      std::fprintf(stderr, "miss_loop: %s\n",
                   std::string(c.status().message()).c_str());
      return 1;
    }
    benchmark::DoNotOptimize(tools::XorScan(c->buffer().data(), c->size()));
  }
  const double ns = std::chrono::duration<double, std::nano>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
  const ManagerStats stats = mman.stats();
  std::printf("%llu reads (%s): %llu hits, %llu misses, %.0f ns a read\n",
              static_cast<unsigned long long>(n), mode.c_str(),
              static_cast<unsigned long long>(stats.cursor_hits),
              static_cast<unsigned long long>(stats.cursor_misses),
              ns / static_cast<double>(n));
  return 0;
}

}  // namespace
}  // namespace bench
}  // namespace smmap

int main(int argc, char** argv) {
  uint64_t n = 0;
  if (argc != 4 || !absl::SimpleAtoi(argv[2], &n)) {
    return smmap::bench::Usage();
  }
  return smmap::bench::Run(argv[1], n, argv[3]);
}
