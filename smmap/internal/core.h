// The engine behind every manager: the operations on its files and regions,
// their locking, the manager's lifetime, and the policy for files that grow,
// shrink or are replaced. It composes a FileTable (smmap/internal/
// file_table.h) and a RegionCache (smmap/internal/region_cache.h), pure
// bookkeeping, under its lock, and makes their system calls itself.
//
// A MemmapManager owns one Core; cursors refer to it through their file. The
// Core outlives its manager while any cursor still refers to one of its files
// (the last one to go deletes it), which is what makes destroying a manager
// with live cursors safe.
//
// Thread-safe. No thread waits on another thread's system calls unless it
// needs a region, size or descriptor of the same file that is not there yet,
// or a descriptor slot that every other loader holds (see "descriptors"
// below). Three kinds of lock, always taken in this order:
//
//  1. FileEntry::load_mu, one per file: held by the one thread at a time that
//     *loads* for that file, that is, runs its system calls (stat, open,
//     fstat, lseek, mmap) and changes its descriptor, identity or size. A
//     thread that misses on a file another thread is loading waits for that
//     load, then looks the cache up again: a window is never mapped twice, and
//     a stalled file system stalls only the threads that need a new region,
//     size or descriptor of that file. A request reaching the end of a file
//     as known needs a new size (growth is seen that way; CheckOffsetLocked())
//     unless files are immutable, even when its region is cached. A request
//     whose region is cached, or a new sliding cursor, takes no load lock:
//     if it needs a new size and the manager holds a descriptor of the
//     file, it asks that descriptor (CheckOffsetUnloadedLocked()).
//  2. FileEntry::size_mu, one per file: held from an lseek of the file's
//     descriptor for its size until that size is applied, by a loader or
//     by a thread that needs only the size, so that sizes are applied in
//     the order they were read.
//  3. Core::mu_, the manager lock: guards the file table, the region cache
//     (and the FileEntry and Region fields they mark (mu)), and the Core's
//     own counters. It is held for short critical sections only, and never
//     across a system call: a loader releases it around each call
//     (Core::Unlocked) and re-checks, once it holds it again, whatever other
//     threads may have changed (regions, the LRU, the closed flag). Hits and
//     releases on cached regions take it once, and make no system call and no
//     allocation.
//
// munmap, close and madvise run with neither lock held (Deferred), or with
// only the loader's file lock held when they make room for its next call;
// what they release is given back to the budgets (SettleLocked()) once it is
// released, before any further system call of that thread. A miss that
// evicted an unused region of as many pages maps its window over that
// region's address range instead (os::MmapOver(): one system call, not
// munmap and mmap); the range is the loader's alone from the moment it
// takes it out of what it evicted until that mmap fails, if it does: an
// error from the file system's mmap may leave the range free to any thread,
// and the loader then leaves alone what it finds there (counted as a
// failed munmap; os::MmapOver()).
//
// Budgets with calls in flight:
//  - mapped bytes, in whole pages: a loader reserves its region's length
//    (RegionCache) before mmap and gives it back after, and regions dropped
//    keep counting until munmap has run; the budget is checked against
//    mapped + reserved + being unmapped. A range mapped over counts once, as
//    the reservation (it holds the old pages or the new, never both). A
//    hard-mode loader that only other threads' pending unmaps keep out waits
//    for them (released_cv_), briefly; one that a reservation keeps out fails
//    with ResourceExhausted, as if the region being mapped were mapped. In hard
//    mode the process therefore never maps more than max_memory_size for the
//    manager; in soft mode each loading thread may over-allocate by at most one
//    window, as the usage guide's library does. mapped_memory_size() counts
//    mapped regions only.
//  - descriptors: a loader about to open a file reserves a slot (FileTable),
//    closing the least recently used idle descriptor first if every slot is
//    taken; descriptors being opened or closed hold their slot. So the
//    manager never holds more than max(max_open_files, 1) descriptors, not
//    even during a call (with max_open_files 0, one is open while it maps
//    and none between calls). A descriptor in use by a loader, or asked for
//    a size (FileEntry::busy), is never closed under it, so at most that
//    many files are loading at once: a loader that finds every slot busy waits
//    (released_cv_) for one to go idle, and a stalled file system can stall it
//    that way. Raise max_open_files to let more files load at once.
//
// What a cursor reads without a lock: its region's mapping (constant while
// the region is pinned) and its own fields. Everything else it asks the Core
// for.
//
// Hazards decided here (each has a test through the os seam in
// tests/engine_concurrency_test.cc or tests/engine_budgets_test.cc):
//  - a region being mapped is not in any container until it is mapped: it is
//    neither used nor unused, Collect() and eviction cannot see it, and only
//    its bytes are counted, as a reservation;
//  - Close() or destruction during a load: the loader's reference keeps the
//    entry (and so the Core) alive; its new region goes to its own cursor
//    (other live cursors may find it too) and is unmapped when the last of
//    them lets go; the file's descriptor is closed when the load ends;
//  - Purge() during a load: the entry is detached at once; the loader's
//    region is never found by new requests, and goes when unused; a loader
//    that then finds the name denoting another file follows the name
//    (FollowNameLocked()) rather than failing;
//  - a failed load gives its reservation back; threads waiting on the file
//    lock then load themselves and meet their own error, or succeed;
//  - the ENOMEM and EMFILE retries evict and close what is unused when they
//    hold the lock again, not what was unused before the failing call;
//  - one file's size is written by its loader (fstat, while no other thread
//    uses the descriptor) or under size_mu (lseek), so an older size never
//    undoes a newer one;
//  - a file that shrinks while a loader maps one of its windows (another
//    thread read the new size meanwhile): the new region, reaching beyond
//    the end, is never cached; it goes to the loader's cursor if the
//    cursor's offset is still inside the file (a sliding cursor's window
//    then ends at the file's end), and the loader fails as if it had seen
//    the shrink first otherwise; so does a greedy loader whose file grew
//    beyond the window limit meanwhile, and a loader whose file grew within
//    any limit is ordered before the growth (its cursor's size and
//    file_size() are those it mapped for);
//  - two threads opening one path: the second finds the first's entry, still
//    being examined, and waits on its file lock: one descriptor per file;
//  - a thread that waited on an entry that was meanwhile detached (the file
//    replaced, or purged) looks the name up again (LockNamedLocked()).

#ifndef SMMAP_INTERNAL_CORE_H_
#define SMMAP_INTERNAL_CORE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "smmap/file_ref.h"
#include "smmap/internal/binding.h"
#include "smmap/internal/config.h"
#include "smmap/internal/file_table.h"
#include "smmap/internal/handles.h"
#include "smmap/internal/inspect.h"
#include "smmap/internal/mutex.h"
#include "smmap/internal/os.h"
#include "smmap/internal/region_cache.h"
#include "smmap/stats.h"

namespace smmap {
namespace internal {

class Core final {
 public:
  explicit Core(const Config& config);
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // Called by the manager's destructor instead of `delete`: closes, and
  // deletes this Core now or when the last cursor lets go of it.
  void Destroy() ABSL_LOCKS_EXCLUDED(mu_);

  // --- Manager operations -------------------------------------------------
  // Binds the unbound `cursor` to [offset, offset + size) of `file`; on an
  // error, leaves it as it was. (An out-parameter, not a StatusOr: the
  // cursor is made in place, by FixedCursor::Bound().)
  absl::Status MakeFixed(const FileRef& file, uint64_t offset, uint64_t size,
                         FixedBinding* cursor) ABSL_LOCKS_EXCLUDED(mu_);
  // The same for a sliding cursor.
  absl::Status MakeSliding(const FileRef& file, uint64_t offset, uint64_t size,
                           SlidingBinding* cursor) ABSL_LOCKS_EXCLUDED(mu_);
  size_t Collect() ABSL_LOCKS_EXCLUDED(mu_);
  size_t Purge(const FileRef& file) ABSL_LOCKS_EXCLUDED(mu_);
  void Close() ABSL_LOCKS_EXCLUDED(mu_);

  bool closed() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_open_regions() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_used_regions() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_open_cursors() const ABSL_LOCKS_EXCLUDED(mu_);
  uint64_t mapped_memory_size() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_open_files() const ABSL_LOCKS_EXCLUDED(mu_);
  size_t num_files() const ABSL_LOCKS_EXCLUDED(mu_);
  // For Inspector::Regions() (smmap/internal/inspect.h).
  std::vector<RegionView> RegionsForTesting() const ABSL_LOCKS_EXCLUDED(mu_);
  ManagerStats stats() const ABSL_LOCKS_EXCLUDED(mu_);
  const Config& config() const { return config_; }
  const Geometry& geometry() const { return geometry_; }

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
  absl::Status Slide(SlidingBinding* cursor, uint64_t i, uint64_t length)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Unpins a sliding cursor's current region, if any.
  void ReleaseSliding(SlidingBinding* cursor) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What to do with mu_ released: unmap, close, advise, maybe delete the
  // Core. An operation gathers these under mu_ and runs them when it lets
  // go of mu_ (Finish()), or earlier, when it releases mu_ for a system
  // call (Unlocked()), so that what it evicts is gone before it maps or
  // opens.
  struct Deferred {
    // The descriptors and bytes among these count in the budgets until they
    // are released (SettleLocked()).
    Releases releases;
    // New regions to advise and populate (pinned by the caller's cursor).
    struct NewRegion {
      void* addr;
      size_t length;
    };
    absl::InlinedVector<NewRegion, 1> advise;
    int advice = -1;  // an madvise() flag, or -1
    bool populate = false;
    bool delete_core = false;
  };
  // What RunReleases() released.
  struct Released {
    size_t fds = 0;
    uint64_t bytes = 0;
    uint64_t unmap_failures = 0;
    bool any() const { return fds > 0 || bytes > 0; }
  };
  // Runs `deferred` (after mu_ is released). May delete `core`, which then
  // must not be touched.
  static void Finish(Core* core, Deferred& deferred)
      ABSL_LOCKS_EXCLUDED(core->mu_) {
    if (ABSL_PREDICT_FALSE(!deferred.releases.empty() ||
                           !deferred.advise.empty() || deferred.delete_core)) {
      FinishSlow(core, deferred);
    }
  }
  static void FinishSlow(Core* core, Deferred& deferred)
      ABSL_LOCKS_EXCLUDED(core->mu_);
  // Unmaps and closes what `deferred` holds. Needs no lock.
  static Released RunReleases(Deferred& deferred);
  // Takes back from the budgets what RunReleases() released. Returns true
  // if the Core is to be deleted now (after mu_ is released): its manager
  // is gone and this was the last thing it waited for.
  bool SettleLocked(const Released& released)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Holds mu_ for one operation, and runs what it deferred once mu_ is
  // released (which may delete the Core).
  class ABSL_SCOPED_LOCKABLE Operation final {
   public:
    explicit Operation(Core* core) ABSL_EXCLUSIVE_LOCK_FUNCTION(core->mu_)
        : core_(core) {
      core_->mu_.Lock();
    }
    Operation(const Operation&) = delete;
    Operation& operator=(const Operation&) = delete;
    ~Operation() ABSL_UNLOCK_FUNCTION() {
      core_->mu_.Unlock();
      Finish(core_, deferred_);
    }
    Deferred& deferred() { return deferred_; }

   private:
    Core* const core_;
    Deferred deferred_;
  };

  ~Core();

  // Runs `call` with mu_ released, after releasing what `deferred` gathered
  // so far (and giving it back to the budgets), and returns its result.
  // Whatever was read under mu_ before may have changed when it returns.
  template <typename Call>
  auto Unlocked(Deferred* deferred, Call call)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    mu_.Unlock();
    const Released released = RunReleases(*deferred);
    if (released.any()) {
      // The caller's reference keeps the Core: it is not deleted here.
      mu_.Lock();
      SettleLocked(released);
      mu_.Unlock();
    }
    auto result = call();
    mu_.Lock();
    return result;
  }
  // Whether nothing is left of the Core: no manager, no file, nothing
  // still being closed or unmapped.
  bool UnusedLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !owner_alive_ && files_.empty() && files_.closing() == 0 &&
           regions_.unmapping_bytes() == 0;
  }
  // Deletes `file` if nothing needs it any more (and marks the Core for
  // deletion if that was the last thing it waited for).
  void MaybeDeleteEntryLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnrefLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    --file->refs;
    MaybeDeleteEntryLocked(file, deferred);
  }
  // The region cache's OnDrop: MaybeDeleteEntryLocked() of each file that
  // lost a region. Called by the cache, under mu_.
  struct Dropped {
    Core* core;
    Deferred* deferred;
    void operator()(FileEntry* file) const {
      core->mu_.AssertHeld();
      core->MaybeDeleteEntryLocked(file, deferred);
    }
  };

  // --- Loading: the per-file lock ----------------------------------------
  // Takes file->load_mu (releasing mu_ while it waits, if it must) and marks
  // the file busy. REQUIRES: the caller holds a reference on `file`.
  void LockFileLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The attached entry named by `file` (a new one if there is none), with a
  // reference and its load lock. An entry found detached once its lock is
  // held (replaced or purged meanwhile) is let go of, and the name looked
  // up again.
  FileEntry* LockNamedLocked(const FileRef& file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Clears busy and lets go of file->load_mu. The caller's reference keeps
  // the entry alive until it drops it.
  void UnlockFileLocked(FileEntry* file) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Ends a loading operation on `file`: unlocks it, then keeps the
  // descriptor budget (or, on a closed manager or for a detached file,
  // closes the file's own descriptor).
  void EndLoadLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After a thread stopped using `file`'s descriptor: keeps the descriptor
  // budget, or, on a closed manager or for a detached file, closes the
  // file's own descriptor if no other thread uses it.
  void KeepFdBudgetLocked(FileEntry* file, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SignalReleasedLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (release_waiters_ > 0) released_cv_.SignalAll();
  }

  // --- Operations, under mu_ ----------------------------------------------
  // The fast path of MakeFixed(): true if a cached region serves the request
  // (no system call, nothing to defer). A request whose region is cached
  // but reaches the end of the file as known needs the file's size first:
  // false, with its entry in `*cached_at_end`.
  bool TryFixedFromCacheLocked(const FileRef& file, uint64_t offset,
                               uint64_t size, FixedBinding* cursor,
                               FileEntry** cached_at_end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The next path of MakeFixed(), for a request reaching the end of
  // `entry` as known whose region is cached: it asks the file's descriptor
  // for the size with no load lock (CheckOffsetUnloadedLocked()). True if
  // that served the request or failed (`*status`); false if the request
  // needs a load: with no descriptor of ours, or, with the size read and
  // the operation's reference on the entry handed over in `*sized`, if its
  // region is not cached for the new size.
  bool TryFixedAfterSizeLocked(FileEntry* entry, uint64_t offset, uint64_t size,
                               FixedBinding* cursor, FileEntry** sized,
                               absl::Status* status, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Points an open `cursor` at [offset, offset + size) of `region` (nullptr
  // for an empty file), taking over a reference on `entry`, for a file of
  // `file_size` bytes (the size the request saw: entry->size, or less).
  void BindFixedLocked(FileEntry* entry, Region* region, uint64_t offset,
                       uint64_t size, uint64_t file_size, FixedBinding* cursor)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The slow path of MakeFixed(); `cached_at_end` as
  // TryFixedFromCacheLocked() left it.
  absl::Status MakeFixedLocked(const FileRef& file, uint64_t offset,
                               uint64_t size, FileEntry* cached_at_end,
                               FixedBinding* cursor, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Loads what a fixed cursor on [offset, offset + size) of `*entry` needs
  // and binds it. REQUIRES: the caller loads `*entry`.
  // `fresh`: the entry's size was just read.
  absl::Status LoadFixedLocked(FileEntry** entry, uint64_t offset,
                               uint64_t size, bool fresh, FixedBinding* cursor,
                               Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status MakeSlidingLocked(const FileRef& file, uint64_t offset,
                                 uint64_t size, SlidingBinding* cursor,
                                 Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Points `cursor` at the region holding its index `i` (and up to
  // i + length if one window can). REQUIRES: the caller loads its file.
  absl::Status SlideLocked(SlidingBinding* cursor, uint64_t i, uint64_t length,
                           Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SetWindow(SlidingBinding* cursor, const Region& region)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Files ----------------------------------------------------------------
  // Examines a new entry: learns that it is a regular file, its identity
  // and size, and opens it if it is named by a path. REQUIRES: the caller
  // loads `entry`.
  absl::Status ExamineLocked(FileEntry* entry, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Opens `path` in a descriptor slot reserved for it (waiting for one, and
  // closing the least recently used idle descriptor, as needed); if the
  // process is out of descriptors, closes the idle cached ones and retries
  // once. On success the slot stays reserved: hand the descriptor to
  // files_.Adopt() or DiscardFdLocked().
  absl::StatusOr<UniqueFd> OpenLocked(const std::string& path,
                                      Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReserveFdSlotLocked(Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Releases what this operation let go of (others may wait for it) if
  // anything; otherwise waits on released_cv_ for other threads to release
  // descriptors or bytes. The caller re-checks what it waits for.
  void WaitReleasedLocked(Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DiscardFdLocked(UniqueFd fd, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    files_.Discard(std::move(fd), &deferred->releases);
  }
  // Fills in `entry` from `info` (and `fd`, if valid) of an examined file.
  void SetIdentityLocked(FileEntry* entry, UniqueFd fd,
                         const os::FileInfo& info)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Whether the size known of examined `file` answers a request at
  // `offset` with no system call: the offset is inside it, and the request
  // does not reach its end (or files are immutable).
  bool KnownSizeSuffices(const FileEntry& file, uint64_t offset,
                         bool reaches_end) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return offset < file.size && !(reaches_end && !config_.immutable_files);
  }
  // CheckOffsetLocked() without the file's load lock, for an examined file
  // with a descriptor of ours: a request that needs only a new size asks
  // that descriptor for it (lseek, under size_mu) and does not wait for
  // another thread's load of the file, which may be an mmap of another
  // window. REQUIRES: a reference on `entry`; entry->owned_fd open.
  absl::Status CheckOffsetUnloadedLocked(FileEntry* entry, uint64_t offset,
                                         bool reaches_end, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OK if `offset` is inside `*entry` (or 0 of an empty file). Unless
  // `*fresh` (the size was just read), refreshes the file's size first (and
  // sets `*fresh`) when the offset lies beyond what was known, or when the
  // request `reaches_end` of what was known (unless files are immutable),
  // so that growth is seen. REQUIRES: the caller loads `*entry`
  // (or CheckOffsetUnloadedLocked() uses its descriptor).
  absl::Status CheckOffsetLocked(FileEntry** entry, uint64_t offset,
                                 bool reaches_end, bool may_switch, bool* fresh,
                                 Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // OutOfRange if a greedy manager's window cannot hold `file`.
  absl::Status CheckGreedyLimit(const FileEntry& file) const;
  // Re-examines `*entry`: the size of the descriptor it holds (lseek; what
  // an open descriptor denotes cannot change), or fstat of the caller's
  // descriptor, or of the path reopened if its descriptor was closed.
  // Updates its size, detaching regions beyond a new end. If the
  // name now denotes another file: with `may_switch`, detaches the entry,
  // moves the caller's reference and load to a new entry (or to the name's
  // entry, if `*entry` was purged meanwhile) and stores that in `*entry`;
  // otherwise fails with FailedPrecondition. REQUIRES: the caller loads
  // `*entry`.
  absl::Status RefreshLocked(FileEntry** entry, bool may_switch,
                             Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // RefreshLocked() of an entry purged meanwhile whose name now denotes
  // another file: moves the caller's reference and load to the name's
  // entry (waiting for its lock, if another thread loads it), examined or
  // refreshed, and stores that in `*entry`, even if that fails.
  absl::Status FollowNameLocked(FileEntry** entry, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Records `size` as `file`'s, detaching its regions beyond a new end.
  void SetSizeLocked(FileEntry* file, uint64_t size, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // --- Regions --------------------------------------------------------------
  // The cached region holding file offset `ofs` and as much of the request
  // [ofs, ofs + size) as one window can, pinned and counted as a hit; or
  // nullptr. Needs no load. REQUIRES: ofs < file.size.
  Region* TryHitLocked(const FileEntry& file, uint64_t ofs, uint64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // TryHitLocked(), or else maps (and pins) a region holding file offset
  // `ofs` and as much of the request [ofs, ofs + size) as one region can
  // (size 0: to the end of the file; a sliding cursor asks for at least one
  // byte). OutOfRange if `ofs` is beyond the end of the file, but for a
  // fixed cursor at 0 of a file found empty: nullptr. May switch
  // `*entry` as RefreshLocked() does (not when sliding). `fresh`: the
  // operation has just refreshed the file. `*seen`, if given, is set to
  // the size a region was mapped for if the file grew meanwhile (another
  // thread read the new size): the request is ordered before the growth.
  // REQUIRES: the caller loads `*entry`.
  absl::StatusOr<Region*> AcquireLocked(FileEntry** entry, uint64_t ofs,
                                        uint64_t size, bool sliding, bool fresh,
                                        Deferred* deferred,
                                        uint64_t* seen = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Maps window `index` of `file`, whose size is fresh, and pins it.
  // REQUIRES: the window starts before the end of the file; the caller loads
  // `file`.
  absl::StatusOr<Region*> MapRegionLocked(FileEntry* file, uint64_t index,
                                          Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void UnpinLocked(Region* region, Deferred* deferred)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    regions_.Unpin(region, closed_, &deferred->releases,
                   Dropped{this, deferred});
  }
  // Unmaps every unused region and closes every idle descriptor.
  size_t CollectLocked(Deferred* deferred) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Config config_;
  const Geometry geometry_;

  // On its own cache line, with the state every operation writes after it.
  alignas(64) mutable Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool owner_alive_ ABSL_GUARDED_BY(mu_) = true;
  FileTable files_ ABSL_GUARDED_BY(mu_);
  RegionCache regions_ ABSL_GUARDED_BY(mu_);
  // Loaders waiting for a descriptor slot, or for other threads' unmaps to
  // make room in a hard budget, on released_cv_; signalled when descriptors
  // or bytes are given back, or a loader ends.
  size_t release_waiters_ ABSL_GUARDED_BY(mu_) = 0;
  CondVar released_cv_;
  size_t num_cursors_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cursor_hits_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t cursor_misses_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t map_failures_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t unmap_failures_ ABSL_GUARDED_BY(mu_) = 0;  // counted when settled
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_CORE_H_
