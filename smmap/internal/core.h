// The engine behind every manager: its files, regions, budgets and LRU order.
//
// A MemmapManager owns one Core; cursors refer to it through their file. The
// Core outlives its manager while any cursor still refers to one of its files
// (the last one to go deletes it), which is what makes destroying a manager
// with live cursors safe.
//
// Thread-safe. No thread waits on another thread's system calls unless it
// needs the same file's descriptor or a region of that file that is not
// cached yet. Two kinds of lock, always taken in this order:
//
//  1. FileEntry::load_mu, one per file: held by the one thread at a time that
//     *loads* for that file, that is, runs its system calls (stat, open,
//     fstat, mmap) and changes its descriptor, identity or size. A thread
//     that misses on a file another thread is loading waits for that load,
//     then looks the cache up again: a window is never mapped twice, and a
//     stalled file system stalls only the threads that need a new region,
//     size or descriptor of that file.
//  2. Core::mu_, the manager lock: guards every container and counter of the
//     Core and the fields of its FileEntry and Region objects marked so
//     below. It is held for short critical sections only, and never across
//     a system call: a loader releases it around each call (Core::Unlocked)
//     and re-checks, once it holds it again, whatever other threads may have
//     changed (regions, the LRU, the closed flag). Hits and releases on
//     cached regions take it once, and make no system call and no
//     allocation.
//
// munmap, close and madvise run with neither lock held (Deferred), or with
// only the loader's file lock held when they make room for its next call.
//
// Budgets with calls in flight:
//  - mapped bytes: a loader reserves its region's length (reserved_bytes_)
//    before mmap and gives it back after; the budget is checked against
//    mapped + reserved. In hard mode mapped_memory_size() therefore never
//    exceeds max_memory_size; in soft mode each loading thread may
//    over-allocate by at most one window, as the usage guide's library does.
//    mapped_memory_size() counts mapped bytes only, not reservations.
//  - descriptors: a loader about to open a file reserves a slot
//    (fds_opening_) and closes the least recently used idle descriptor
//    first, so the manager never holds more than max(max_open_files, 1)
//    descriptors, not even during a call (with max_open_files 0, one is open
//    while it maps and none between calls). A descriptor in use by a loader
//    (FileEntry::busy) is never closed under it; a loader that finds every
//    slot busy waits (slot_cv_) for one to go idle.
//
// What a cursor reads without a lock: its region's mapping (constant while
// the region is pinned) and its own fields. Everything else it asks the Core
// for.
//
// Hazards decided here (each has a test through the os seam in
// tests/engine_concurrency_test.cc):
//  - a region being mapped is not in any container until it is mapped: it is
//    neither used nor unused, Collect() and eviction cannot see it, and only
//    its bytes are counted, as a reservation;
//  - Close() or destruction during a load: the loader's reference keeps the
//    entry (and so the Core) alive; its new region goes to its own cursor and
//    is unmapped when that cursor lets go, uncached;
//  - a failed load gives its reservation back; threads waiting on the file
//    lock then load themselves and meet their own error, or succeed;
//  - the ENOMEM and EMFILE retries evict and close what is unused when they
//    hold the lock again, not what was unused before the failing call;
//  - one file's size is only ever written by its loader, so an older fstat
//    never undoes a newer one;
//  - two threads opening one path: the second finds the first's entry, still
//    being examined, and waits on its file lock: one descriptor per file.

#ifndef SMMAP_INTERNAL_CORE_H_
#define SMMAP_INTERNAL_CORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
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

// One mapping of bytes [ofs, ofs + size) of a file, created once its mmap has
// succeeded. Its fields other than `pins`, `attached` and `lru` (all guarded
// by Core::mu_) are constant after creation, so cursors read `mapping`
// without a lock while they pin the region.
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

// One file known to the manager. Fields marked (mu) are read and written
// under Core::mu_; fields marked (load) are written only by the thread that
// holds load_mu, while it also holds Core::mu_, so that either lock suffices
// to read them.
struct FileEntry {
  std::string path;     // empty when named by the caller's descriptor
  int caller_fd = -1;   // the caller's descriptor, or -1 for a path
  UniqueFd owned_fd;    // (load) the manager's descriptor for a path, if
                        // open; also closed under mu_ alone when !busy
  uint64_t device = 0;  // (load) identity, checked whenever the file is
  uint64_t inode = 0;   //        re-examined
  uint64_t size = 0;    // (load) as of the last fstat
  // (load) Whether the file was found to be a regular file and its identity
  // and size were read. A new entry is not examined until its first loader
  // has done so; if that fails, the next thread to load tries again.
  bool examined = false;
  // (load) Whether new requests for this file's name find this entry. An
  // entry is detached when the name turned out to denote another file.
  bool attached = true;
  // (mu) A loader holds load_mu and may use owned_fd: nobody else closes it.
  bool busy = false;
  absl::flat_hash_map<uint64_t, Region*> regions;  // (mu) attached, by index
  size_t num_regions = 0;  // (mu) all live regions of this file
  // (mu) Cursor objects and operations using the entry. A thread holds one
  // while it waits for or holds load_mu, so the entry outlives its lock.
  size_t refs = 0;
  ListLinks<FileEntry> fd_lru;  // (mu) in Core::fd_lru_ while owned_fd open
  // Serialises this file's loads (see the top of this file). A plain
  // std::mutex, not annotated: the analysis cannot follow a lock that moves
  // to another entry (RefreshLocked()) or is taken with mu_ released.
  std::mutex load_mu;

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
  // What to do with mu_ released: unmap, close, maybe delete the Core. An
  // operation collects these under mu_ and runs them when it lets go of mu_
  // (Finish()), or earlier, when it releases mu_ for a system call
  // (Unlocked()), so that what it evicts is gone before it maps or opens.
  struct Deferred {
    absl::InlinedVector<Mapping, 2> unmaps;
    // Descriptors the manager owned; each still counts in fds_closing_
    // until it is closed.
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
  // Unmaps and closes what `deferred` holds; returns how many descriptors
  // it closed. Needs no lock.
  static size_t RunReleases(Deferred& deferred);

  ~Core();

  // Runs `call` with mu_ released, after the unmaps and closes gathered so
  // far in `deferred`, and returns its result. Whatever was read under mu_
  // before may have changed when it returns.
  template <typename Call>
  auto Unlocked(Deferred* deferred, Call call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    mu_.Unlock();
    const size_t closed = RunReleases(*deferred);
    auto result = call();
    mu_.Lock();
    // The caller's reference keeps the Core: it is not deleted here.
    if (closed > 0) ClosedLocked(closed);
    return result;
  }
  // `n` descriptors counted in fds_closing_ are closed now. Returns true if
  // the Core is to be deleted now (after mu_ is released): its manager is
  // gone and this was the last thing it waited for.
  bool ClosedLocked(size_t n) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether nothing is left of the Core: no manager, no entry, no
  // descriptor still being closed.
  bool UnusedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !owner_alive_ && num_entries_ == 0 && fds_closing_ == 0;
  }

  // --- Loading: the per-file lock ----------------------------------------
  // Takes file->load_mu (releasing mu_ while it waits, if it must) and marks
  // the file busy. REQUIRES: the caller holds a reference on `file`.
  void LockFileLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Clears busy and lets go of file->load_mu. The caller's reference keeps
  // the entry alive until it drops it.
  void UnlockFileLocked(FileEntry* file) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a loading operation on `file`: unlocks it, then keeps the
  // descriptor budget (or, on a closed manager, closes the file's own
  // descriptor).
  void EndLoadLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SignalSlotsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (slot_waiters_ > 0) slot_cv_.SignalAll();
  }

  // --- Operations, under mu_ ----------------------------------------------
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
  // it takes over. REQUIRES: the caller loads `*entry`.
  absl::Status BindFixedLocked(FileEntry** entry, uint64_t offset,
                               uint64_t size, FixedCursor* cursor,
                               Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MakeSlidingLocked(const FileRef& file, uint64_t offset,
                                 uint64_t size, SlidingCursor* cursor,
                                 Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Points `cursor` at the region holding its index `i` (and up to
  // i + length if one window can). REQUIRES: the caller loads its file.
  absl::Status SlideLocked(SlidingCursor* cursor, uint64_t i, uint64_t length,
                           Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetWindowLocked(SlidingCursor* cursor, Region* region)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Files ----------------------------------------------------------------
  // The attached entry named by `file`, or nullptr.
  FileEntry* FindEntryLocked(const FileRef& file)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The attached entry named by `file`, a new one (not examined yet) if
  // there is none, with one more reference for the caller.
  FileEntry* FindOrAddEntryLocked(const FileRef& file)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Examines a new entry: learns that it is a regular file, its identity
  // and size, and opens it if it is named by a path. REQUIRES: the caller
  // loads `entry`.
  absl::Status ExamineLocked(FileEntry* entry, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Opens `path` in a descriptor slot reserved for it (see
  // ReserveFdSlotLocked()); if the process is out of descriptors, closes
  // the idle cached ones and retries once. On success the slot stays
  // reserved: hand the descriptor to AdoptFdLocked() or DiscardFdLocked().
  absl::StatusOr<UniqueFd> OpenLocked(const std::string& path,
                                      Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until fewer than max(max_open_files, 1) descriptors are held,
  // being opened or being closed, closing idle ones (least recently used
  // first) to get there; then reserves one slot.
  void ReserveFdSlotLocked(Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `file` keeps `fd`, opened in a reserved slot.
  void AdoptFdLocked(FileEntry* file, UniqueFd fd)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes `fd`, opened in a reserved slot, and gives the slot back.
  void DiscardFdLocked(UniqueFd fd, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fills in `entry` from `info` (and `fd`, if valid) of an examined file.
  void SetIdentityLocked(FileEntry* entry, UniqueFd fd,
                         const os::FileInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK if `offset` is inside `*entry` (or 0 of an empty file). Refreshes
  // the file's size first (and sets `*fresh`) when the offset lies beyond
  // what was known, or when the request `reaches_end` of what was known
  // (unless files are immutable), so that growth is seen. REQUIRES: the
  // caller loads `*entry`.
  absl::Status CheckOffsetLocked(FileEntry** entry, uint64_t offset,
                                 bool reaches_end, bool may_switch, bool* fresh,
                                 Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OutOfRange if a greedy manager's window cannot hold `file`.
  absl::Status CheckGreedyLimit(const FileEntry& file) const;
  // Re-examines `*entry` (fstat, reopening the path if its descriptor was
  // closed). Updates its size, detaching regions beyond a new end. If the
  // name now denotes another file: with `may_switch`, detaches the entry,
  // moves the caller's reference and load to a new entry and stores that in
  // `*entry`; otherwise fails with FailedPrecondition. REQUIRES: the caller
  // loads `*entry`.
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
  // REQUIRES: file->owned_fd is open and !file->busy.
  void CloseFdLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The least recently used entry holding a descriptor no loader uses, or
  // nullptr.
  FileEntry* IdleFdLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Closes idle descriptors, least recently used first, until at most
  // `keep` are held (or none is idle), deleting entries left with nothing.
  // `evicting`: to keep the budget (counted in stats_.fd_evictions).
  void CloseIdleFdsLocked(size_t keep, bool evicting, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Regions --------------------------------------------------------------
  // Window `i` of a file covers [i * stride, i * stride + window_size), cut
  // at the end of the file; with stride 0 there is one window, the whole
  // file.
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
  // The cached region holding file offset `ofs` and as much of the request
  // [ofs, ofs + size) as one window can, pinned and counted as a hit; or
  // nullptr. Needs no load.
  Region* TryHitLocked(const FileEntry& file, uint64_t ofs, uint64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // TryHitLocked(), or else maps (and pins) a region holding file offset
  // `ofs` and as much of the request [ofs, ofs + size) as one region can
  // (size 0: to the end of the file; a sliding cursor asks for at least one
  // byte). OutOfRange if `ofs` is beyond the end of the file. May switch
  // `*entry` as RefreshLocked() does (not when sliding). `fresh`: the
  // operation has just refreshed the file. REQUIRES: the caller loads
  // `*entry`.
  absl::StatusOr<Region*> AcquireLocked(FileEntry** entry, uint64_t ofs,
                                        uint64_t size, bool sliding, bool fresh,
                                        Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Maps window `index` of `file`, whose size is fresh. REQUIRES: the
  // window starts before the end of the file; the caller loads `file`.
  absl::StatusOr<Region*> MapRegionLocked(FileEntry* file, uint64_t index,
                                          Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Evicts unused regions so that `bytes` more fit the budget beside what is
  // mapped and reserved; fails in hard mode if they cannot.
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
  // Unmaps every unused region and closes every idle descriptor.
  size_t CollectLocked(Deferred* deferred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Config config_;
  // log2(config_.stride) if it is a power of two, else -1.
  const int stride_shift_;
  // Descriptors the manager may hold at once: max(max_open_files, 1).
  const uint64_t fd_slots_;
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
  // Descriptor slots reserved by loaders about to open, and descriptors
  // handed to a Deferred and not closed yet: both count in the budget.
  size_t fds_opening_ ABSL_GUARDED_BY(mu_) = 0;
  size_t fds_closing_ ABSL_GUARDED_BY(mu_) = 0;
  // Loaders waiting for a descriptor slot, on slot_cv_.
  size_t slot_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  CondVar slot_cv_;
  uint64_t mapped_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Bytes of regions being mapped (by loaders, with mu_ released).
  uint64_t reserved_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t num_regions_ ABSL_GUARDED_BY(mu_) = 0;
  size_t num_used_regions_ ABSL_GUARDED_BY(mu_) = 0;
  size_t num_cursors_ ABSL_GUARDED_BY(mu_) = 0;
  ManagerStats stats_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_CORE_H_
