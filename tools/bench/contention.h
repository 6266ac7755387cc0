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
// trials are printed with the targets. Not thread-safe (one run at a time).

#ifndef SMMAP_TOOLS_BENCH_CONTENTION_H_
#define SMMAP_TOOLS_BENCH_CONTENTION_H_

#include <cstdint>
#include <string>

namespace smmap {
namespace bench {

struct ContentionResult {
  // Cursors per second made and released on a cached region by one thread:
  // alone, beside a thread missing through the same manager, and beside a
  // thread doing the same churn raw.
  double hits_alone = 0;
  double hits_beside_manager = 0;
  double hits_beside_raw = 0;
  // Misses per second: one and two threads through one manager (two files);
  // the same churn raw in one and two threads.
  double misses_1 = 0;
  double misses_2 = 0;
  double raw_1 = 0;
  double raw_2 = 0;
};

// Measures on the file at `path` (at least 16 MiB), which it also reads
// under two more names (symbolic links made next to it, removed after).
ContentionResult MeasureContention(const std::string& path, uint64_t size,
                                   double phase_seconds, int trials);

// Prints the T10 and T11 rows of `result`.
void PrintContention(const ContentionResult& result);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_CONTENTION_H_
