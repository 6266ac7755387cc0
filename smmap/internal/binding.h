// What the engine hands to a cursor: the file and region it holds, and where
// its bytes are. Cursors keep one of these and give it back to the engine
// (smmap/internal/core.h) to move or release it; neither needs to see the
// other's insides.
//
// Thread-compatible (plain values, owned by one cursor).

#ifndef SMMAP_INTERNAL_BINDING_H_
#define SMMAP_INTERNAL_BINDING_H_

#include <cstddef>
#include <cstdint>
#include <utility>

namespace smmap {
namespace internal {

class Core;
struct FileEntry;
struct Region;

// A fixed cursor's hold. Unbound when core is null (default-constructed or
// moved from).
struct FixedBinding {
  Core* core = nullptr;
  // Kept alive by the region's pin while open, by a reference of the
  // cursor's own while closed (or open on an empty file).
  FileEntry* file = nullptr;
  Region* region = nullptr;  // pinned while open; null if the file is empty
  const uint8_t* data = nullptr;
  uint64_t ofs = 0;
  size_t size = 0;
  uint64_t file_size = 0;  // when the cursor was made
  bool open = false;
  // (A new field is moved in MoveBinding() too.)
};

// *to = *from, and *from = FixedBinding(): a fixed cursor's move. Field by
// field, each read with the width the engine wrote it with: a cursor is most
// often moved just after it was made, and a copy of the whole struct (16-byte
// loads) would wait for the engine's 8-byte stores to reach the cache, about
// a tenth of a make and release (BENCHMARKS.md).
inline void MoveBinding(FixedBinding* from, FixedBinding* to) {
  to->core = std::exchange(from->core, nullptr);
  to->file = std::exchange(from->file, nullptr);
  to->region = std::exchange(from->region, nullptr);
  to->data = std::exchange(from->data, nullptr);
  to->ofs = std::exchange(from->ofs, 0);
  to->size = std::exchange(from->size, 0);
  to->file_size = std::exchange(from->file_size, 0);
  to->open = std::exchange(from->open, false);
}

// A sliding cursor's hold: a reference on its file, and the region it is
// in (pinned), whose part inside the cursor's range is indices
// [window_begin, window_begin + window_size) at `window`.
struct SlidingBinding {
  Core* core = nullptr;
  FileEntry* file = nullptr;
  uint64_t ofs = 0;
  uint64_t size = 0;
  uint64_t file_size = 0;  // when the cursor was made

  Region* region = nullptr;
  const uint8_t* window = nullptr;
  uint64_t window_begin = 0;
  uint64_t window_size = 0;

  uint64_t ofs_end() const { return ofs + size; }
  // Forgets the current region (already unpinned).
  void ClearWindow() {
    region = nullptr;
    window = nullptr;
    window_begin = 0;
    window_size = 0;
  }
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_BINDING_H_
