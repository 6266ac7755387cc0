#include "tools/bench/library_benchmarks.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "smmap/smmap.h"
#include "tools/bench/paired.h"
#include "tools/bench/raw_baselines.h"
#include "tools/common/scan.h"

namespace smmap {
namespace bench {
namespace {

using tools::XorScan;

// T1/T2: a sliding cursor's chunk scan with a fresh manager per pass (so it
// maps and unmaps like the raw baselines).
void ScanSliding(benchmark::State& state, const BenchFile& file,
                 const tools::ManagerChoice& choice) {
  for (auto _ : state) {
    auto mman = tools::MakeManager(choice);
    if (!mman.ok()) return Fail(state, mman.status());
    absl::StatusOr<SlidingCursor> cursor =
        (*mman)->MakeSlidingCursor(file.path);
    if (!cursor.ok()) return Fail(state, cursor.status());
    absl::StatusOr<uint64_t> x = tools::ScanRange(*cursor, 0, cursor->size());
    if (!x.ok()) return Fail(state, x.status());
    benchmark::DoNotOptimize(*x);
  }
  SetBytes(state, file.size);
}

// T9: the same pass, copying the file out in 1 MiB pieces with Read() (as
// the Python benchmark copies slices).
void ScanSlidingCopy(benchmark::State& state, const BenchFile& file) {
  std::vector<uint8_t> buffer(1 << 20);
  for (auto _ : state) {
    TilingMemmapManager mman;
    absl::StatusOr<SlidingCursor> cursor = mman.MakeSlidingCursor(file.path);
    if (!cursor.ok()) return Fail(state, cursor.status());
    for (uint64_t ofs = 0; ofs < cursor->size(); ofs += buffer.size()) {
      const size_t n = static_cast<size_t>(
          std::min<uint64_t>(buffer.size(), cursor->size() - ofs));
      absl::Status status = cursor->Read(ofs, absl::MakeSpan(buffer).first(n));
      if (!status.ok()) return Fail(state, status);
    }
    benchmark::DoNotOptimize(buffer.data());
  }
  SetBytes(state, file.size);
}

// T3: create and release a fixed cursor on one of `regions` cached regions
// of two pages, one at every other window, so that no request finds its
// neighbour's region.
void FixedCursorCached(benchmark::State& state, const BenchFile& file,
                       uint64_t regions) {
  ManagerOptions options;
  options.window_size = 2 * file.page;
  options.max_memory_size = uint64_t{1} << 40;
  auto mman = TilingMemmapManager::Create(options);
  if (!mman.ok()) return Fail(state, mman.status());
  if (regions * 2 * file.page > file.size) {
    return state.SkipWithError("file too small for that many regions");
  }
  for (uint64_t i = 0; i < regions; ++i) {
    auto c = (*mman)->MakeCursor(file.path, 2 * i * file.page, 16);
    if (!c.ok()) return Fail(state, c.status());
  }
  std::vector<uint64_t> offsets(4096);
  std::mt19937_64 rng(5);
  for (uint64_t& o : offsets) o = (rng() % regions) * 2 * file.page + 8;
  size_t k = 0;
  for (auto _ : state) {
    auto c = (*mman)->MakeCursor(file.path, offsets[k++ & 4095], 16);
    benchmark::DoNotOptimize(c->buffer().data());
  }
  state.counters["regions"] = static_cast<double>(regions);
  if ((*mman)->num_open_regions() != regions) {
    state.SkipWithError(absl::StrCat("expected ", regions, " regions, found ",
                                     (*mman)->num_open_regions())
                            .c_str());
  }
}

// T4, paired (RunPaired()): random 4 KiB reads of resident pages through a
// raw whole-file mapping, pread(), a fixed cursor per read and one sliding
// cursor, each of a manager with default options.
void Random4kPaired(benchmark::State& state, const BenchFile& file) {
  const WholeMapping mapping(file);
  const uint8_t* base = mapping.data();
  if (base == nullptr) return state.SkipWithError("mmap failed");
  // Two managers: each way reads through mappings of its own.
  TilingMemmapManager mman;
  TilingMemmapManager sliding_mman;
  auto sliding = sliding_mman.MakeSlidingCursor(file.path);
  if (!sliding.ok()) return Fail(state, sliding.status());
  const int fd = file.OpenOrDie();
  const absl::Cleanup close_fd = [fd] { ::close(fd); };
  uint8_t buffer[4 * kKiB];
  auto raw_read = [base](uint64_t ofs) {
    benchmark::DoNotOptimize(XorScan(base + ofs, 4 * kKiB));
    return true;
  };
  auto pread_read = [fd, &buffer](uint64_t ofs) {
    if (::pread(fd, buffer, sizeof(buffer), static_cast<off_t>(ofs)) < 0) {
      return false;
    }
    benchmark::DoNotOptimize(XorScan(buffer, sizeof(buffer)));
    return true;
  };
  auto fixed_read = [&](uint64_t ofs) {
    auto c = mman.MakeCursor(file.path, ofs, 4 * kKiB);
    if (!c.ok()) return false;
    benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
    return true;
  };
  auto sliding_read = [&](uint64_t ofs) {
    auto chunk = sliding->Chunk(ofs);
    if (!chunk.ok()) return false;
    benchmark::DoNotOptimize(XorScan(chunk->data(), 4 * kKiB));
    return true;
  };
  for (uint64_t o : file.random_offsets) {  // fault every page in first
    if (!raw_read(o) || !fixed_read(o) || !sliding_read(o)) {
      return state.SkipWithError("a read failed while faulting pages in");
    }
  }
  const PairedRead reads[] = {{"raw_mmap", raw_read},
                              {"pread", pread_read},
                              {"fixed_cursor", fixed_read},
                              {"sliding_cursor", sliding_read}};
  RunPaired(state, file, reads, PairedOffsets::kOwn);
}

// T5: random 4 KiB reads through fixed cursors of one shared manager, by
// 1 or 2 threads.
void ThreadsRandom4kFixed(benchmark::State& state, const BenchFile& file,
                          SharedManager& shared) {
  TilingMemmapManager& mman = shared.Get();
  size_t k = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto c = mman.MakeCursor(file.path, file.RandomOffset(k++), 4 * kKiB);
    benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
  }
  SetBytes(state, 4 * kKiB);
}

// T5: the same through one sliding cursor per thread on the shared manager.
void ThreadsRandom4kSliding(benchmark::State& state, const BenchFile& file,
                            SharedManager& shared) {
  auto cursor = shared.Get().MakeSlidingCursor(file.path);
  if (!cursor.ok()) return Fail(state, cursor.status());
  size_t k = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto chunk = cursor->Chunk(file.RandomOffset(k++));
    benchmark::DoNotOptimize(XorScan(chunk->data(), 4 * kKiB));
  }
  SetBytes(state, 4 * kKiB);
}

tools::ManagerChoice Tiling(uint64_t window, bool populate) {
  tools::ManagerChoice choice;
  if (window > 0) choice.options.window_size = window;
  choice.options.populate = populate;
  return choice;
}

}  // namespace

TilingMemmapManager& SharedManager::Get() {
  absl::MutexLock lock(&mu_);
  if (manager_ == nullptr) {
    manager_ = std::make_unique<TilingMemmapManager>();
    for (uint64_t o : file_.random_offsets) {
      auto c = manager_->MakeCursor(file_.path, o, 4 * kKiB);
      if (c.ok()) {
        benchmark::DoNotOptimize(XorScan(c->buffer().data(), c->size()));
      }
    }
  }
  return *manager_;
}

void SharedManager::Reset() {
  absl::MutexLock lock(&mu_);
  manager_.reset();
}

uint64_t MostCachedRegions(const BenchFile& file) {
  return std::min<uint64_t>(60000, file.size / (2 * file.page) - 1);
}

void RegisterLibraryBenchmarks(
    Registrar& registrar, const BenchFile& file, SharedManager& shared,
    const std::optional<tools::ManagerChoice>& user) {
  const BenchFile* f = &file;
  struct Scan {
    const char* name;
    uint64_t window;  // 0: the default
    bool populate;
  };
  for (const Scan& scan :
       {Scan{"default", 0, false}, Scan{"4M", 4 * kMiB, false},
        Scan{"32M", 32 * kMiB, false}, Scan{"default+populate", 0, true},
        Scan{"32M+populate", 32 * kMiB, true}}) {
    const tools::ManagerChoice choice = Tiling(scan.window, scan.populate);
    registrar.Add(
        absl::StrCat("scan/sliding/", scan.name),
        [f, choice](benchmark::State& s) { ScanSliding(s, *f, choice); },
        benchmark::kMillisecond);
  }
  registrar.Add(
      "scan/sliding_copy", [f](benchmark::State& s) { ScanSlidingCopy(s, *f); },
      benchmark::kMillisecond);
  if (user.has_value()) {
    const tools::ManagerChoice choice = *user;
    registrar.Add(
        "scan/sliding_user",
        [f, choice](benchmark::State& s) { ScanSliding(s, *f, choice); },
        benchmark::kMillisecond);
  }
  const uint64_t most = MostCachedRegions(file);
  for (uint64_t regions : {uint64_t{100}, uint64_t{10000}, most}) {
    registrar.Add(absl::StrCat("cursor/fixed_cached/",
                               regions == most ? std::string("most")
                                               : absl::StrCat(regions)),
                  [f, regions](benchmark::State& s) {
                    FixedCursorCached(s, *f, regions);
                  });
  }
  registrar.Add("random4k/paired",
                [f](benchmark::State& s) { Random4kPaired(s, *f); });
  SharedManager* m = &shared;
  registrar.AddThreaded(
      "threads/random4k_fixed",
      [f, m](benchmark::State& s) { ThreadsRandom4kFixed(s, *f, *m); }, {1, 2});
  registrar.AddThreaded(
      "threads/random4k_sliding",
      [f, m](benchmark::State& s) { ThreadsRandom4kSliding(s, *f, *m); },
      {1, 2});
}

void RegisterSlidingWindowSweep(Registrar& registrar, const BenchFile& file,
                                const std::vector<uint64_t>& windows) {
  const BenchFile* f = &file;
  for (uint64_t w : windows) {
    const tools::ManagerChoice choice = Tiling(w, false);
    registrar.Add(
        absl::StrCat("sweep/window/sliding/", w),
        [f, choice](benchmark::State& s) { ScanSliding(s, *f, choice); },
        benchmark::kMillisecond);
  }
}

}  // namespace bench
}  // namespace smmap
