// What every benchmark of a suite run shares: the file it reads, the way
// benchmarks are registered (with the run's repetitions and minimum time),
// and small helpers. Replaces the suite's former mutable globals: each
// benchmark captures the BenchFile it reads.
//
// Thread-compatible: a BenchFile is immutable after Open() and may be read
// by benchmark threads; a Registrar is used by one thread.

#ifndef SMMAP_TOOLS_BENCH_BENCH_FILE_H_
#define SMMAP_TOOLS_BENCH_BENCH_FILE_H_

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <regex>  // NOLINT(build/c++11): no RE2 here
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/benchmark.h"

namespace smmap {
namespace bench {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;

// The file a run measures.
// A read-only descriptor of `path`; exits the process on failure (a file
// the run measures, there when it began).
int OpenOrDie(const std::string& path);

struct BenchFile {
  std::string path;
  uint64_t size = 0;
  uint64_t page = 0;  // the system's page size
  // 2^16 random 4 KiB-aligned offsets (fixed seed), the same for every
  // random-read benchmark.
  std::vector<uint64_t> random_offsets;

  // FailedPrecondition for a file under 16 MiB; errors of stat(2).
  static absl::StatusOr<BenchFile> Open(const std::string& path);

  // A read-only descriptor of the file; exits the process on failure (the
  // file was there when the run began).
  int OpenOrDie() const;

  // The k-th random offset, cycling.
  uint64_t RandomOffset(size_t k) const {
    return random_offsets[k & (random_offsets.size() - 1)];
  }
};

// Registers the benchmarks whose names match the run's filter, with the
// run's settings.
class Registrar {
 public:
  // `repetitions` > 1 reports only the aggregates (the suite reads medians).
  // `filter` is an ECMAScript regex searched in each name (empty: all);
  // ValidFilter() tells whether it compiles.
  Registrar(int repetitions, double min_time_s, const std::string& filter);

  // A benchmark measured in wall time, in `unit`.
  void Add(const std::string& name, std::function<void(benchmark::State&)> run,
           benchmark::TimeUnit unit = benchmark::kNanosecond);
  // The same run by each number of threads in `threads`, as
  // "NAME/threads:N".
  void AddThreaded(const std::string& name,
                   const std::function<void(benchmark::State&)>& run,
                   std::initializer_list<int> threads);

  // The names of the benchmarks registered, in order.
  const std::vector<std::string>& names() const { return names_; }

  static bool ValidFilter(const std::string& filter);

 private:
  // Registers `run` as `name` if `full_name` (the name it reports)
  // matches the filter; null if not.
  benchmark::internal::Benchmark* Register(
      const std::string& name, const std::string& full_name,
      std::function<void(benchmark::State&)> run, benchmark::TimeUnit unit);

  int repetitions_;
  double min_time_s_;
  std::optional<std::regex> filter_;
  std::vector<std::string> names_;
};

// Ends a benchmark run with `status`'s message as its error.
void Fail(benchmark::State& state, const absl::Status& status);

// Sets the run's bytes per second from `per_iteration` bytes.
void SetBytes(benchmark::State& state, uint64_t per_iteration);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_BENCH_FILE_H_
