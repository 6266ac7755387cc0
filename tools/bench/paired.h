// Paired measurement: several ways of reading take turns in short blocks
// of random offsets, so that the host's drift (this suite runs on shared
// guests) falls on all of them alike. Separate benchmarks, seconds apart,
// differ by more than what the targets compare.
//
// Thread-compatible.

#ifndef SMMAP_TOOLS_BENCH_PAIRED_H_
#define SMMAP_TOOLS_BENCH_PAIRED_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/types/span.h"
#include "benchmark/benchmark.h"
#include "tools/bench/bench_file.h"

namespace smmap {
namespace bench {

// One way of reading: its counter's prefix, and a read of 4 KiB at a file
// offset (false if it failed). `read` refers to a callable that must
// outlive the RunPaired() call (a named lambda, not a temporary).
struct PairedRead {
  const char* name;
  absl::FunctionRef<bool(uint64_t)> read;
};

// Which offsets the ways read in one round.
enum class PairedOffsets {
  // The same block for all: the pairing is closest, but every way after
  // the first finds the block's bytes in the CPU's caches. For reads whose
  // cost is system calls and page faults (T7), which the bytes' being
  // cached does not change.
  kShared,
  // A block of its own for each. For reads whose cost is the bytes (T4).
  kOwn,
};

// Each iteration of `state` runs every read of `reads` over the next
// `block` of `file`'s random offsets, in an order that rotates by one each
// iteration (so that each way comes first as often as the others). Sets
// the counter NAME_ns of each to its wall time per read over the whole
// run, and the bytes per second of all of them together; ends the run
// with an error if a read fails.
void RunPaired(benchmark::State& state, const BenchFile& file,
               absl::Span<const PairedRead> reads, PairedOffsets offsets,
               size_t block = 32);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_PAIRED_H_
