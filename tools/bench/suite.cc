#include "tools/bench/suite.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "benchmark/benchmark.h"
#include "smmap/smmap.h"
#include "tools/bench/contention.h"
#include "tools/bench/page_cache.h"
#include "tools/bench/scan.h"
#include "tools/size_flags.h"

namespace smmap {
namespace bench {
namespace {

constexpr uint64_t kKiB = 1024;

// The file every benchmark reads, set by main().
std::string g_path;
uint64_t g_size = 0;
const uint64_t g_page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

int OpenOrDie() {
  int fd = ::open(g_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::perror(g_path.c_str());
    std::exit(1);
  }
  return fd;
}

void Fail(benchmark::State& state, const absl::Status& status) {
  state.SkipWithError(std::string(status.message()).c_str());
}

// Random 4 KiB-aligned offsets, the same for every random-read benchmark.
const std::vector<uint64_t>& RandomOffsets() {
  static const std::vector<uint64_t> offsets = [] {
    std::mt19937_64 rng(99);
    std::vector<uint64_t> v(1 << 16);
    const uint64_t pages = g_size / (4 * kKiB) - 1;
    for (uint64_t& o : v) o = (rng() % pages) * 4 * kKiB;
    return v;
  }();
  return offsets;
}

void SetBytes(benchmark::State& state, uint64_t per_iteration) {
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(per_iteration));
}

// --- Sequential scans ------------------------------------------------------

// L2: mmap the whole file, scan, munmap.
void BM_ScanRawMmapWhole(benchmark::State& state) {
  int fd = OpenOrDie();
  for (auto _ : state) {
    void* p = ::mmap(nullptr, g_size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return state.SkipWithError("mmap failed");
    benchmark::DoNotOptimize(XorScan(static_cast<const uint8_t*>(p), g_size));
    ::munmap(p, g_size);
  }
  ::close(fd);
  SetBytes(state, g_size);
}

// L3: map, scan and unmap consecutive windows of range(0) bytes.
void BM_ScanRawWindows(benchmark::State& state) {
  const uint64_t window = static_cast<uint64_t>(state.range(0));
  int fd = OpenOrDie();
  for (auto _ : state) {
    uint64_t x = 0;
    for (uint64_t ofs = 0; ofs < g_size; ofs += window) {
      const size_t n = static_cast<size_t>(std::min(window, g_size - ofs));
      void* p = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, fd,
                       static_cast<off_t>(ofs));
      if (p == MAP_FAILED) return state.SkipWithError("mmap failed");
      x ^= XorScan(static_cast<const uint8_t*>(p), n, ofs);
      ::munmap(p, n);
    }
    benchmark::DoNotOptimize(x);
  }
  ::close(fd);
  SetBytes(state, g_size);
}

// L4: read() into a buffer of range(0) bytes, scan the buffer.
void BM_ScanRead(benchmark::State& state) {
  std::vector<uint8_t> buffer(static_cast<size_t>(state.range(0)));
  int fd = OpenOrDie();
  for (auto _ : state) {
    uint64_t x = 0;
    uint64_t ofs = 0;
    ::lseek(fd, 0, SEEK_SET);
    while (true) {
      const ssize_t n = ::read(fd, buffer.data(), buffer.size());
      if (n <= 0) break;
      x ^= XorScan(buffer.data(), static_cast<size_t>(n), ofs);
      ofs += static_cast<uint64_t>(n);
    }
    benchmark::DoNotOptimize(x);
  }
  ::close(fd);
  SetBytes(state, g_size);
}

// Scans [begin, begin + size) of the benchmark file through a sliding cursor
// of `mman` (size 0: to the end); returns the checksum.
absl::StatusOr<uint64_t> SlidingScan(MemmapManager& mman, uint64_t begin = 0,
                                     uint64_t size = 0) {
  absl::StatusOr<SlidingCursor> cursor =
      mman.MakeSlidingCursor(g_path, begin, size);
  if (!cursor.ok()) return cursor.status();
  uint64_t x = 0;
  uint64_t ofs = begin;
  absl::Status status =
      cursor->ForEachChunk(0, cursor->size(), [&](absl::Span<const uint8_t> c) {
        x ^= XorScan(c.data(), c.size(), ofs);
        ofs += c.size();
      });
  if (!status.ok()) return status;
  return x;
}

// T1/T2: a sliding cursor's chunk scan with a fresh manager per pass (so it
// maps and unmaps like the raw baselines). range(0) is the window size, 0
// for the default options; range(1) asks for MAP_POPULATE.
void BM_ScanSliding(benchmark::State& state) {
  UserScan scan;
  if (state.range(0) > 0)
    scan.options.window_size = static_cast<uint64_t>(state.range(0));
  scan.options.populate = state.range(1) != 0;
  for (auto _ : state) {
    auto mman = MakeManager(scan);
    if (!mman.ok()) return Fail(state, mman.status());
    absl::StatusOr<uint64_t> x = SlidingScan(**mman);
    if (!x.ok()) return Fail(state, x.status());
    benchmark::DoNotOptimize(*x);
  }
  SetBytes(state, g_size);
}

// T9: the same pass, copying the file out in 1 MiB pieces with Read() (as
// the Python benchmark copies slices).
void BM_ScanSlidingCopy(benchmark::State& state) {
  std::vector<uint8_t> buffer(1 << 20);
  for (auto _ : state) {
    TilingMemmapManager mman;
    absl::StatusOr<SlidingCursor> cursor = mman.MakeSlidingCursor(g_path);
    if (!cursor.ok()) return Fail(state, cursor.status());
    for (uint64_t ofs = 0; ofs < cursor->size(); ofs += buffer.size()) {
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(buffer.size(), cursor->size() - ofs));
      absl::Status status = cursor->Read(ofs, absl::MakeSpan(buffer).first(n));
      if (!status.ok()) return Fail(state, status);
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  SetBytes(state, g_size);
}

// A sliding scan with the caller's options (smmap bench --window=...).
UserScan g_user;

void BM_ScanSlidingUser(benchmark::State& state) {
  for (auto _ : state) {
    auto mman = MakeManager(g_user);
    if (!mman.ok()) return Fail(state, mman.status());
    absl::StatusOr<uint64_t> x = SlidingScan(**mman);
    if (!x.ok()) return Fail(state, x.status());
    benchmark::DoNotOptimize(*x);
  }
  SetBytes(state, g_size);
}

// --- LRU churn (T7, T8) -----------------------------------------------------

constexpr uint64_t kChurnWindow = 64 * kKiB;
constexpr uint64_t kChurnBudget = 1024 * kKiB;

// T8 (and T7's throughput): random 4 KiB reads through fixed cursors under
// a budget of 16 windows over the whole file: nearly every read maps a
// region and evicts one. Arg: hard budget.
void BM_ChurnFixedCursor(benchmark::State& state) {
  ManagerOptions options;
  options.window_size = kChurnWindow;
  options.max_memory_size = kChurnBudget;
  options.hard_limits = state.range(0) != 0;
  auto mman = TilingMemmapManager::Create(options);
  if (!mman.ok()) return Fail(state, mman.status());
  const std::vector<uint64_t>& offsets = RandomOffsets();
  size_t k = 0;
  for (auto _ : state) {
    auto c = (*mman)->MakeCursor(g_path, offsets[k++ & 0xffff], 4 * kKiB);
    if (!c.ok()) return Fail(state, c.status());
    benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
  }
  const ManagerStats stats = (*mman)->stats();
  state.counters["miss_ratio"] =
      static_cast<double>(stats.cursor_misses) /
      static_cast<double>(stats.cursor_misses + stats.cursor_hits);
  state.counters["peak_over_budget"] =
      static_cast<double>(stats.peak_mapped_bytes) -
      static_cast<double>(kChurnBudget);
  SetBytes(state, 4 * kKiB);
}

// T7, paired: the raw loop, a raw ring of cached mappings and the manager
// (default, and with immutable_files) take turns in blocks of kChurnBlock
// reads of the same offsets, in a rotating order, so that the host's drift
// (this is a shared guest) falls on all of them alike. Separate benchmarks,
// a few seconds apart, differ by more than the manager's cost between runs.
//
// Kinds: 0, map the read's window, read, unmap (the T7 baseline); 1, the
// same, but keeping the last kChurnBudget / kChurnWindow mappings in a FIFO
// ring (what caching costs the kernel, with no bookkeeping); 2, a manager
// with default options; 3, with immutable_files.
constexpr int kChurnBlock = 32;
constexpr int kChurnKinds = 4;

void BM_ChurnPaired(benchmark::State& state) {
  int fd = OpenOrDie();
  ManagerOptions options;
  options.window_size = kChurnWindow;
  options.max_memory_size = kChurnBudget;
  auto soft = TilingMemmapManager::Create(options);
  options.immutable_files = true;
  auto immutable = TilingMemmapManager::Create(options);
  if (!soft.ok()) return Fail(state, soft.status());
  if (!immutable.ok()) return Fail(state, immutable.status());
  const std::vector<uint64_t>& offsets = RandomOffsets();
  const uint64_t stride = kChurnWindow / 2;
  struct RawMapping {
    void* addr = nullptr;
    size_t length = 0;
  };
  std::vector<RawMapping> ring(kChurnBudget / kChurnWindow);
  size_t ring_next = 0;
  // Maps the window holding `o` and reads 4 KiB at `o`; keeps the mapping
  // in the ring (unmapping the oldest) or unmaps it at once.
  auto raw_read = [&](uint64_t o, bool keep) {
    const uint64_t begin = o / stride * stride;
    const size_t n =
        static_cast<size_t>(std::min(kChurnWindow, g_size - begin));
    void* p = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, fd,
                     static_cast<off_t>(begin));
    if (p == MAP_FAILED) return false;
    benchmark::DoNotOptimize(
        XorScan(static_cast<const uint8_t*>(p) + (o - begin), 4 * kKiB));
    if (!keep) return ::munmap(p, n) == 0;
    RawMapping& slot = ring[ring_next++ % ring.size()];
    if (slot.addr != nullptr) ::munmap(slot.addr, slot.length);
    slot = {p, n};
    return true;
  };
  // Runs one block of `kind` from offsets[first]; false on failure.
  auto run_block = [&](int kind, size_t first) {
    for (size_t k = first; k < first + kChurnBlock; ++k) {
      const uint64_t o = offsets[k & 0xffff];
      if (kind < 2) {
        if (!raw_read(o, /*keep=*/kind == 1)) return false;
        continue;
      }
      MemmapManager& mman = kind == 2 ? **soft : **immutable;
      auto c = mman.MakeCursor(g_path, o, 4 * kKiB);
      if (!c.ok()) return false;
      benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
    }
    return true;
  };
  double wall[kChurnKinds] = {};
  size_t first = 0;
  int64_t blocks = 0;
  bool failed = false;
  for (auto _ : state) {
    for (int turn = 0; turn < kChurnKinds && !failed; ++turn) {
      const int kind = static_cast<int>((blocks + turn) % kChurnKinds);
      const auto t0 = std::chrono::steady_clock::now();
      failed = !run_block(kind, first);
      wall[kind] += std::chrono::duration<double, std::nano>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    }
    if (failed) break;
    first += kChurnBlock;
    ++blocks;
  }
  for (const RawMapping& m : ring) {
    if (m.addr != nullptr) ::munmap(m.addr, m.length);
  }
  ::close(fd);
  if (failed) return state.SkipWithError("a paired churn read failed");
  const double reads = static_cast<double>(blocks) * kChurnBlock;
  const char* names[kChurnKinds] = {"raw", "raw_ring", "soft", "immutable"};
  for (int kind = 0; kind < kChurnKinds; ++kind) {
    state.counters[absl::StrCat(names[kind], "_ns")] = wall[kind] / reads;
  }
  SetBytes(state, kChurnKinds * kChurnBlock * 4 * kKiB);
}

// T8: heap bytes per cached region (regions of one page pair each).
double BookkeepingBytesPerRegion() {
  constexpr uint64_t kRegions = 20000;
  if (kRegions * 2 * g_page > g_size) return NAN;
  ManagerOptions options;
  options.window_size = 2 * g_page;
  options.max_memory_size = uint64_t{1} << 40;
  auto mman = TilingMemmapManager::Create(options);
  if (!mman.ok()) return NAN;
  const size_t before = ::mallinfo2().uordblks;
  for (uint64_t i = 0; i < kRegions; ++i) {
    if (!(*mman)->MakeCursor(g_path, 2 * i * g_page, 1).ok()) return NAN;
  }
  const size_t after = ::mallinfo2().uordblks;
  return static_cast<double>(after - before) / static_cast<double>(kRegions);
}

// --- Cursor creation -------------------------------------------------------

// T3: create and release a fixed cursor on one of range(0) cached regions.
void BM_FixedCursorCached(benchmark::State& state) {
  const uint64_t regions = static_cast<uint64_t>(state.range(0));
  ManagerOptions options;
  options.window_size = 2 * g_page;  // regions of 2 pages, one every page
  options.max_memory_size = uint64_t{1} << 40;
  auto mman = TilingMemmapManager::Create(options);
  if (!mman.ok()) return Fail(state, mman.status());
  // Every other window, so that no request finds its neighbour's region.
  if (regions * 2 * g_page > g_size) {
    return state.SkipWithError("file too small for that many regions");
  }
  for (uint64_t i = 0; i < regions; ++i) {
    auto c = (*mman)->MakeCursor(g_path, 2 * i * g_page, 16);
    if (!c.ok()) return Fail(state, c.status());
  }
  std::vector<uint64_t> offsets(4096);
  std::mt19937_64 rng(5);
  for (uint64_t& o : offsets) o = (rng() % regions) * 2 * g_page + 8;
  size_t k = 0;
  for (auto _ : state) {
    auto c = (*mman)->MakeCursor(g_path, offsets[k++ & 4095], 16);
    benchmark::DoNotOptimize(c->buffer().data());
  }
  if ((*mman)->num_open_regions() != regions) {
    state.SkipWithError(absl::StrCat("expected ", regions, " regions, found ",
                                     (*mman)->num_open_regions())
                            .c_str());
  }
}

// --- Random 4 KiB reads ----------------------------------------------------

// L9: random 4 KiB reads from a whole-file mapping that stays mapped.
void BM_Random4kRawMmap(benchmark::State& state) {
  int fd = OpenOrDie();
  void* p = ::mmap(nullptr, g_size, PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return state.SkipWithError("mmap failed");
  const auto* base = static_cast<const uint8_t*>(p);
  const std::vector<uint64_t>& offsets = RandomOffsets();
  for (uint64_t o : offsets)
    benchmark::DoNotOptimize(XorScan(base + o, 4 * kKiB));
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(XorScan(base + offsets[k++ & 0xffff], 4 * kKiB));
  }
  ::munmap(p, g_size);
  ::close(fd);
  SetBytes(state, 4 * kKiB);
}

// L9: random 4 KiB preads, then the same scan.
void BM_Random4kPread(benchmark::State& state) {
  int fd = OpenOrDie();
  const std::vector<uint64_t>& offsets = RandomOffsets();
  uint8_t buffer[4 * kKiB];
  size_t k = 0;
  for (auto _ : state) {
    if (::pread(fd, buffer, sizeof(buffer),
                static_cast<off_t>(offsets[k++ & 0xffff])) < 0) {
      return state.SkipWithError("pread failed");
    }
    benchmark::DoNotOptimize(XorScan(buffer, sizeof(buffer)));
  }
  ::close(fd);
  SetBytes(state, 4 * kKiB);
}

// T4: a fixed cursor per read (create, scan, release) on resident regions
// of a manager with default options.
void BM_Random4kFixedCursor(benchmark::State& state) {
  TilingMemmapManager mman;
  const std::vector<uint64_t>& offsets = RandomOffsets();
  for (uint64_t o : offsets) {
    auto c = mman.MakeCursor(g_path, o, 4 * kKiB);
    if (!c.ok()) return Fail(state, c.status());
    benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
  }
  size_t k = 0;
  for (auto _ : state) {
    auto c = mman.MakeCursor(g_path, offsets[k++ & 0xffff], 4 * kKiB);
    benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
  }
  SetBytes(state, 4 * kKiB);
}

// T4: random reads through one sliding cursor's Chunk().
void BM_Random4kSlidingCursor(benchmark::State& state) {
  TilingMemmapManager mman;
  auto cursor = mman.MakeSlidingCursor(g_path);
  if (!cursor.ok()) return Fail(state, cursor.status());
  const std::vector<uint64_t>& offsets = RandomOffsets();
  for (uint64_t o : offsets) {
    auto chunk = cursor->Chunk(o);
    if (!chunk.ok()) return Fail(state, chunk.status());
    benchmark::DoNotOptimize(XorScan(chunk->data(), 4 * kKiB));
  }
  size_t k = 0;
  for (auto _ : state) {
    auto chunk = cursor->Chunk(offsets[k++ & 0xffff]);
    benchmark::DoNotOptimize(XorScan(chunk->data(), 4 * kKiB));
  }
  SetBytes(state, 4 * kKiB);
}

// --- Threads -----------------------------------------------------------------

// State shared by the threads of the T5 benchmarks, kept warm across a
// run; ResetShared() drops it, so that the page cache can be reset.
std::mutex g_shared_mu;
std::unique_ptr<TilingMemmapManager> g_shared_manager;
const uint8_t* g_shared_mapping = nullptr;

TilingMemmapManager& SharedManager() {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  if (g_shared_manager == nullptr) {
    g_shared_manager = std::make_unique<TilingMemmapManager>();
    for (uint64_t o : RandomOffsets()) {
      auto c = g_shared_manager->MakeCursor(g_path, o, 4 * kKiB);
      if (c.ok())
        benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
    }
  }
  return *g_shared_manager;
}

const uint8_t* SharedMapping() {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  if (g_shared_mapping == nullptr) {
    int fd = OpenOrDie();
    void* p = ::mmap(nullptr, g_size, PROT_READ, MAP_SHARED, fd, 0);
    ::close(fd);
    if (p != MAP_FAILED) g_shared_mapping = static_cast<const uint8_t*>(p);
  }
  return g_shared_mapping;
}

void ResetShared() {
  std::lock_guard<std::mutex> lock(g_shared_mu);
  g_shared_manager.reset();
  if (g_shared_mapping != nullptr) {
    ::munmap(const_cast<uint8_t*>(g_shared_mapping), g_size);
    g_shared_mapping = nullptr;
  }
}

// T5: random 4 KiB reads through fixed cursors of one shared manager, by
// 1 or 2 threads.
void BM_ThreadsRandom4kFixed(benchmark::State& state) {
  TilingMemmapManager& mman = SharedManager();
  const std::vector<uint64_t>& offsets = RandomOffsets();
  size_t k = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto c = mman.MakeCursor(g_path, offsets[k++ & 0xffff], 4 * kKiB);
    benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
  }
  SetBytes(state, 4 * kKiB);
}

// T5: the same through one sliding cursor per thread on the shared manager.
void BM_ThreadsRandom4kSliding(benchmark::State& state) {
  TilingMemmapManager& mman = SharedManager();
  auto cursor = mman.MakeSlidingCursor(g_path);
  if (!cursor.ok()) return Fail(state, cursor.status());
  const std::vector<uint64_t>& offsets = RandomOffsets();
  size_t k = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto chunk = cursor->Chunk(offsets[k++ & 0xffff]);
    benchmark::DoNotOptimize(XorScan(chunk->data(), 4 * kKiB));
  }
  SetBytes(state, 4 * kKiB);
}

// T5 baseline (L10): random reads of one shared raw mapping.
void BM_ThreadsRandom4kRawMmap(benchmark::State& state) {
  const uint8_t* base = SharedMapping();
  if (base == nullptr) return state.SkipWithError("mmap failed");
  const std::vector<uint64_t>& offsets = RandomOffsets();
  size_t k = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    benchmark::DoNotOptimize(XorScan(base + offsets[k++ & 0xffff], 4 * kKiB));
  }
  SetBytes(state, 4 * kKiB);
}

int64_t g_max_regions = 0;

void RegisterAll() {
  benchmark::RegisterBenchmark("scan/raw_mmap_whole", BM_ScanRawMmapWhole)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  for (int64_t w : {int64_t{1} << 20, int64_t{2} << 20, int64_t{16} << 20}) {
    benchmark::RegisterBenchmark("scan/raw_windows", BM_ScanRawWindows)
        ->Arg(w)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  benchmark::RegisterBenchmark("scan/read", BM_ScanRead)
      ->Arg(128 << 10)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("scan/sliding", BM_ScanSliding)
      ->Args({0, 0})
      ->Args({4 << 20, 0})
      ->Args({32 << 20, 0})
      ->Args({0, 1})
      ->Args({32 << 20, 1})
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  // As many regions as the file and vm.max_map_count (65530 by default)
  // allow, up to 60000.
  g_max_regions = static_cast<int64_t>(
      std::min<uint64_t>(60000, g_size / (2 * g_page) - 1));
  benchmark::RegisterBenchmark("scan/sliding_copy", BM_ScanSlidingCopy)
      ->Unit(benchmark::kMillisecond)
      ->UseRealTime();
  benchmark::RegisterBenchmark("cursor/fixed_cached", BM_FixedCursorCached)
      ->Arg(100)
      ->Arg(10000)
      ->Arg(g_max_regions);
  benchmark::RegisterBenchmark("random4k/raw_mmap", BM_Random4kRawMmap);
  benchmark::RegisterBenchmark("random4k/pread", BM_Random4kPread);
  benchmark::RegisterBenchmark("random4k/fixed_cursor", BM_Random4kFixedCursor);
  benchmark::RegisterBenchmark("random4k/sliding_cursor",
                               BM_Random4kSlidingCursor);
  benchmark::RegisterBenchmark("churn/fixed_cursor", BM_ChurnFixedCursor)
      ->Arg(0)
      ->Arg(1);
  benchmark::RegisterBenchmark("churn/paired", BM_ChurnPaired);
  benchmark::RegisterBenchmark("threads/random4k_raw_mmap",
                               BM_ThreadsRandom4kRawMmap)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("threads/random4k_fixed",
                               BM_ThreadsRandom4kFixed)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
  benchmark::RegisterBenchmark("threads/random4k_sliding",
                               BM_ThreadsRandom4kSliding)
      ->Threads(1)
      ->Threads(2)
      ->UseRealTime();
}

// Collects the median (or only) real time per benchmark name.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      std::string name = run.run_name.str();
      name = absl::StrReplaceAll(name, {{"/real_time", ""}});
      const double ns = run.GetAdjustedRealTime() *
                        (run.time_unit == benchmark::kMillisecond ? 1e6 : 1.0);
      const bool median =
          run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
      if (median || run.run_type != Run::RT_Aggregate) {
        for (const auto& [key, counter] : run.counters) {
          counters_[name + "#" + key] = counter.value;
        }
      }
      auto bps = run.counters.find("bytes_per_second");
      const double rate = bps == run.counters.end() ? 0 : bps->second.value;
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") {
          medians_[name] = ns;
          rates_[name] = rate;
        }
      } else if (!medians_.count(name) || run.repetitions <= 1) {
        medians_[name] = ns;
        rates_[name] = rate;
      }
    }
  }
  // Nanoseconds per iteration, or 0 if missing.
  double ns(const std::string& name) const {
    auto it = medians_.find(name);
    return it == medians_.end() ? 0 : it->second;
  }
  double counter(const std::string& name, const std::string& key) const {
    auto it = counters_.find(name + "#" + key);
    return it == counters_.end() ? NAN : it->second;
  }
  // Bytes per second over all threads, or 0 if missing.
  double rate(const std::string& name) const {
    auto it = rates_.find(name);
    return it == rates_.end() ? 0 : it->second;
  }

 private:
  std::map<std::string, double> medians_;
  std::map<std::string, double> rates_;
  std::map<std::string, double> counters_;
};

void PrintTargets(const RatioReporter& r, CacheState state) {
  auto gbps = [&](const std::string& name) {
    const double ns = r.ns(name);
    return ns > 0 ? static_cast<double>(g_size) / ns : 0.0;
  };
  auto ratio = [](double a, double b) { return a > 0 && b > 0 ? a / b : NAN; };
  std::printf("\n== Targets (%s page cache, %s)\n",
              std::string(CacheStateName(state)).c_str(),
              MachineDescription().c_str());
  std::printf("%-4s %-58s %9s %9s  %s\n", "id", "measure", "value", "target",
              "verdict");
  auto row = [](const char* id, const std::string& what, double value,
                double target, bool higher_is_better, const char* unit) {
    const bool ok = higher_is_better ? value >= target : value <= target;
    std::printf("%-4s %-58s %8.2f%s %8.2f%s  %s\n", id, what.c_str(), value,
                unit, target, unit,
                std::isnan(value) ? "n/a"
                : ok              ? "ok"
                                  : "MISSED");
  };
  const double whole = gbps("scan/raw_mmap_whole");
  const double read = gbps("scan/read/131072");
  const double sliding = gbps("scan/sliding/0/0");
  std::printf(
      "     (GB/s: whole-file mmap %.2f, read() 128 KiB %.2f, sliding default "
      "%.2f,"
      " sliding 4 MiB %.2f, raw 2 MiB windows %.2f)\n",
      whole, read, sliding, gbps("scan/sliding/4194304/0"),
      gbps("scan/raw_windows/2097152"));
  if (state == CacheState::kLargeFolio) {
    row("T1", "sliding scan (default) / whole-file mmap scan",
        ratio(sliding, whole), 0.90, true, "x");
    row("T2", "sliding scan (default) / read() 128 KiB", ratio(sliding, read),
        1.5, true, "x");
  } else {
    row("T2", "sliding scan (default) / read() 128 KiB", ratio(sliding, read),
        1.0, true, "x");
  }
  const double pread_ns = r.ns("random4k/pread");
  const double c100 = r.ns("cursor/fixed_cached/100");
  const double c60k = r.ns(absl::StrCat("cursor/fixed_cached/", g_max_regions));
  row("T3",
      absl::StrCat("fixed cursor create+release (100 regions: ",
                   static_cast<int>(c100), " ns) / 4 KiB pread"),
      ratio(c100, pread_ns), 1.0 / 20, false, "x");
  row("T3",
      absl::StrCat("fixed cursor, ", g_max_regions, " regions / 100 regions"),
      ratio(c60k, c100), 2.0, false, "x");
  const double mmap_ns = r.ns("random4k/raw_mmap");
  const double fixed_ns = r.ns("random4k/fixed_cursor");
  const double sliding_ns = r.ns("random4k/sliding_cursor");
  row("T4", "random 4 KiB: raw mmap time / fixed cursor time",
      ratio(mmap_ns, fixed_ns), 0.9, true, "x");
  row("T4", "random 4 KiB: pread time / fixed cursor time",
      ratio(pread_ns, fixed_ns), 1.3, true, "x");
  row("T4", "random 4 KiB: raw mmap time / sliding cursor time",
      ratio(mmap_ns, sliding_ns), 0.9, true, "x");
  // From the paired benchmark: the manager's time per read above the raw
  // loop's, over the same reads (nearly all misses).
  const double churn_raw = r.counter("churn/paired", "raw_ns");
  auto above_raw = [&](const char* key) {
    return r.counter("churn/paired", key) - churn_raw;
  };
  row("T7",
      absl::StrCat("whole time per miss above mmap+read+munmap (",
                   static_cast<int>(churn_raw), " ns), ns"),
      above_raw("soft_ns"), 400, false, "");
  row("T7", "the same with immutable_files (no fstat per region), ns",
      above_raw("immutable_ns"), 400, false, "");
  // Not a target: what caching mappings costs the kernel, for the reader.
  std::printf("%-4s %-58s %8.2f %9s  %s\n", "",
              "  of which a raw FIFO ring of 16 mappings costs the kernel, ns",
              above_raw("raw_ring_ns"), "", "info");
  row("T8", "soft budget: peak mapped bytes above budget / window",
      r.counter("churn/fixed_cursor/0", "peak_over_budget") /
          static_cast<double>(kChurnWindow),
      1.0, false, "x");
  row("T8", "hard budget: peak mapped bytes above budget, bytes",
      r.counter("churn/fixed_cursor/1", "peak_over_budget"), 0.0, false, "");
  if (state == CacheState::kLargeFolio) {
    row("T8", "heap bytes of bookkeeping per cached region",
        BookkeepingBytesPerRegion(), 256, false, "");
  }
  auto scaling = [&](const std::string& name) {
    return ratio(r.rate(name + "/threads:2"), r.rate(name + "/threads:1"));
  };
  row("L10", "2 threads / 1 thread, random 4 KiB, one raw mapping",
      scaling("threads/random4k_raw_mmap"), 1.8, true, "x");
  row("T5", "2 threads / 1 thread, random 4 KiB, fixed cursors",
      scaling("threads/random4k_fixed"), 1.8, true, "x");
  row("T5", "2 threads / 1 thread, random 4 KiB, sliding cursors",
      scaling("threads/random4k_sliding"), 1.8, true, "x");
}

// --- T6: threads against processes ------------------------------------------

// Scans half `half` (0 or 1) of the file `passes` times through `mman`.
void ScanHalf(MemmapManager& mman, int half, int passes) {
  const uint64_t mid = g_size / 2;
  for (int pass = 0; pass < passes; ++pass) {
    absl::StatusOr<uint64_t> x = half == 0
                                     ? SlidingScan(mman, 0, mid)
                                     : SlidingScan(mman, mid, g_size - mid);
    if (!x.ok()) std::abort();
    benchmark::DoNotOptimize(*x);
  }
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

// Median over `trials` of the wall time for two workers scanning the two
// halves: as two threads sharing one manager, and as two processes.
std::pair<double, double> ThreadsAgainstProcesses(const ManagerOptions& options,
                                                  int passes, int trials) {
  std::vector<double> threads_s, processes_s;
  for (int trial = 0; trial < trials; ++trial) {
    auto start = std::chrono::steady_clock::now();
    {
      auto mman = TilingMemmapManager::Create(options);
      if (!mman.ok()) std::abort();
      std::thread other([&] { ScanHalf(**mman, 1, passes); });
      ScanHalf(**mman, 0, passes);
      other.join();
    }
    threads_s.push_back(Seconds(start));

    start = std::chrono::steady_clock::now();
    pid_t children[2];
    for (int half = 0; half < 2; ++half) {
      children[half] = ::fork();
      if (children[half] == 0) {
        auto mman = TilingMemmapManager::Create(options);
        if (!mman.ok()) ::_exit(1);
        ScanHalf(**mman, half, passes);
        ::_exit(0);
      }
    }
    for (pid_t child : children) ::waitpid(child, nullptr, 0);
    processes_s.push_back(Seconds(start));
  }
  std::sort(threads_s.begin(), threads_s.end());
  std::sort(processes_s.begin(), processes_s.end());
  return {threads_s[threads_s.size() / 2], processes_s[processes_s.size() / 2]};
}

void PrintThreadsAgainstProcesses() {
  std::printf(
      "\n== T6: two threads sliding over disjoint halves, one process "
      "against two (median of 5, 3 passes each)\n");
  struct Case {
    const char* name;
    ManagerOptions options;
    bool target;
  };
  ManagerOptions churn;
  churn.window_size = 4 << 20;       // regions of 4 MiB, one every 2 MiB
  churn.max_memory_size = 16 << 20;  // far below the file: constant eviction
  std::vector<Case> cases = {
      {"default options", ManagerOptions(), true},
      {"4 MiB windows, 16 MiB budget (churn)", churn, false}};
  for (const Case& c : cases) {
    auto [threads_s, processes_s] = ThreadsAgainstProcesses(c.options, 3, 5);
    const double ratio = processes_s / threads_s;
    std::printf(
        "%-4s %-58s %8.2fx %8.2fx  %s   (threads %.0f ms, processes %.0f ms)\n",
        c.target ? "T6" : "", c.name, ratio, 0.85,
        c.target ? (ratio >= 0.85 ? "ok" : "MISSED") : "info", threads_s * 1e3,
        processes_s * 1e3);
  }
}

// --- T9: the Python library -------------------------------------------------

// Upstream Python smmap (Debian's python3-smmap, 5.0.0: the library the usage
// guide's rewrite was derived from; the rewrite itself does not import on
// Python >= 3.10). Prints "cursor_ns <n>" (make_cursor + use_region(4 KiB) +
// one byte + release, on cached regions) and "scan_bytes_per_s <n>" (the
// file copied out in 1 MiB slices of a SlidingWindowMapBuffer on a fresh
// manager, best of 3).
constexpr char kPythonBenchmark[] = R"PY(
import os, random, sys, time
import smmap
path = sys.argv[1]
size = os.path.getsize(path)
mman = smmap.SlidingWindowMapManager()
rng = random.Random(5)
offsets = [rng.randrange(0, size - 4096) // 4096 * 4096 for _ in range(20000)]
def one(o):
    c = mman.make_cursor(path)
    c.use_region(o, 4096)
    c.buffer()[0]
    c.unuse_region()
for o in offsets:
    one(o)
start = time.perf_counter()
for o in offsets:
    one(o)
print("cursor_ns", (time.perf_counter() - start) / len(offsets) * 1e9)
best = 0
for _ in range(3):
    # A fresh manager per pass, as smmap's scan benchmark does: the pass
    # maps the file and faults its pages in.
    start = time.perf_counter()
    scan_mman = smmap.SlidingWindowMapManager()
    buf = smmap.SlidingWindowMapBuffer(scan_mman.make_cursor(path))
    for i in range(0, size, 1 << 20):
        bytes(buf[i:i + (1 << 20)])  # read every byte (a slice may be a view)
    buf.end_access()
    scan_mman.collect()
    best = max(best, size / (time.perf_counter() - start))
print("scan_bytes_per_s", best)
)PY";

// Runs the Python benchmark on the file; false if Python or smmap is missing.
bool RunPythonBenchmark(double* cursor_ns, double* scan_bytes_per_s) {
  char script[] = "/tmp/smmap-python-bench-XXXXXX";
  const int fd = ::mkstemp(script);
  if (fd < 0) return false;
  const bool written =
      ::write(fd, kPythonBenchmark, sizeof(kPythonBenchmark) - 1) ==
      static_cast<ssize_t>(sizeof(kPythonBenchmark) - 1);
  ::close(fd);
  bool ok = false;
  if (written) {
    const std::string command = absl::StrCat("/usr/bin/python3 ", script, " '",
                                             g_path, "' 2>/dev/null");
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      char key[64];
      double value;
      int found = 0;
      while (std::fscanf(pipe, "%63s %lf", key, &value) == 2) {
        if (std::strcmp(key, "cursor_ns") == 0) *cursor_ns = value, ++found;
        if (std::strcmp(key, "scan_bytes_per_s") == 0)
          *scan_bytes_per_s = value, ++found;
      }
      ok = ::pclose(pipe) == 0 && found == 2;
    }
  }
  ::unlink(script);
  return ok;
}

void PrintAgainstPython(const RatioReporter& r) {
  double cursor_ns = 0, scan_rate = 0;
  std::printf(
      "\n== T9: against the Python library (upstream smmap 5.0.0, Debian's "
      "python3-smmap), same file\n");
  if (!RunPythonBenchmark(&cursor_ns, &scan_rate)) {
    std::printf("T9   n/a: python3 with the smmap module is not installed\n");
    return;
  }
  const double ours_cursor = r.ns("cursor/fixed_cached/100");
  const double ours_scan =
      r.ns("scan/sliding_copy") > 0
          ? static_cast<double>(g_size) / r.ns("scan/sliding_copy") * 1e9
          : 0;
  // A side the run did not measure (a --benchmark_filter left it out) gives
  // no verdict.
  auto verdict = [](double ours, double theirs, bool ok) {
    return ours > 0 && theirs > 0 ? (ok ? "ok" : "MISSED") : "n/a";
  };
  std::printf(
      "%-4s %-58s %8.1fx %8.1fx  %s   (Python %.0f ns, smmap %.0f ns)\n", "T9",
      "cursor creation: Python time / smmap time", cursor_ns / ours_cursor,
      50.0, verdict(ours_cursor, cursor_ns, cursor_ns / ours_cursor >= 50),
      cursor_ns, ours_cursor);
  std::printf(
      "%-4s %-58s %8.2fx %8.2fx  %s   (Python %.2f GB/s, smmap %.2f GB/s)\n",
      "T9", "scan, copied out in 1 MiB pieces: smmap / Python",
      ours_scan / scan_rate, 1.0,
      verdict(ours_scan, scan_rate, ours_scan >= scan_rate), scan_rate / 1e9,
      ours_scan / 1e9);
}

}  // namespace
}  // namespace bench
}  // namespace smmap

namespace smmap {
namespace bench {

absl::StatusOr<std::unique_ptr<MemmapManager>> MakeManager(
    const UserScan& scan) {
  if (scan.greedy) {
    auto made = GreedyMemmapManager::Create(scan.options);
    if (!made.ok()) return made.status();
    return std::unique_ptr<MemmapManager>(std::move(*made));
  }
  auto made = TilingMemmapManager::Create(scan.options);
  if (!made.ok()) return made.status();
  return std::unique_ptr<MemmapManager>(std::move(*made));
}

int RunSuite(int argc, char** argv, const UserScan* user) {
  std::string file;
  uint64_t size = 1 << 30;
  std::vector<CacheState> states = {CacheState::kLargeFolio,
                                    CacheState::kSmallFolio};
  bool run_t6 = true;
  bool run_t9 = true;
  bool run_t10 = true;
  std::string default_dir = "/var/tmp";
  std::vector<char*> rest = {argv[0]};
  bool list_only = false;  // --benchmark_list_tests: names, no measurement
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (arg == "--benchmark_list_tests" ||
        arg == "--benchmark_list_tests=true") {
      list_only = true;
    }
    if (absl::ConsumePrefix(&arg, "--file=")) {
      file = std::string(arg);
    } else if (absl::ConsumePrefix(&arg, "--size=")) {
      auto parsed = smmap::tools::ParseSize(arg);
      if (!parsed.ok()) {
        std::fprintf(stderr, "--size: %s\n",
                     std::string(parsed.status().message()).c_str());
        return 2;
      }
      size = *parsed;
    } else if (absl::ConsumePrefix(&arg, "--dir=")) {
      default_dir = std::string(arg);
    } else if (arg == "--no_t6") {
      run_t6 = false;
    } else if (arg == "--no_t9") {
      run_t9 = false;
    } else if (arg == "--no_t10") {
      run_t10 = false;
    } else if (absl::ConsumePrefix(&arg, "--cache=")) {
      states.clear();
      for (absl::string_view s : absl::StrSplit(arg, ',')) {
        if (s == "large")
          states.push_back(CacheState::kLargeFolio);
        else if (s == "small")
          states.push_back(CacheState::kSmallFolio);
        else {
          std::fprintf(stderr, "--cache takes large, small or large,small\n");
          return 2;
        }
      }
    } else {
      rest.push_back(argv[i]);
    }
  }
  if (file.empty()) {
    file = absl::StrCat(default_dir, "/smmap-bench-", size, ".bin");
    if (absl::Status s = MakeBenchFile(file, size); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
  }
  struct stat st;
  if (::stat(file.c_str(), &st) != 0 || st.st_size < (1 << 24)) {
    std::fprintf(stderr, "%s: missing or smaller than 16 MiB\n", file.c_str());
    return 1;
  }
  g_path = file;
  g_size = static_cast<uint64_t>(st.st_size);
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (rest_argc > 1) {
    std::fprintf(stderr, "unknown flag: %s\n", rest[1]);
    return 2;
  }
  RegisterAll();
  if (user != nullptr) {
    g_user = *user;
    benchmark::RegisterBenchmark("scan/sliding_user", BM_ScanSlidingUser)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  if (list_only) {
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
  }
  std::printf("file %s, %llu bytes; %s\n", g_path.c_str(),
              static_cast<unsigned long long>(g_size),
              MachineDescription().c_str());
  for (CacheState state : states) {
    if (absl::Status s = SetCacheState(g_path, state); !s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      return 1;
    }
    auto resident = ResidentFraction(g_path);
    std::printf("\n== %s page cache (%.0f%% resident)\n",
                std::string(CacheStateName(state)).c_str(),
                resident.ok() ? *resident * 100 : -1.0);
    RatioReporter reporter;
    benchmark::RunSpecifiedBenchmarks(&reporter);
    ResetShared();  // nothing of the file may stay mapped across states
    PrintTargets(reporter, state);
    if (state == CacheState::kLargeFolio && run_t6) {
      PrintThreadsAgainstProcesses();
    }
    if (state == CacheState::kLargeFolio && run_t10) {
      PrintContention(MeasureContention(g_path, g_size, /*phase_seconds=*/1.0,
                                        /*trials=*/3));
    }
    if (state == CacheState::kLargeFolio && run_t9) {
      PrintAgainstPython(reporter);
    }
  }
  benchmark::Shutdown();
  return 0;
}

}  // namespace bench
}  // namespace smmap
