// The engine behind every manager: its files, regions, budgets and LRU order.
//
// A MemmapManager owns one Core; cursors refer to it through their file. The
// Core outlives its manager while any cursor still refers to one of its files
// (the last one to go deletes it), which is what makes destroying a manager
// with live cursors safe.
//
// Thread-safe: every piece of mutable state is guarded by mu_. System calls
// that may be slow and cannot fail in a way that matters (munmap, close,
// madvise and populating new regions) run after mu_ is released (but for
// descriptors closed on error paths, and the unmaps and closes that make
// room for a retry after ENOMEM or EMFILE); mmap (without MAP_POPULATE), open
// and fstat run under it, so that two threads never map the same region twice.
// A file system that stalls on open or fstat (a hung network mount) stalls
// the manager's other users too.

#ifndef SMMAP_INTERNAL_CORE_H_
#define SMMAP_INTERNAL_CORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "smmap/cursor.h"
#include "smmap/file_ref.h"
#include "smmap/internal/handles.h"
#include "smmap/internal/intrusive_list.h"
#include "smmap/internal/mutex.h"
#include "smmap/internal/os.h"
#include "smmap/options.h"
#include "smmap/sliding_cursor.h"
#include "smmap/stats.h"

namespace smmap {
namespace internal {

struct FileEntry;

// One mapping of bytes [ofs, ofs + size) of a file. Its fields other than
// `pins`, `attached` and `lru` are constant after creation, so cursors read
// `mapping` without the lock while they pin the region.
struct Region {
  FileEntry* file = nullptr;
  uint64_t index = 0;  // position in the file's window grid
  uint64_t ofs = 0;    // file offset of mapping.data(); page-aligned
  Mapping mapping;
  // Cursors currently using the region; while non-zero it is never unmapped.
  size_t pins = 0;
  // Whether new cursors can find it (it is in file->regions). A region that
  // no longer matches its file (grown, shrunk, replaced) is detached and
  // unmapped as soon as its last cursor lets go.
  bool attached = true;
  ListLinks<Region> lru;  // linked in Core::lru_ while unused and attached

  uint64_t end() const { return ofs + mapping.size(); }
};

// One file known to the manager.
struct FileEntry {
  std::string path;     // empty when named by the caller's descriptor
  int caller_fd = -1;   // the caller's descriptor, or -1 for a path
  UniqueFd owned_fd;    // the manager's descriptor for a path, if open
  uint64_t device = 0;  // identity, checked whenever the file is re-examined
  uint64_t inode = 0;
  uint64_t size = 0;  // as of the last fstat
  // Whether new requests for this file's name find this entry. An entry is
  // detached when the name turned out to denote another file.
  bool attached = true;
  absl::flat_hash_map<uint64_t, Region*> regions;  // attached, by index
  size_t num_regions = 0;  // all live regions of this file
  size_t refs = 0;         // cursor objects (and operations) using the entry
  ListLinks<FileEntry> fd_lru;  // linked in Core::fd_lru_ while owned_fd open

  int fd() const { return caller_fd >= 0 ? caller_fd : owned_fd.get(); }
  // "<path>" or "fd <n>", for messages.
  std::string Name() const;
};

// Options after defaults, rounding and validation.
struct Config {
  bool greedy = false;
  // Tiling: region length, 0 for whole files. Greedy: the largest file, 0
  // for no limit.
  uint64_t window_size = 0;
  // Tiling: regions start at multiples of stride (window_size / 2); 0 when
  // files are mapped whole (always for greedy).
  uint64_t stride = 0;
  uint64_t max_memory_size = 0;
  uint64_t max_open_files = 0;
  bool hard_limits = false;
  bool populate = false;
  bool immutable_files = false;
  AccessAdvice advice = AccessAdvice::kNone;
};

// Validates `options` for a greedy or tiling manager.
absl::StatusOr<Config> ResolveOptions(const ManagerOptions& options,
                                      bool greedy);

class Core final {
 public:
  explicit Core(const Config& config);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Called by the manager's destructor instead of `delete`: closes, and
  // deletes this Core now or when the last cursor lets go of it.
  void Destroy() ABSL_LOCKS_EXCLUDED(mu_);

  // --- Manager operations -------------------------------------------------
  absl::StatusOr<FixedCursor> MakeFixed(const FileRef& file, uint64_t offset,
                                        uint64_t size) ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<SlidingCursor> MakeSliding(const FileRef& file,
                                            uint64_t offset, uint64_t size)
      ABSL_LOCKS_EXCLUDED(mu_);
  size_t Collect() ABSL_LOCKS_EXCLUDED(mu_);
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  bool closed() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_open_regions() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_used_regions() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_open_cursors() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t mapped_memory_size() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_open_files() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_files() const ABSL_LOCKS_EXCLUDED(mu_);
  ManagerStats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  const Config& config() const { return config_; }
  // Whether the window starting nearest before file offset `ofs` reaches
  // `end` (ignoring the end of the file). Needs no lock.
  bool OneWindowHolds(uint64_t ofs, uint64_t end) const {
    return end <=
           WindowEnd(WindowIndex(ofs), std::numeric_limits<uint64_t>::max());
  }

  // --- Cursor operations --------------------------------------------------
  // A fixed cursor holds its region's pin while open (which keeps the file
  // alive), or one reference on its file while closed or empty.
  //
  // Closes a fixed cursor: trades its pin for a reference on `file`.
  void ReleaseFixed(FileEntry* file, Region* region) ABSL_LOCKS_EXCLUDED(mu_);
  // Lets go of a fixed cursor's pin or reference. May delete this Core: the
  // caller must not touch it afterwards.
  void UnbindFixed(FileEntry* file, Region* region, bool was_open)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Lets go of a sliding cursor's reference on `file` and of `region` (if
  // any). May delete this Core.
  void UnbindSliding(FileEntry* file, Region* region) ABSL_LOCKS_EXCLUDED(mu_);
  // Moves `cursor` to a region holding its index `i`, and its indices up to
  // i + length if one window can hold them.
  absl::Status Slide(SlidingCursor* cursor, uint64_t i, uint64_t length)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Unpins a sliding cursor's current region, if any.
  void ReleaseSliding(SlidingCursor* cursor) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What to do once mu_ is released: unmap, close, maybe delete the Core.
  struct Deferred {
    absl::InlinedVector<Mapping, 2> unmaps;
    absl::InlinedVector<UniqueFd, 2> closes;
    // New regions to advise and populate (pinned by the caller's cursor).
    struct NewRegion {
      void* addr;
      size_t length;
    };
    absl::InlinedVector<NewRegion, 1> advise;
    int advice = -1;  // an madvise() flag, or -1
    bool populate = false;
    // Where to count munmap failures: outlives the Core.
    std::shared_ptr<std::atomic<uint64_t>> unmap_failures;
    bool delete_core = false;
  };
  // Runs `deferred` (after mu_ is released). May delete `core`.
  static void Finish(Core* core, Deferred& deferred)
      ABSL_LOCKS_EXCLUDED(core->mu_) {
    if (ABSL_PREDICT_FALSE(!deferred.unmaps.empty() ||
                           !deferred.closes.empty() ||
                           !deferred.advise.empty() || deferred.delete_core)) {
      FinishSlow(core, deferred);
    }
  }
  static void FinishSlow(Core* core, Deferred& deferred)
      ABSL_LOCKS_EXCLUDED(core->mu_);

  ~Core();

  // Operations, under mu_.
  // The fast path of MakeFixed(): true if a cached region serves the request
  // (no system call, nothing to defer).
  bool TryFixedFromCacheLocked(const FileRef& file, uint64_t offset,
                               uint64_t size, FixedCursor* cursor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Points an open `cursor` at [offset, offset + size) of `region` (nullptr
  // for an empty file), taking over a reference on `entry`.
  void BindFixedCursorLocked(FileEntry* entry, Region* region, uint64_t offset,
                             uint64_t size, FixedCursor* cursor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MakeFixedLocked(const FileRef& file, uint64_t offset,
                               uint64_t size, FixedCursor* cursor,
                               Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Points `cursor` at [offset, offset + size) of `*entry`, whose reference
  // it takes over.
  absl::Status BindFixedLocked(FileEntry** entry, uint64_t offset,
                               uint64_t size, FixedCursor* cursor,
                               Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MakeSlidingLocked(const FileRef& file, uint64_t offset,
                                 uint64_t size, SlidingCursor* cursor,
                                 Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SlideLocked(SlidingCursor* cursor, uint64_t i, uint64_t length,
                           Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Files.
  // The attached entry named by `file`, or nullptr.
  FileEntry* FindEntryLocked(const FileRef& file)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<FileEntry*> FindOrOpenLocked(const FileRef& file,
                                              Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Opens `path`; if the process is out of descriptors, closes the cached
  // ones and retries once.
  absl::StatusOr<UniqueFd> OpenLocked(const std::string& path,
                                      Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  FileEntry* AddEntryLocked(const FileRef& file, UniqueFd fd,
                            const os::FileInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK if `offset` is inside `*entry` (or 0 of an empty file). Refreshes
  // the file's size first (and sets `*fresh`) when the offset lies beyond
  // what was known, or when the request `reaches_end` of what was known
  // (unless files are immutable), so that growth is seen.
  absl::Status CheckOffsetLocked(FileEntry** entry, uint64_t offset,
                                 bool reaches_end, bool may_switch, bool* fresh,
                                 Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OutOfRange if a greedy manager's window cannot hold `file`.
  absl::Status CheckGreedyLimit(const FileEntry& file) const;
  // Re-examines `*entry` (fstat, reopening the path if its descriptor was
  // closed). Updates its size, detaching regions beyond a new end. If the
  // name now denotes another file: with `may_switch`, detaches the entry,
  // moves the caller's reference to a new entry and stores that in
  // `*entry`; otherwise fails with FailedPrecondition.
  absl::Status RefreshLocked(FileEntry** entry, bool may_switch,
                             Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ShrinkLocked(FileEntry* file, uint64_t new_size, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DetachEntryLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnrefLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Deletes `file` if nothing refers to it any more.
  void MaybeDeleteEntryLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseFdLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes descriptors, least recently used first, down to max_open_files.
  void TrimFdsLocked(Deferred* deferred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Regions. Window `i` of a file covers [i * stride, i * stride +
  // window_size), cut at the end of the file; with stride 0 there is one
  // window, the whole file.
  uint64_t WindowIndex(uint64_t ofs) const {
    // A shift when the stride is a power of two (the default): a 64-bit
    // division costs tens of cycles on the hot path.
    if (stride_shift_ >= 0) return ofs >> stride_shift_;
    return config_.stride == 0 ? 0 : ofs / config_.stride;
  }
  uint64_t WindowEnd(uint64_t index, uint64_t file_size) const;
  // The end of a request for `size` bytes at `offset` (0: to the end).
  static uint64_t RequestEnd(const FileEntry& file, uint64_t offset,
                             uint64_t size);
  // The attached region of `file` holding [ofs, end), or nullptr, where
  // `index` is WindowIndex(ofs).
  Region* FindRegionLocked(const FileEntry& file, uint64_t index,
                           uint64_t end) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Finds or maps, and pins, a region holding file offset `ofs` and as much
  // of the request [ofs, ofs + size) as one region can (size 0: to the end
  // of the file; a sliding cursor asks for at least one byte). OutOfRange if
  // `ofs` is beyond the end of the file. May switch `*entry` as
  // RefreshLocked() does (not when sliding).
  // `fresh`: the operation has just refreshed the file.
  absl::StatusOr<Region*> AcquireLocked(FileEntry** entry, uint64_t ofs,
                                        uint64_t size, bool sliding, bool fresh,
                                        Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Maps window `index` of `file`, whose size is fresh. REQUIRES: the
  // window starts before the end of the file.
  absl::StatusOr<Region*> MapRegionLocked(FileEntry* file, uint64_t index,
                                          Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evicts unused regions so that `bytes` more fit the budget; fails in hard
  // mode if they cannot.
  absl::Status MakeRoomLocked(uint64_t bytes, const FileEntry& file,
                              Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void PinLocked(Region* region) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnpinLocked(Region* region, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // UnpinLocked() when it has nothing to unmap (the common case): returns
  // false, changing nothing, otherwise.
  bool TryUnpinLocked(Region* region) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // New cursors no longer find `region`; it goes when unused.
  void DetachRegionLocked(Region* region, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // REQUIRES: region->pins == 0.
  void DropRegionLocked(Region* region, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Unmaps unused regions, least recently used first, until at most
  // `keep_bytes` are mapped or none is unused. Returns how many.
  size_t EvictLocked(uint64_t keep_bytes, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Unmaps every unused region and closes every cached descriptor.
  size_t CollectLocked(Deferred* deferred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Config config_;
  // log2(config_.stride) if it is a power of two, else -1.
  const int stride_shift_;
  // munmap failures, counted after mu_ is released (even after the Core is
  // gone), hence shared with each Deferred that unmaps.
  const std::shared_ptr<std::atomic<uint64_t>> unmap_failures_;

  // On its own cache line, with the state every operation writes after it.
  alignas(64) mutable Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool owner_alive_ ABSL_GUARDED_BY(mu_) = true;
  absl::flat_hash_map<std::string, FileEntry*> by_path_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int, FileEntry*> by_fd_ ABSL_GUARDED_BY(mu_);
  size_t num_entries_ ABSL_GUARDED_BY(mu_) = 0;  // attached or not
  // The entry of the last path looked up (attached), to skip hashing when a
  // program asks for the same file again and again.
  FileEntry* last_path_entry_ ABSL_GUARDED_BY(mu_) = nullptr;
  // Unused attached regions, least recently used first.
  IntrusiveList<Region, &Region::lru> lru_ ABSL_GUARDED_BY(mu_);
  // Entries holding an owned descriptor, least recently used first.
  IntrusiveList<FileEntry, &FileEntry::fd_lru> fd_lru_ ABSL_GUARDED_BY(mu_);
  uint64_t mapped_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t num_regions_ ABSL_GUARDED_BY(mu_) = 0;
  size_t num_used_regions_ ABSL_GUARDED_BY(mu_) = 0;
  size_t num_cursors_ ABSL_GUARDED_BY(mu_) = 0;
  ManagerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_CORE_H_
