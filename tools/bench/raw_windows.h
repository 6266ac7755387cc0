// Raw reads through mappings of a file's windows, with no manager: the
// baseline of the LRU churn benchmarks (T7, the churn curve) and of T10 and
// T11 (docs/performance.md).
//
// Thread-compatible.

#ifndef SMMAP_TOOLS_BENCH_RAW_WINDOWS_H_
#define SMMAP_TOOLS_BENCH_RAW_WINDOWS_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace smmap {
namespace bench {

// Windows of `window` bytes starting every `stride` bytes of the file, each
// read through its own mapping: a cache of at most `capacity` mappings
// evicted first in first out, with no other bookkeeping than a hash map from
// window to mapping. With capacity 0 every read maps its window and unmaps
// it at once.
class RawWindows {
 public:
  // How a full cache makes way for a new window.
  enum class Eviction {
    kUnmap,    // mmap the new window, munmap the oldest
    kMapOver,  // mmap the new window over the oldest (MAP_FIXED), if as long
  };
  // Opens `path` (`size` bytes); exits the process if it cannot.
  RawWindows(const std::string& path, uint64_t size, uint64_t window,
             uint64_t stride, size_t capacity,
             Eviction eviction = Eviction::kUnmap);
  ~RawWindows();
  RawWindows(const RawWindows&) = delete;
  RawWindows& operator=(const RawWindows&) = delete;

  // XORs `bytes` bytes at file offset `ofs` (within one window) through the
  // mapping of the window holding it; false if mmap fails.
  bool Read(uint64_t ofs, size_t bytes);

 private:
  struct Mapping {
    uint64_t begin;
    void* addr;
    size_t length;
  };
  const uint64_t size_;
  const uint64_t window_;
  const uint64_t stride_;
  const size_t capacity_;
  const Eviction eviction_;
  const int fd_;
  std::deque<Mapping> fifo_;
  absl::flat_hash_map<uint64_t, void*> index_;
};

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_RAW_WINDOWS_H_
