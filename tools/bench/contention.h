// T10 and T11: what one thread's misses cost other threads of one manager.
//
// T10: a thread making and releasing fixed cursors on a cached region of one
// file, while another thread makes cursors that miss (random windows of a
// second file under a budget of a few regions, reading a byte of each). Its
// rate is compared with its rate beside the same map/read/unmap churn done
// raw (no manager) in the other thread, and alone.
//
// T11: two threads making cursors that miss, on two files of one manager,
// against one thread; and the same scaling for the raw churn, since mmap
// and munmap share the process's mmap lock (docs/performance.md L14).
//
// Each measurement runs for fixed-length phases of wall time; medians over
// trials become figures for the targets table. Not thread-safe (one run at a
// time).

#ifndef SMMAP_TOOLS_BENCH_CONTENTION_H_
#define SMMAP_TOOLS_BENCH_CONTENTION_H_

#include <cstdint>
#include <string>

#include "tools/bench/bench_file.h"
#include "tools/bench/results.h"

namespace smmap {
namespace bench {

// Measures on `file`, which it also reads
// under two more names (symbolic links made next to it, removed after), and
// sets the figures t10.hits_{alone,beside_manager,beside_raw}_per_s
// (cursors per second made and released on a cached region by one thread),
// t11.{manager,raw}_misses_{1,2}_per_s (misses per second, one and two
// threads, through one manager on two files and raw) and
// t11.{manager,raw}_scaling (2 threads / 1).
void MeasureContention(const BenchFile& file, double phase_seconds, int trials,
                       Figures& figures);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_CONTENTION_H_
