#include "tools/bench/churn.h"

#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "smmap/smmap.h"
#include "tools/bench/paired.h"
#include "tools/bench/raw_windows.h"
#include "tools/common/scan.h"

namespace smmap {
namespace bench {
namespace {

using tools::XorScan;

// Raw reads of 4 KiB through mappings of the kChurnWindow-long window (on
// the window/2 grid, as the manager's) that holds each offset, cached as
// `capacity` mappings at most.
class RawCache {
 public:
  RawCache(const BenchFile& file, size_t capacity,
           RawWindows::Eviction eviction = RawWindows::Eviction::kUnmap)
      : windows_(file.path, file.size, kChurnWindow, kChurnWindow / 2, capacity,
                 eviction) {}
  bool Read(uint64_t ofs) { return windows_.Read(ofs, 4 * kKiB); }

 private:
  RawWindows windows_;
};

// As many windows as `budget` holds, within vm.max_map_count (65530 by
// default) with room to spare.
size_t RingCapacity(uint64_t budget) {
  return static_cast<size_t>(std::min<uint64_t>(budget / kChurnWindow, 60000));
}

// Reads 4 KiB at `ofs` through a fixed cursor of `mman`; false on failure.
bool CursorRead(MemmapManager& mman, const BenchFile& file, uint64_t ofs) {
  auto c = mman.MakeCursor(file.path, ofs, 4 * kKiB);
  if (!c.ok()) return false;
  benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
  return true;
}

// T8 (and T7's throughput): random 4 KiB reads through fixed cursors under
// a budget of 16 windows over the whole file.
void ChurnFixedCursor(benchmark::State& state, const BenchFile& file,
                      bool hard) {
  ManagerOptions options = ChurnOptions(kChurnBudget);
  options.hard_limits = hard;
  auto mman = TilingMemmapManager::Create(options);
  if (!mman.ok()) return Fail(state, mman.status());
  size_t k = 0;
  for (auto _ : state) {
    if (!CursorRead(**mman, file, file.RandomOffset(k++))) {
      return state.SkipWithError("a churn read failed");
    }
  }
  const ManagerStats stats = (*mman)->stats();
  state.counters["miss_ratio"] =
      static_cast<double>(stats.cursor_misses) /
      static_cast<double>(stats.cursor_misses + stats.cursor_hits);
  state.counters["peak_over_budget"] =
      static_cast<double>(stats.peak_mapped_bytes) -
      static_cast<double>(kChurnBudget);
  SetBytes(state, 4 * kKiB);
}

// T7, paired (RunPaired()): the raw loop, two raw rings of cached mappings
// (one unmapping its oldest, one mapping over it, as the manager does) and
// the manager, default and with immutable_files, taking turns.
void ChurnPaired(benchmark::State& state, const BenchFile& file) {
  auto soft = TilingMemmapManager::Create(ChurnOptions(kChurnBudget));
  ManagerOptions immutable_options = ChurnOptions(kChurnBudget);
  immutable_options.immutable_files = true;
  auto immutable = TilingMemmapManager::Create(immutable_options);
  if (!soft.ok()) return Fail(state, soft.status());
  if (!immutable.ok()) return Fail(state, immutable.status());
  RawCache raw(file, 0);
  RawCache ring(file, kChurnBudget / kChurnWindow);
  RawCache ring_over(file, kChurnBudget / kChurnWindow,
                     RawWindows::Eviction::kMapOver);
  auto raw_read = [&raw](uint64_t ofs) { return raw.Read(ofs); };
  auto ring_read = [&ring](uint64_t ofs) { return ring.Read(ofs); };
  auto ring_over_read = [&ring_over](uint64_t ofs) {
    return ring_over.Read(ofs);
  };
  auto soft_read = [&](uint64_t ofs) { return CursorRead(**soft, file, ofs); };
  auto immutable_read = [&](uint64_t ofs) {
    return CursorRead(**immutable, file, ofs);
  };
  const PairedRead reads[] = {{"raw", raw_read},
                              {"raw_ring", ring_read},
                              {"raw_ring_over", ring_over_read},
                              {"soft", soft_read},
                              {"immutable", immutable_read}};
  RunPaired(state, file, reads, PairedOffsets::kShared);
}

// One side of the churn curve: random 4 KiB reads through `read`.
template <typename ReadFn>
void ChurnCurvePoint(benchmark::State& state, const BenchFile& file,
                     ReadFn read) {
  for (uint64_t o : file.random_offsets) {  // settle the cache first
    if (!read(o)) return state.SkipWithError("a churn read failed");
  }
  size_t k = 0;
  for (auto _ : state) {
    if (!read(file.RandomOffset(k++))) {
      return state.SkipWithError("a churn read failed");
    }
  }
  SetBytes(state, 4 * kKiB);
}

}  // namespace

ManagerOptions ChurnOptions(uint64_t budget) {
  ManagerOptions options;
  options.window_size = kChurnWindow;
  options.max_memory_size = budget;
  return options;
}

void RegisterChurn(Registrar& registrar, const BenchFile& file) {
  const BenchFile* f = &file;
  registrar.Add("churn/fixed_cursor/soft", [f](benchmark::State& s) {
    ChurnFixedCursor(s, *f, /*hard=*/false);
  });
  registrar.Add("churn/fixed_cursor/hard", [f](benchmark::State& s) {
    ChurnFixedCursor(s, *f, /*hard=*/true);
  });
  registrar.Add("churn/paired",
                [f](benchmark::State& s) { ChurnPaired(s, *f); });
}

void RegisterChurnCurve(Registrar& registrar, const BenchFile& file,
                        const std::vector<uint64_t>& divisors) {
  const BenchFile* f = &file;
  registrar.Add("sweep/churn/raw_map_unmap", [f](benchmark::State& s) {
    RawCache raw(*f, 0);
    ChurnCurvePoint(s, *f, [&raw](uint64_t o) { return raw.Read(o); });
  });
  for (uint64_t d : divisors) {
    const uint64_t budget = std::max(kChurnWindow, f->size / d);
    registrar.Add(
        absl::StrCat("sweep/churn/manager/", d),
        [f, budget](benchmark::State& s) {
          auto mman = TilingMemmapManager::Create(ChurnOptions(budget));
          if (!mman.ok()) return Fail(s, mman.status());
          ChurnCurvePoint(
              s, *f, [&](uint64_t o) { return CursorRead(**mman, *f, o); });
        });
    registrar.Add(absl::StrCat("sweep/churn/raw_ring/", d),
                  [f, budget](benchmark::State& s) {
                    RawCache ring(*f, RingCapacity(budget));
                    ChurnCurvePoint(
                        s, *f, [&ring](uint64_t o) { return ring.Read(o); });
                  });
  }
}

double BookkeepingBytesPerRegion(const BenchFile& file) {
  constexpr uint64_t kRegions = 20000;
  if (kRegions * 2 * file.page > file.size) return NAN;
  ManagerOptions options;
  options.window_size = 2 * file.page;
  options.max_memory_size = uint64_t{1} << 40;
  auto mman = TilingMemmapManager::Create(options);
  if (!mman.ok()) return NAN;
  const size_t before = ::mallinfo2().uordblks;
  for (uint64_t i = 0; i < kRegions; ++i) {
    if (!(*mman)->MakeCursor(file.path, 2 * i * file.page, 1).ok()) return NAN;
  }
  const size_t after = ::mallinfo2().uordblks;
  return static_cast<double>(after - before) / static_cast<double>(kRegions);
}

}  // namespace bench
}  // namespace smmap
