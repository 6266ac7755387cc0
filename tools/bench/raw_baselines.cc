#include "tools/bench/raw_baselines.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tools/common/scan.h"

namespace smmap {
namespace bench {
namespace {

using tools::XorScan;

// L2: mmap the whole file, scan, munmap.
void ScanRawMmapWhole(benchmark::State& state, const BenchFile& file) {
  const int fd = file.OpenOrDie();
  for (auto _ : state) {
    void* p = ::mmap(nullptr, file.size, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      ::close(fd);
      return state.SkipWithError("mmap failed");
    }
    benchmark::DoNotOptimize(
        XorScan(static_cast<const uint8_t*>(p), file.size));
    ::munmap(p, file.size);
  }
  ::close(fd);
  SetBytes(state, file.size);
}

// L3: map, scan and unmap consecutive windows of `window` bytes.
void ScanRawWindows(benchmark::State& state, const BenchFile& file,
                    uint64_t window) {
  const int fd = file.OpenOrDie();
  for (auto _ : state) {
    uint64_t x = 0;
    for (uint64_t ofs = 0; ofs < file.size; ofs += window) {
      const size_t n = static_cast<size_t>(std::min(window, file.size - ofs));
      void* p = ::mmap(nullptr, n, PROT_READ, MAP_SHARED, fd,
                       static_cast<off_t>(ofs));
      if (p == MAP_FAILED) {
        ::close(fd);
        return state.SkipWithError("mmap failed");
      }
      x ^= XorScan(static_cast<const uint8_t*>(p), n, ofs);
      ::munmap(p, n);
    }
    benchmark::DoNotOptimize(x);
  }
  ::close(fd);
  SetBytes(state, file.size);
}

// L4: read() into a buffer of `buffer_size` bytes, scan the buffer.
void ScanRead(benchmark::State& state, const BenchFile& file,
              uint64_t buffer_size) {
  std::vector<uint8_t> buffer(static_cast<size_t>(buffer_size));
  const int fd = file.OpenOrDie();
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
  SetBytes(state, file.size);
}

// L9: random 4 KiB reads from a whole-file mapping that stays mapped.
void Random4kRawMmap(benchmark::State& state, const BenchFile& file) {
  const WholeMapping mapping(file);
  const uint8_t* base = mapping.data();
  if (base == nullptr) return state.SkipWithError("mmap failed");
  for (uint64_t o : file.random_offsets) {  // fault every page in first
    benchmark::DoNotOptimize(XorScan(base + o, 4 * kKiB));
  }
  size_t k = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(XorScan(base + file.RandomOffset(k++), 4 * kKiB));
  }
  SetBytes(state, 4 * kKiB);
}

// L9: random 4 KiB preads, then the same scan.
void Random4kPread(benchmark::State& state, const BenchFile& file) {
  const int fd = file.OpenOrDie();
  uint8_t buffer[4 * kKiB];
  size_t k = 0;
  for (auto _ : state) {
    if (::pread(fd, buffer, sizeof(buffer),
                static_cast<off_t>(file.RandomOffset(k++))) < 0) {
      ::close(fd);
      return state.SkipWithError("pread failed");
    }
    benchmark::DoNotOptimize(XorScan(buffer, sizeof(buffer)));
  }
  ::close(fd);
  SetBytes(state, 4 * kKiB);
}

// L10: random reads of one shared raw mapping, by 1 or 2 threads.
void ThreadsRandom4kRawMmap(benchmark::State& state, const BenchFile& file,
                            SharedMapping& shared) {
  const uint8_t* base = shared.Get();
  if (base == nullptr) return state.SkipWithError("mmap failed");
  size_t k = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    benchmark::DoNotOptimize(XorScan(base + file.RandomOffset(k++), 4 * kKiB));
  }
  SetBytes(state, 4 * kKiB);
}

}  // namespace

WholeMapping::WholeMapping(const BenchFile& file) : size_(file.size) {
  const int fd = file.OpenOrDie();
  void* p = ::mmap(nullptr, size_, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p != MAP_FAILED) base_ = static_cast<const uint8_t*>(p);
}

WholeMapping::~WholeMapping() {
  if (base_ != nullptr) ::munmap(const_cast<uint8_t*>(base_), size_);
}

const uint8_t* SharedMapping::Get() {
  absl::MutexLock lock(&mu_);
  // A failed mmap is tried again by the next caller.
  if (!mapping_.has_value() || mapping_->data() == nullptr) {
    mapping_.emplace(file_);
  }
  return mapping_->data();
}

void SharedMapping::Reset() {
  absl::MutexLock lock(&mu_);
  mapping_.reset();
}

void RegisterRawBaselines(Registrar& registrar, const BenchFile& file,
                          SharedMapping& shared) {
  const BenchFile* f = &file;
  registrar.Add(
      "scan/raw_mmap_whole",
      [f](benchmark::State& s) { ScanRawMmapWhole(s, *f); },
      benchmark::kMillisecond);
  for (uint64_t w : {1 * kMiB, 2 * kMiB, 16 * kMiB}) {
    registrar.Add(
        absl::StrCat("scan/raw_windows/", w),
        [f, w](benchmark::State& s) { ScanRawWindows(s, *f, w); },
        benchmark::kMillisecond);
  }
  registrar.Add(
      "scan/read/131072",
      [f](benchmark::State& s) { ScanRead(s, *f, 128 * kKiB); },
      benchmark::kMillisecond);
  registrar.Add("random4k/raw_mmap",
                [f](benchmark::State& s) { Random4kRawMmap(s, *f); });
  registrar.Add("random4k/pread",
                [f](benchmark::State& s) { Random4kPread(s, *f); });
  SharedMapping* m = &shared;
  registrar.AddThreaded(
      "threads/random4k_raw_mmap",
      [f, m](benchmark::State& s) { ThreadsRandom4kRawMmap(s, *f, *m); },
      {1, 2});
}

void RegisterRawWindowSweep(Registrar& registrar, const BenchFile& file,
                            const std::vector<uint64_t>& windows) {
  const BenchFile* f = &file;
  for (uint64_t w : windows) {
    registrar.Add(
        absl::StrCat("sweep/window/raw_windows/", w),
        [f, w](benchmark::State& s) { ScanRawWindows(s, *f, w); },
        benchmark::kMillisecond);
    registrar.Add(
        absl::StrCat("sweep/window/read/", w),
        [f, w](benchmark::State& s) { ScanRead(s, *f, w); },
        benchmark::kMillisecond);
  }
}

}  // namespace bench
}  // namespace smmap
