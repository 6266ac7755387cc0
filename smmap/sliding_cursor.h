// SlidingCursor: a handle on a byte range of a whole file, of any size.
//
// It maps and releases regions behind the scenes, so the caller indexes,
// slices, reads and scans bytes without caring where regions begin:
//
//   smmap::TilingMemmapManager mman;
//   absl::StatusOr<smmap::SlidingCursor> c = mman.MakeSlidingCursor(path);
//   uint8_t first = (*c)[0];                       // fast, unchecked
//   absl::StatusOr<uint8_t> last = c->At(-1);      // Python-style index
//   absl::StatusOr<smmap::Bytes> tail = c->Slice(-5);  // last five bytes
//   absl::Status s = c->ForEachChunk(0, c->size(),
//       [&](absl::Span<const uint8_t> chunk) { Consume(chunk); });
//
// Offsets and indices are relative to the cursor's start, ofs().
//
// A sliding cursor pins at most one region at a time (its current one), so it
// never holds the manager's budgets by more than one region, and it keeps
// working whatever the manager evicts. It belongs to the file it was made
// for: if that file is replaced on disk and the manager has to reopen it, the
// cursor fails with FailedPrecondition rather than mix two files; if the file
// shrinks below the cursor's range, reading the missing bytes fails with
// DataLoss. (Bytes of a region mapped before a file shrank raise SIGBUS when
// read, as with every mmap-based reader; do not truncate files being read,
// or read them with ReadGuarded().)
//
// Close() does nothing, as in the usage guide: the cursor stays usable until
// it is destroyed, and counts as an open cursor of its manager until then.
// That holds after the manager is closed or destroyed too: the cursor then
// maps the regions it needs one at a time (reopening the file by its path if
// needed), and the manager caches none of them, nor the descriptor.
//
// Thread-compatible: one thread at a time (const methods included, since
// reading moves the current region); it may be moved to another thread.
// Move-only; a moved-from cursor is empty and bound to no manager.

#ifndef SMMAP_SLIDING_CURSOR_H_
#define SMMAP_SLIDING_CURSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "absl/utility/utility.h"
#include "smmap/bytes.h"
#include "smmap/internal/binding.h"

namespace smmap {

class SlidingCursor final {
 public:
  // The largest copy Slice() makes (1 GiB).
  static constexpr uint64_t kMaxSliceCopy = uint64_t{1} << 30;

  // An empty cursor bound to no manager.
  SlidingCursor() = default;
  // Internal, for MemmapManager::MakeSlidingCursor() (make cursors with
  // it): the cursor that `bind` binds in place, or bind's error, as
  // FixedCursor::Bound(). (Moved as a whole struct: a sliding cursor is
  // made for many reads, not one.)
  template <typename Bind>
  static absl::StatusOr<SlidingCursor> Bound(Bind bind) {
    absl::StatusOr<SlidingCursor> cursor(absl::in_place);
    absl::Status status = bind(&cursor->b_);
    if (!status.ok()) cursor = std::move(status);
    return cursor;
  }
  SlidingCursor(SlidingCursor&& other) noexcept;
  SlidingCursor& operator=(SlidingCursor&& other) noexcept;
  SlidingCursor(const SlidingCursor&) = delete;
  SlidingCursor& operator=(const SlidingCursor&) = delete;
  // Releases the current region.
  ~SlidingCursor();

  // The file offset of index 0.
  uint64_t ofs() const { return b_.ofs; }
  // The number of bytes in the cursor's range.
  uint64_t size() const { return b_.size; }
  uint64_t ofs_end() const { return b_.ofs_end(); }
  // The size of the file when this cursor was made.
  uint64_t file_size() const { return b_.file_size; }
  // Always false: a sliding cursor never closes (see Close()).
  bool closed() const { return false; }
  // Does nothing, for compatibility with the usage guide.
  void Close() {}

  // As FixedCursor::path() and fd().
  absl::string_view path() const ABSL_ATTRIBUTE_LIFETIME_BOUND;
  int fd() const;

  // The byte at index `i`. Fast when the byte is in the current region.
  // REQUIRES: i < size().
  // If a region cannot be mapped (or the file shrank), returns 0 and records
  // the error in status(); check status() after a loop of unchecked reads,
  // or use At().
  uint8_t operator[](uint64_t i) {
    uint64_t rel = i - b_.window_begin;
    if (ABSL_PREDICT_TRUE(rel < b_.window_size)) return b_.window[rel];
    return LoadSlow(i);
  }

  // The byte at index `i`, where a negative index counts from the end
  // (At(-1) is the last byte). OutOfRange outside [-size(), size()).
  absl::StatusOr<uint8_t> At(int64_t i);

  // The bytes of indices [begin, end), with Python slice semantics: negative
  // indices count from the end, bounds are clamped to [0, size()], and
  // begin >= end gives no bytes. The result is a view when one region can
  // hold the bytes (any range of up to half a window can be; the view is
  // valid until the next call on this cursor) and a copy otherwise. A copy
  // of more than kMaxSliceCopy bytes is refused (ResourceExhausted): Read()
  // into your own buffer.
  absl::StatusOr<Bytes> Slice(int64_t begin, int64_t end);
  // Slice(begin, size()): from `begin` to the end.
  absl::StatusOr<Bytes> Slice(int64_t begin);

  // Copies bytes [offset, offset + dst.size()) into `dst`. OutOfRange if the
  // range is not inside [0, size()).
  absl::Status Read(uint64_t offset, absl::Span<uint8_t> dst);

  // Read(), but a SIGBUS raised by bytes of a file truncated while mapped
  // becomes DataLoss (see smmap/guarded_copy.h) instead of killing the
  // process.
  absl::Status ReadGuarded(uint64_t offset, absl::Span<uint8_t> dst);

  // The longest run of bytes starting at index `offset` that is mapped
  // contiguously (up to the end of the current region or of the cursor),
  // without copying. Valid until the next call on this cursor.
  // OutOfRange unless offset < size().
  absl::StatusOr<absl::Span<const uint8_t>> Chunk(uint64_t offset)
      ABSL_ATTRIBUTE_LIFETIME_BOUND;

  // Calls `visit` with consecutive zero-copy spans that together are exactly
  // the bytes [offset, offset + length), one span per region. Each span is
  // valid only during its call. This is the fast path for scans. OutOfRange
  // if the range is not inside [0, size()).
  absl::Status ForEachChunk(
      uint64_t offset, uint64_t length,
      absl::FunctionRef<void(absl::Span<const uint8_t>)> visit);

  // The first error met by operator[], or OK.
  const absl::Status& status() const { return status_; }

  // Unpins the current region (it stays cached, unused, for the manager to
  // keep or evict); the next access maps what it needs. Use it when a cursor
  // stays idle for long.
  void ReleaseRegion();

 private:
  // Makes a region holding index `i` current: one holding [i, i + length)
  // too if a window can. REQUIRES: i < size(), 1 <= length <= size() - i.
  absl::Status MoveTo(uint64_t i, uint64_t length = 1);
  uint8_t LoadSlow(uint64_t i);
  // Gives up the region and the file; leaves the cursor unbound.
  void Reset();
  // "<path>", "fd <n>", or "<none>" when unbound: for messages.
  std::string name() const;

  internal::SlidingBinding b_;  // unbound: default-constructed or moved from
  absl::Status status_;
};

}  // namespace smmap

#endif  // SMMAP_SLIDING_CURSOR_H_
