// Memory-map managers: the owners of mapped regions, and the source of
// cursors.
//
// A manager maps page-aligned regions of files on demand, caches them after
// their cursors are released, and unmaps the least recently used unused ones
// when its budget of mapped bytes is reached (ManagerOptions). It keeps at
// most one file descriptor per file, within a budget of open files, and none
// once a file's regions are mapped and its descriptor was evicted.
//
//   smmap::TilingMemmapManager mman;           // default options
//   absl::StatusOr<smmap::FixedCursor> c = mman.MakeCursor("data.bin");
//   absl::StatusOr<smmap::SlidingCursor> s =
//   mman.MakeSlidingCursor("data.bin");
//
//   smmap::ManagerOptions options;
//   options.window_size = 64 << 20;
//   absl::StatusOr<std::unique_ptr<smmap::TilingMemmapManager>> custom =
//       smmap::TilingMemmapManager::Create(options);
//
// Two kinds:
//  - GreedyMemmapManager maps each file whole, in one region; files larger
//    than a non-zero window_size are refused. Simplest and fastest when files
//    fit the address space.
//  - TilingMemmapManager maps regions of about window_size bytes; the
//    default for huge files and bounded memory.
//
// Files: a file is named by a path (the manager opens it read-only) or by the
// caller's descriptor (never closed by the manager). Files are cached by that
// name: the same file under two paths is two files to the manager. The
// manager notices a file's growth and shrinkage when it maps a new region
// (the size of its descriptor), and a replaced file when it reopens the path
// (fstat: device, inode, birth time); regions already
// mapped keep showing the bytes of the file they were mapped from.
//
// Lifetime: close or destroy the manager when done. Close() unmaps every
// unused region and refuses new cursors; live cursors stay readable until
// they are released, then their regions go. Destroying a manager with live
// cursors is safe: the last cursor frees what is left.
//
// Thread-safe: any number of threads may make, read and release cursors on
// one manager at once. No system call runs under the manager's lock: a
// thread that must open, examine or map a file does so under a lock of that
// file alone, so other threads' cache hits, and their work on other files,
// do not wait for it, within the descriptor budget: at most
// max(max_open_files, 1) files load at once (see README "Threads").
// Neither copyable nor movable.

#ifndef SMMAP_MANAGER_H_
#define SMMAP_MANAGER_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "smmap/cursor.h"
#include "smmap/file_ref.h"
#include "smmap/options.h"
#include "smmap/sliding_cursor.h"
#include "smmap/stats.h"

namespace smmap {
namespace internal {
class Core;
class Inspector;
}  // namespace internal

class MemmapManager {
 public:
  MemmapManager(const MemmapManager&) = delete;
  MemmapManager& operator=(const MemmapManager&) = delete;
  // Closes the manager (see Close()).
  virtual ~MemmapManager();

  // A cursor on bytes [offset, offset + size) of `file`, within one region.
  // size 0 means as many bytes as possible: to the end of the region or the
  // file. A size reaching past the end of the file is cut at the end.
  // Errors:
  //  - OutOfRange: offset at or beyond the end of the file ("Offset(21)
  //    beyond file-size(20) for file: <path>"); for the greedy manager, a
  //    file larger than its window_size.
  //  - InvalidArgument: offset or size beyond 2^63 - 1, offset + size
  //    overflowing; not a regular file; a negative descriptor.
  //  - NotFound, PermissionDenied, ...: opening or examining the file.
  //  - ResourceExhausted: hard budget reached with every region in use;
  //    mmap failing (ENOMEM) or open running out of descriptors
  //    (EMFILE, ENFILE) even after what was cached was given back and the
  //    call retried once, or at once when nothing was cached.
  //  - FailedPrecondition: the manager is closed; a descriptor that is not
  //    open.
  // An empty file gives an open cursor of size 0 at offset 0.
  absl::StatusOr<FixedCursor> MakeCursor(FileRef file, uint64_t offset = 0,
                                         uint64_t size = 0);

  // A sliding cursor on bytes [offset, offset + size) of `file`; size 0
  // means to the end of the file, and a size reaching past the end is cut at
  // the end. Maps nothing until the cursor is read. Errors as MakeCursor().
  absl::StatusOr<SlidingCursor> MakeSlidingCursor(FileRef file,
                                                  uint64_t offset = 0,
                                                  uint64_t size = 0);

  // Unmaps every unused region and closes every descriptor the manager
  // holds. Returns the number of regions unmapped.
  size_t Collect();

  // Forgets `file` (as named: that path, or that descriptor): its unused
  // regions are unmapped and its descriptor closed now, the regions cursors
  // still use are unmapped when they let go, and the next request for the
  // name examines the file anew. Call it when you delete or replace a file
  // (a deleted file keeps its disk space while a mapping or descriptor holds
  // it), and before you close a descriptor you named a file by: its number
  // may then name another file, which the manager would otherwise serve
  // from the old file's cached regions. Returns the number of regions
  // unmapped now; 0 for a file the manager does not know.
  size_t Purge(FileRef file);

  // Collects, then refuses new cursors (FailedPrecondition). Live cursors
  // stay readable; their regions are unmapped when they are released (a
  // sliding cursor goes on mapping the regions it reads, uncached).
  // Idempotent.
  void Close();
  bool closed() const;

  // Regions currently mapped (used or not).
  size_t num_open_regions() const;
  // Regions currently pinned by at least one cursor.
  size_t num_used_regions() const;
  // Open fixed cursors and live sliding cursors.
  size_t num_open_cursors() const;
  // Bytes currently mapped (not counting regions other threads are mapping
  // at this moment, whose bytes the budget reserves).
  uint64_t mapped_memory_size() const;
  // File descriptors the manager holds open (not the caller's).
  size_t num_open_files() const;
  // Files the manager tracks: with regions, a descriptor, or cursors.
  size_t num_files() const;

  // The effective options (after defaults and rounding).
  // Tiling: the length of a region; 0 when files are mapped whole.
  // Greedy: the largest file it maps; 0 for no limit.
  uint64_t window_size() const;
  uint64_t max_memory_size() const;
  uint64_t max_open_files() const;
  bool hard_limits() const;

  // A snapshot of the manager's counters, copied under its lock: consistent
  // with each other, but for unmap_failures, which may lag (see
  // ManagerStats).
  ManagerStats stats() const;

 protected:
  // Takes ownership of `core`.
  explicit MemmapManager(internal::Core* core);

 private:
  friend class internal::Inspector;  // tests' view of the region cache
  internal::Core* const core_;
};

// Maps each file whole, in a single region per file.
class GreedyMemmapManager final : public MemmapManager {
 public:
  // Default options (window_size 0: any file size).
  GreedyMemmapManager();
  // InvalidArgument if `options` is inconsistent (see ManagerOptions).
  static absl::StatusOr<std::unique_ptr<GreedyMemmapManager>> Create(
      const ManagerOptions& options);

 private:
  explicit GreedyMemmapManager(internal::Core* core) : MemmapManager(core) {}
};

// Maps files in regions of about window_size bytes.
class TilingMemmapManager final : public MemmapManager {
 public:
  // Default options (1 GiB windows on 64-bit systems).
  TilingMemmapManager();
  // InvalidArgument if `options` is inconsistent (see ManagerOptions).
  static absl::StatusOr<std::unique_ptr<TilingMemmapManager>> Create(
      const ManagerOptions& options);

 private:
  explicit TilingMemmapManager(internal::Core* core) : MemmapManager(core) {}
};

}  // namespace smmap

#endif  // SMMAP_MANAGER_H_
