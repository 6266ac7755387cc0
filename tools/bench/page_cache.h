// Benchmark files and the page-cache state they are measured in.
//
// On recent kernels a file read sequentially sits in the page cache as large
// folios (2 MiB), which 2 MiB-aligned mappings map with one page-table entry
// per fault; a file read randomly sits as 4 KiB folios. Results differ 2-4x
// (docs/performance.md), so benchmarks set the state explicitly and report it.
//
// Thread-compatible.

#ifndef SMMAP_TOOLS_BENCH_PAGE_CACHE_H_
#define SMMAP_TOOLS_BENCH_PAGE_CACHE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smmap {
namespace bench {

enum class CacheState {
  kLargeFolio,  // dropped, then read sequentially
  kSmallFolio,  // dropped, then read page by page in random order
};

absl::string_view CacheStateName(CacheState state);

// Creates `path` with `size` pseudo-random bytes (deterministic), unless it
// already exists with that size.
absl::Status MakeBenchFile(const std::string& path, uint64_t size);

// Drops `path` from the page cache and reads it back in the given way.
absl::Status SetCacheState(const std::string& path, CacheState state);

// The fraction of `path`'s pages resident in the page cache (mincore).
absl::StatusOr<double> ResidentFraction(const std::string& path);

// "nproc=2, kernel 6.1.0, AMD EPYC ..." for reports.
std::string MachineDescription();

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_PAGE_CACHE_H_
