// T6: two workers sliding over the two halves of the file, as two threads
// sharing one manager against two processes with a manager each
// (docs/performance.md). A process has no lock to share, so the ratio
// shows what sharing a manager costs.
//
// Forks: call it from a process with no other threads running.

#ifndef SMMAP_TOOLS_BENCH_THREADS_VS_PROCESSES_H_
#define SMMAP_TOOLS_BENCH_THREADS_VS_PROCESSES_H_

#include "tools/bench/bench_file.h"
#include "tools/bench/results.h"

namespace smmap {
namespace bench {

// Sets t6/default.{threads_s,processes_s} (default options) and
// t6/churn.{threads_s,processes_s} (4 MiB windows under a 16 MiB budget):
// median wall times over `trials` of `passes` scans of each half.
void MeasureThreadsAgainstProcesses(const BenchFile& file, int passes,
                                    int trials, Figures& figures);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_THREADS_VS_PROCESSES_H_
