#include "tools/bench/paired.h"

#include <chrono>
#include <cstddef>
#include <vector>

#include "absl/strings/str_cat.h"

namespace smmap {
namespace bench {

void RunPaired(benchmark::State& state, const BenchFile& file,
               absl::Span<const PairedRead> reads, PairedOffsets offsets,
               size_t block) {
  const size_t kinds = reads.size();
  std::vector<double> wall_ns(kinds, 0.0);
  size_t first = 0;
  size_t rounds = 0;
  for (auto _ : state) {
    for (size_t turn = 0; turn < kinds; ++turn) {
      const size_t kind = (rounds + turn) % kinds;
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t k = first; k < first + block; ++k) {
        if (!reads[kind].read(file.RandomOffset(k))) {
          return state.SkipWithError(
              absl::StrCat("a paired read (", reads[kind].name, ") failed")
                  .c_str());
        }
      }
      wall_ns[kind] += std::chrono::duration<double, std::nano>(
                           std::chrono::steady_clock::now() - t0)
                           .count();
      if (offsets == PairedOffsets::kOwn) first += block;
    }
    if (offsets == PairedOffsets::kShared) first += block;
    ++rounds;
  }
  const double per_kind = static_cast<double>(rounds * block);
  for (size_t kind = 0; kind < kinds; ++kind) {
    state.counters[absl::StrCat(reads[kind].name, "_ns")] =
        wall_ns[kind] / per_kind;
  }
  SetBytes(state, kinds * block * 4 * kKiB);
}

}  // namespace bench
}  // namespace smmap
