// smmap's benchmark program (see tools/bench/suite.h for its flags). Run:
//
//   bazel run --config=opt //tools/bench:smmap_benchmark --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

#include "tools/bench/suite.h"

int main(int argc, char** argv) {
  return smmap::bench::RunSuite(argc, argv, /*user=*/nullptr);
}
