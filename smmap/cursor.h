// FixedCursor: a handle on one byte range of a file, inside one mapped region.
//
// Obtain cursors from a manager (smmap/manager.h) or from another cursor:
//
//   smmap::TilingMemmapManager mman;
//   absl::StatusOr<smmap::FixedCursor> c = mman.MakeCursor(path, 10, 5);
//   if (!c.ok()) return c.status();
//   absl::Span<const uint8_t> bytes = c->buffer();  // zero-copy, 5 bytes
//   absl::StatusOr<smmap::FixedCursor> next = c->NextCursor();  // bytes 15..20
//
// While a cursor is open, its region is "used" and is never unmapped; release
// cursors as soon as you are done (Release(), Close() or destruction), so the
// manager can keep its budgets. A closed cursor keeps its geometry (ofs(),
// size(), ...) and can still make new cursors on the same file.
//
// A cursor gets at most what one region holds: a request of up to
// window_size / 2 bytes (see ManagerOptions) is served whole unless it
// reaches the end of the file; a longer one may be cut at the end of the
// region. Always read size().
//
// Files that shrink while mapped: reading mapped bytes beyond the file's new
// end raises SIGBUS, in smmap as in every mmap-based reader. Do not truncate
// files while cursors on them are open, or read through ReadGuarded(), which
// turns that SIGBUS into DataLoss.
//
// Thread-compatible: one thread at a time may use a cursor; a cursor may be
// moved to another thread. Cursors on one manager may be used by different
// threads at once (managers are thread-safe). Move-only; a moved-from cursor
// is closed and bound to no manager.

#ifndef SMMAP_CURSOR_H_
#define SMMAP_CURSOR_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/base/attributes.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "absl/utility/utility.h"
#include "smmap/internal/binding.h"

namespace smmap {

class FixedCursor final {
 public:
  // A closed cursor bound to no manager (MakeCursor() on it fails).
  FixedCursor() = default;
  // Internal, for MemmapManager::MakeCursor() and MakeCursor() below (make
  // cursors with those): the cursor that `bind`, called as
  // `absl::Status bind(internal::FixedBinding*)`, binds in place, or bind's
  // error (on which the engine leaves the binding as it was, unbound). Made
  // where it is returned: copying a binding the engine has just written
  // costs about a tenth of a make and release (the copy's 16-byte loads wait
  // for the engine's 8-byte stores; BENCHMARKS.md).
  template <typename Bind>
  static absl::StatusOr<FixedCursor> Bound(Bind bind) {
    absl::StatusOr<FixedCursor> cursor(absl::in_place);
    absl::Status status = bind(&cursor->b_);
    if (!status.ok()) cursor = std::move(status);
    return cursor;
  }
  FixedCursor(FixedCursor&& other) noexcept;
  FixedCursor& operator=(FixedCursor&& other) noexcept;
  FixedCursor(const FixedCursor&) = delete;
  FixedCursor& operator=(const FixedCursor&) = delete;
  // Closes the cursor.
  ~FixedCursor();

  // The file offset of the first byte.
  uint64_t ofs() const { return b_.ofs; }
  // The number of bytes; 0 only for a cursor on an empty file.
  size_t size() const { return b_.size; }
  // ofs() + size(): the offset one past the last byte.
  uint64_t ofs_end() const { return b_.ofs + b_.size; }
  // The size of the file when this cursor was made.
  uint64_t file_size() const { return b_.file_size; }
  bool closed() const { return !b_.open; }
  // Whether `ofs` is a file offset inside [ofs(), ofs_end()).
  bool IncludesOfs(uint64_t ofs) const {
    return b_.ofs <= ofs && ofs < ofs_end();
  }

  // The path the cursor's file was named by, or empty if it was named by a
  // descriptor. Valid while this cursor is alive.
  absl::string_view path() const ABSL_ATTRIBUTE_LIFETIME_BOUND;
  // The caller's descriptor the file was named by, or -1 for a path.
  int fd() const;

  // The cursor's bytes, without copying: exactly size() bytes starting at
  // file offset ofs(). Empty on a closed cursor. The view stays valid until
  // the cursor is closed, released, moved from or destroyed.
  absl::Span<const uint8_t> buffer() const ABSL_ATTRIBUTE_LIFETIME_BOUND {
    return b_.open ? absl::Span<const uint8_t>(b_.data, b_.size)
                   : absl::Span<const uint8_t>();
  }

  // Copies the cursor's bytes [offset, offset + dst.size()) into `dst`,
  // turning the SIGBUS of a file truncated under the cursor into DataLoss
  // (see smmap/guarded_copy.h). OutOfRange if the range is not inside
  // [0, size()) or the cursor is closed.
  absl::Status ReadGuarded(uint64_t offset, absl::Span<uint8_t> dst) const;

  // Closes the cursor; its region becomes unused. Strict: calling it on a
  // closed cursor returns FailedPrecondition.
  absl::Status Release();
  // Closes the cursor if it is open. Idempotent.
  void Close();

  // "<path>" or "fd <n>": the file, for messages. Empty when unbound.
  std::string name() const;

  // A new cursor on the same file, as MemmapManager::MakeCursor(). Works on
  // a closed cursor too. The manager looks the file up again, so it sees
  // the file currently at the cursor's path.
  absl::StatusOr<FixedCursor> MakeCursor(uint64_t offset,
                                         uint64_t size = 0) const;
  // The cursor that follows this one: it starts at ofs_end() and asks for
  // size() bytes. OutOfRange at the end of the file (and always after the
  // empty cursor of an empty file).
  absl::StatusOr<FixedCursor> NextCursor() const;
  // The cursor that starts at ofs_end() and asks for `size` bytes (0: as
  // many as one region holds).
  absl::StatusOr<FixedCursor> NextCursor(uint64_t size) const;

 private:
  // Gives up this cursor's hold on its region and file; leaves it unbound.
  void Reset();

  internal::FixedBinding b_;  // unbound: default-constructed or moved from
};

}  // namespace smmap

#endif  // SMMAP_CURSOR_H_
