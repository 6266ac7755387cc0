#include "tools/bench/raw_windows.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include "benchmark/benchmark.h"
#include "tools/bench/bench_file.h"
#include "tools/common/scan.h"

namespace smmap {
namespace bench {

RawWindows::RawWindows(const std::string& path, uint64_t size, uint64_t window,
                       uint64_t stride, size_t capacity, Eviction eviction)
    : size_(size),
      window_(window),
      stride_(stride),
      capacity_(capacity),
      eviction_(eviction),
      fd_(OpenOrDie(path)) {}

RawWindows::~RawWindows() {
  for (const Mapping& m : fifo_) ::munmap(m.addr, m.length);
  ::close(fd_);
}

bool RawWindows::Read(uint64_t ofs, size_t bytes) {
  const uint64_t begin = ofs / stride_ * stride_;
  auto it = index_.find(begin);
  if (it != index_.end()) {
    benchmark::DoNotOptimize(tools::XorScan(
        static_cast<const uint8_t*>(it->second) + (ofs - begin), bytes));
    return true;
  }
  const size_t n = static_cast<size_t>(std::min(window_, size_ - begin));
  const bool full = capacity_ > 0 && fifo_.size() == capacity_;
  // (Windows are whole pages but for the file's last one.)
  void* over =
      full && eviction_ == Eviction::kMapOver && fifo_.front().length == n
          ? fifo_.front().addr
          : nullptr;
  void* p = ::mmap(over, n, PROT_READ,
                   over != nullptr ? MAP_SHARED | MAP_FIXED : MAP_SHARED, fd_,
                   static_cast<off_t>(begin));
  if (p == MAP_FAILED) return false;
  benchmark::DoNotOptimize(
      tools::XorScan(static_cast<const uint8_t*>(p) + (ofs - begin), bytes));
  if (capacity_ == 0) return ::munmap(p, n) == 0;
  if (full) {
    const Mapping& oldest = fifo_.front();
    if (over == nullptr) ::munmap(oldest.addr, oldest.length);
    index_.erase(oldest.begin);
    fifo_.pop_front();
  }
  fifo_.push_back({begin, p, n});
  index_.emplace(begin, p);
  return true;
}

}  // namespace bench
}  // namespace smmap
