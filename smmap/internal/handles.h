// RAII owners of the two operating-system resources smmap holds: a file
// descriptor and a mapping. Both are move-only and release their resource
// through the os.h seam when destroyed. Releases batches them, so that they
// are released once no lock is held.
//
// Thread-compatible.

#ifndef SMMAP_INTERNAL_HANDLES_H_
#define SMMAP_INTERNAL_HANDLES_H_

#include <cstddef>
#include <cstdint>
#include <utility>

#include "absl/container/inlined_vector.h"

namespace smmap {
namespace internal {

// Owns a file descriptor; closes it on destruction.
class UniqueFd final {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes the descriptor now (if any).
  void Reset();

 private:
  int fd_ = -1;
};

// Owns a read-only mapping; unmaps it on destruction.
class Mapping final {
 public:
  Mapping() = default;
  Mapping(void* addr, size_t size) : addr_(addr), size_(size) {}
  Mapping(Mapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)),
        size_(std::exchange(other.size_, 0)) {}
  Mapping& operator=(Mapping&& other) noexcept {
    if (this != &other) {
      Reset();
      addr_ = std::exchange(other.addr_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~Mapping() { Reset(); }

  const uint8_t* data() const { return static_cast<const uint8_t*>(addr_); }
  size_t size() const { return size_; }
  // What the kernel maps for it: size() rounded up to whole pages.
  uint64_t mapped_size() const { return Rounded(size_); }
  // `length` rounded up to whole pages.
  static uint64_t Rounded(uint64_t length);
  // Unmaps now (if mapped). Returns false if munmap failed twice; the
  // address range is then given up (never reused by smmap).
  bool Reset();
  // Gives up ownership without unmapping: the caller now owns the address
  // range (to map over it, os::MmapOver()). Returns its address.
  void* Release() {
    size_ = 0;
    return std::exchange(addr_, nullptr);
  }

 private:
  void* addr_ = nullptr;
  size_t size_ = 0;
};

// Mappings to unmap and descriptors to close, gathered under a lock and
// released after it (by destruction, or by moving them out).
struct Releases {
  absl::InlinedVector<Mapping, 2> unmaps;
  absl::InlinedVector<UniqueFd, 2> closes;
  uint64_t unmap_bytes = 0;  // what `unmaps` maps, in whole pages

  bool empty() const { return unmaps.empty() && closes.empty(); }
  // Takes out one of `unmaps` that maps `mapped_size` bytes, if any, and
  // returns its address: the caller owns that range now, and must map over
  // it (os::MmapOver()) or unmap it. nullptr if none has that size.
  void* TakeUnmap(uint64_t mapped_size) {
    for (Mapping& mapping : unmaps) {
      if (mapping.mapped_size() != mapped_size) continue;
      void* addr = mapping.Release();
      mapping = std::move(unmaps.back());
      unmaps.pop_back();
      unmap_bytes -= mapped_size;
      return addr;
    }
    return nullptr;
  }
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_HANDLES_H_
