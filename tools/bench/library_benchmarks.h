// smmap's side of the targets: sliding scans, cursor creation on cached
// regions, random reads through fixed and sliding cursors, and the same by
// two threads of one manager (docs/performance.md, T1-T5, T9).
//
// Thread-compatible; SharedManager is thread-safe.

#ifndef SMMAP_TOOLS_BENCH_LIBRARY_BENCHMARKS_H_
#define SMMAP_TOOLS_BENCH_LIBRARY_BENCHMARKS_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "smmap/smmap.h"
#include "tools/bench/bench_file.h"
#include "tools/common/manager_choice.h"

namespace smmap {
namespace bench {

// One manager with default options shared by the threads of T5, its
// regions mapped on first use and kept warm across a page-cache state's
// benchmarks.
class SharedManager {
 public:
  explicit SharedManager(const BenchFile& file) : file_(file) {}
  SharedManager(const SharedManager&) = delete;
  SharedManager& operator=(const SharedManager&) = delete;

  TilingMemmapManager& Get();
  // Drops the manager, so that nothing of the file stays mapped.
  void Reset();

 private:
  const BenchFile& file_;
  absl::Mutex mu_;
  std::unique_ptr<TilingMemmapManager> manager_ ABSL_GUARDED_BY(mu_);
};

// The largest number of cached regions T3 measures: as many as the file
// and vm.max_map_count (65530 by default) allow, up to 60000.
uint64_t MostCachedRegions(const BenchFile& file);

// scan/sliding/{default,4M,32M,default+populate,32M+populate},
// scan/sliding_copy,
// scan/sliding_user (with `user`'s options, if given),
// cursor/fixed_cached/{100,10000,most} (counter: regions),
// random4k/paired (counters raw_mmap_ns, pread_ns, fixed_cursor_ns,
// sliding_cursor_ns: each one's wall time per read, taking turns) and
// threads/random4k_{fixed,sliding}.
void RegisterLibraryBenchmarks(Registrar& registrar, const BenchFile& file,
                               SharedManager& shared,
                               const std::optional<tools::ManagerChoice>& user);

// The window sweep's smmap side: sweep/window/sliding/W, a sliding scan of
// a manager with window_size W, for each W in `windows`.
void RegisterSlidingWindowSweep(Registrar& registrar, const BenchFile& file,
                                const std::vector<uint64_t>& windows);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_LIBRARY_BENCHMARKS_H_
