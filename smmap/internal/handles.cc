#include "smmap/internal/handles.h"

#include "smmap/internal/os.h"

namespace smmap {
namespace internal {

void UniqueFd::Reset() {
  if (fd_ >= 0) {
    // Whatever close() reports, the descriptor is released (Linux semantics);
    // there is nothing more to do for a read-only file.
    os::Close(fd_);
    fd_ = -1;
  }
}

uint64_t Mapping::Rounded(uint64_t length) {
  const uint64_t page = os::PageSize();  // a power of two on Linux
  // Lengths are those of mappings, far below 2^64 - page. (A mask, not a
  // division: this runs several times for each region mapped or dropped.)
  return (length + page - 1) & ~(page - 1);
}

bool Mapping::Reset() {
  if (addr_ == nullptr) return true;
  const bool ok = os::MunmapRetried(addr_, size_) == 0;
  addr_ = nullptr;
  size_ = 0;
  return ok;
}

}  // namespace internal
}  // namespace smmap
