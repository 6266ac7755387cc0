// The targets of docs/performance.md as data: each row is a ratio or a
// difference of two named figures (results.h), or one figure, with its
// threshold; a row without one (its id in brackets) is for information.
// BENCHMARKS.md's tables show these rows, ids and thresholds.
//
// Thread-safe (constant data, pure functions).

#ifndef SMMAP_TOOLS_BENCH_TARGETS_H_
#define SMMAP_TOOLS_BENCH_TARGETS_H_

#include <cstdio>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "tools/bench/page_cache.h"
#include "tools/bench/results.h"

namespace smmap {
namespace bench {

struct Target {
  enum class Op { kRatio, kDifference, kValue };  // a / b, a - b, a
  enum class States { kBoth, kLargeFolio, kSmallFolio };

  const char* id;  // "T1"; "(T7)" for an information row (threshold NaN)
  const char* measure;
  Op op;
  const char* a;  // figure names
  const char* b;  // unused by kValue
  double threshold;
  bool higher_is_better;
  const char* unit;  // "x" for ratios, else the figures' unit
  States states = States::kBoth;
};

// Every target row, in the order of BENCHMARKS.md.
absl::Span<const Target> AllTargets();

struct Evaluated {
  const Target* target;
  double value;         // NaN if a figure is missing
  std::string detail;   // the figures it came from, with units
  const char* verdict;  // "ok", "MISSED", "n/a" or "info"
};

// The rows of `state`, evaluated on `figures`; information rows without a
// value are left out.
std::vector<Evaluated> EvaluateTargets(const Figures& figures,
                                       CacheState state);

// Prints them as a table, headed by the state and the machine.
void PrintTargets(const std::vector<Evaluated>& rows, CacheState state,
                  std::FILE* out);

// "12.34 GB/s", "1215 ns", "2.41 M/s"...: a figure, by its name's unit.
std::string FormatFigure(const std::string& name, double value);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_TARGETS_H_
