// Paired measurement: several ways of doing the same reads take turns in
// short blocks of the same offsets, so that the host's drift (this suite
// runs on shared guests) falls on all of them alike. Separate benchmarks,
// seconds apart, differ by more than what the targets compare.
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
// offset (false if it failed).
struct PairedRead {
  const char* name;
  absl::FunctionRef<bool(uint64_t)> read;
};

// Each iteration of `state` runs every read of `reads` over the next
// `block` of `file`'s random offsets, in an order that rotates by one each
// iteration. Sets the counter NAME_ns of each to its wall time per read
// over the whole run, and the bytes per second of all of them together;
// ends the run with an error if a read fails.
void RunPaired(benchmark::State& state, const BenchFile& file,
               absl::Span<const PairedRead> reads, size_t block = 32);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_PAIRED_H_
