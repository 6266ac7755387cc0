// LRU churn: random 4 KiB reads through fixed cursors under a budget far
// below the file, so that nearly every read maps a region and evicts one
// (docs/performance.md, T7, T8), against raw loops that map the same
// windows themselves; and the churn curve, random reads against the budget
// as a fraction of the file.
//
// Thread-compatible.

#ifndef SMMAP_TOOLS_BENCH_CHURN_H_
#define SMMAP_TOOLS_BENCH_CHURN_H_

#include <cstdint>
#include <vector>

#include "smmap/options.h"
#include "tools/bench/bench_file.h"

namespace smmap {
namespace bench {

// The churn benchmarks' window and budget (16 windows).
inline constexpr uint64_t kChurnWindow = 64 * kKiB;
inline constexpr uint64_t kChurnBudget = 1024 * kKiB;

// A tiling manager's options with kChurnWindow windows and `budget` bytes.
ManagerOptions ChurnOptions(uint64_t budget);

// churn/fixed_cursor/{soft,hard} (counters miss_ratio, peak_over_budget)
// and churn/paired (counters raw_ns, raw_ring_ns, raw_ring_over_ns,
// soft_ns, immutable_ns: each kind's wall time per read, the kinds taking
// turns; raw_ring is the raw cache of 16 mappings that the curve's raw side
// uses, raw_ring_over the same mapping each new window over its oldest, as
// the manager does).
void RegisterChurn(Registrar& registrar, const BenchFile& file);

// The churn curve, for each budget of max(kChurnWindow, file.size / d), d
// in `divisors`: sweep/churn/manager/d (a manager with kChurnWindow windows
// and that budget) and sweep/churn/raw_ring/d (a raw cache of as many
// mappings of those windows, at most 60000, evicted first in first out,
// with no bookkeeping but a hash map); and sweep/churn/raw_map_unmap (map,
// read and unmap each read's window: no cache).
void RegisterChurnCurve(Registrar& registrar, const BenchFile& file,
                        const std::vector<uint64_t>& divisors);

// T8: heap bytes per cached region (regions of two pages each); NaN if the
// file is too small or a cursor fails.
double BookkeepingBytesPerRegion(const BenchFile& file);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_CHURN_H_
