// The raw baselines every target is a ratio against: whole-file mmap, a
// loop of mmap'ed windows, read() and pread(), on the suite's file, with no
// manager (docs/performance.md, L2-L4, L9, L10).
//
// Thread-compatible; SharedMapping is thread-safe.

#ifndef SMMAP_TOOLS_BENCH_RAW_BASELINES_H_
#define SMMAP_TOOLS_BENCH_RAW_BASELINES_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "tools/bench/bench_file.h"

namespace smmap {
namespace bench {

// A read-only mapping of the whole of `file`, unmapped when destroyed.
class WholeMapping {
 public:
  explicit WholeMapping(const BenchFile& file);
  ~WholeMapping();
  WholeMapping(const WholeMapping&) = delete;
  WholeMapping& operator=(const WholeMapping&) = delete;

  // The mapping, or null if mmap failed.
  const uint8_t* data() const { return base_; }

 private:
  const uint64_t size_;
  const uint8_t* base_ = nullptr;
};

// One whole-file mapping shared by the threads of L10, made on first use
// and kept across a page-cache state's benchmarks.
class SharedMapping {
 public:
  explicit SharedMapping(const BenchFile& file) : file_(file) {}
  ~SharedMapping() { Reset(); }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;

  // The mapping, or null if mmap failed.
  const uint8_t* Get();
  // Unmaps it, so that the page cache can be reset.
  void Reset();

 private:
  const BenchFile& file_;
  absl::Mutex mu_;
  std::optional<WholeMapping> mapping_ ABSL_GUARDED_BY(mu_);
};

// scan/raw_mmap_whole, scan/raw_windows/{1048576,2097152,16777216},
// scan/read/131072,
// random4k/raw_mmap, random4k/pread and threads/random4k_raw_mmap.
void RegisterRawBaselines(Registrar& registrar, const BenchFile& file,
                          SharedMapping& shared);

// The window sweep's raw sides: sweep/window/raw_windows/W and
// sweep/window/read/W (a read() buffer of W bytes) for each W in `windows`.
void RegisterRawWindowSweep(Registrar& registrar, const BenchFile& file,
                            const std::vector<uint64_t>& windows);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_RAW_BASELINES_H_
