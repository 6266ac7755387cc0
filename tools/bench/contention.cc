#include "tools/bench/contention.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "smmap/smmap.h"
#include "tools/bench/bench_file.h"
#include "tools/bench/churn.h"
#include "tools/bench/raw_windows.h"
#include "tools/bench/results.h"

namespace smmap {
namespace bench {
namespace {

// Misses map windows of this size (the churn benchmarks') under a budget of
// a few of them.
constexpr uint64_t kWindow = kChurnWindow;
constexpr uint64_t kBudgetWindows = 4;

// One thread's loop: runs until `stop`, counting what it did in `count`.
using Worker =
    std::function<void(const std::atomic<bool>& stop, uint64_t& count)>;

// Runs `workers` in threads for `seconds`; returns each one's rate per
// second.
std::vector<double> RunPhase(const std::vector<Worker>& workers,
                             double seconds) {
  std::atomic<bool> stop{false};
  std::vector<uint64_t> counts(workers.size(), 0);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < workers.size(); ++i) {
    threads.emplace_back([&, i] { workers[i](stop, counts[i]); });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (std::thread& t : threads) t.join();
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  std::vector<double> rates;
  for (uint64_t n : counts) rates.push_back(static_cast<double>(n) / elapsed);
  return rates;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "contention benchmark: %s\n", what.c_str());
  std::exit(1);
}

std::unique_ptr<TilingMemmapManager> Manager() {
  ManagerOptions options;
  options.window_size = kWindow;
  options.max_memory_size = kBudgetWindows * kWindow;
  auto mman = TilingMemmapManager::Create(options);
  if (!mman.ok()) Die(std::string(mman.status().message()));
  return std::move(*mman);
}

// Makes and releases cursors on the cached first page of `path`.
Worker Hits(MemmapManager& mman, const std::string& path) {
  return [&mman, path](const std::atomic<bool>& stop, uint64_t& count) {
    while (!stop.load(std::memory_order_relaxed)) {
      absl::StatusOr<FixedCursor> c = mman.MakeCursor(path, 0, 4096);
      if (!c.ok()) Die(std::string(c.status().message()));
      benchmark::DoNotOptimize(c->buffer()[0]);
      ++count;
    }
  };
}

// Makes cursors on random windows of `path` (nearly all misses under the
// budget), reading a byte of each.
Worker Misses(MemmapManager& mman, const std::string& path, uint64_t size,
              uint64_t seed) {
  return [&mman, path, size, seed](const std::atomic<bool>& stop,
                                   uint64_t& count) {
    std::mt19937_64 rng(seed);
    const uint64_t windows = size / kWindow - 1;
    while (!stop.load(std::memory_order_relaxed)) {
      const uint64_t ofs = (rng() % windows) * kWindow;
      absl::StatusOr<FixedCursor> c = mman.MakeCursor(path, ofs, 1);
      if (!c.ok()) Die(std::string(c.status().message()));
      benchmark::DoNotOptimize(c->buffer()[0]);
      ++count;
    }
  };
}

// The same churn with no manager: mmap a window, read a byte, munmap.
Worker RawMisses(const std::string& path, uint64_t size, uint64_t seed) {
  return [path, size, seed](const std::atomic<bool>& stop, uint64_t& count) {
    RawWindows raw(path, size, kWindow, kWindow, /*capacity=*/0);
    std::mt19937_64 rng(seed);
    const uint64_t windows = size / kWindow - 1;
    while (!stop.load(std::memory_order_relaxed)) {
      if (!raw.Read((rng() % windows) * kWindow, 1)) Die("mmap " + path);
      ++count;
    }
  };
}

// A symbolic link to `target`: another name, hence another file to a
// manager. Removed on destruction.
class Alias {
 public:
  Alias(const std::string& target, int n)
      : path_(absl::StrCat(target, ".alias", n, ".", ::getpid())) {
    ::unlink(path_.c_str());
    if (::symlink(target.c_str(), path_.c_str()) != 0) Die("symlink " + path_);
  }
  ~Alias() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace

void MeasureContention(const BenchFile& file, double phase_seconds, int trials,
                       Figures& figures) {
  const std::string& path = file.path;
  const uint64_t size = file.size;
  const Alias b(path, 1);
  const Alias c(path, 2);
  std::vector<double> alone, beside_manager, beside_raw, m1, m2, r1, r2;
  for (int trial = 0; trial < trials; ++trial) {
    {
      auto mman = Manager();
      alone.push_back(RunPhase({Hits(*mman, path)}, phase_seconds)[0]);
      beside_manager.push_back(
          RunPhase({Hits(*mman, path), Misses(*mman, b.path(), size, trial)},
                   phase_seconds)[0]);
      beside_raw.push_back(
          RunPhase({Hits(*mman, path), RawMisses(b.path(), size, trial)},
                   phase_seconds)[0]);
    }
    {
      auto mman = Manager();
      m1.push_back(
          RunPhase({Misses(*mman, b.path(), size, trial)}, phase_seconds)[0]);
      std::vector<double> two =
          RunPhase({Misses(*mman, b.path(), size, trial),
                    Misses(*mman, c.path(), size, trial + 100)},
                   phase_seconds);
      m2.push_back(two[0] + two[1]);
    }
    r1.push_back(
        RunPhase({RawMisses(b.path(), size, trial)}, phase_seconds)[0]);
    std::vector<double> two = RunPhase({RawMisses(b.path(), size, trial),
                                        RawMisses(c.path(), size, trial + 100)},
                                       phase_seconds);
    r2.push_back(two[0] + two[1]);
  }
  figures.Set("t10.hits_alone_per_s", Median(alone));
  figures.Set("t10.hits_beside_manager_per_s", Median(beside_manager));
  figures.Set("t10.hits_beside_raw_per_s", Median(beside_raw));
  figures.Set("t11.manager_misses_1_per_s", Median(m1));
  figures.Set("t11.manager_misses_2_per_s", Median(m2));
  figures.Set("t11.raw_misses_1_per_s", Median(r1));
  figures.Set("t11.raw_misses_2_per_s", Median(r2));
  figures.Set("t11.manager_scaling", Median(m2) / Median(m1));
  figures.Set("t11.raw_scaling", Median(r2) / Median(r1));
}

}  // namespace bench
}  // namespace smmap
