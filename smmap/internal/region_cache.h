// The regions a manager has mapped: where they are in each file's window
// grid, which cursors pin them, the exact LRU order of the unused ones, and
// the budget of mapped bytes, with reservations for regions being mapped.
// Bytes are counted as the kernel maps them, in whole pages: a region of a
// 1-byte file costs a page.
//
// Pure bookkeeping: the cache makes no system call (mmap is the Core's; the
// mappings it drops are handed back in Releases, to be unmapped with no lock
// held) and takes no lock. Every operation is O(1) but for those that drop
// several regions.
//
// Not thread-safe: its owner (the Core) guards it, the Region fields marked
// (mu), and FileEntry::regions and num_regions, with its lock.

#ifndef SMMAP_INTERNAL_REGION_CACHE_H_
#define SMMAP_INTERNAL_REGION_CACHE_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "smmap/internal/file_table.h"
#include "smmap/internal/handles.h"
#include "smmap/internal/intrusive_list.h"
#include "smmap/stats.h"

namespace smmap {
namespace internal {

// One mapping of bytes [ofs, ofs + mapping.size()) of a file, made once its
// mmap has succeeded. Fields other than those marked (mu) are constant, so
// a cursor reads `mapping` with no lock while it pins the region.
struct Region {
  FileEntry* file = nullptr;
  uint64_t index = 0;  // position in the file's window grid
  uint64_t ofs = 0;    // file offset of mapping.data(); page-aligned
  Mapping mapping;
  // (mu) Cursors using the region; while non-zero it is never unmapped.
  size_t pins = 0;
  // (mu) Whether new cursors can find it (it is in file->regions). A region
  // that no longer matches its file (grown, shrunk, replaced) is detached
  // and unmapped as soon as its last cursor lets go.
  bool attached = true;
  ListLinks<Region> lru;  // (mu) in the LRU while unused and attached

  uint64_t end() const { return ofs + mapping.size(); }
};

class RegionCache final {
 public:
  // Called once for each region dropped, with its file (which may then have
  // nothing left to keep it).
  using OnDrop = absl::FunctionRef<void(FileEntry*)>;

  RegionCache(uint64_t max_memory_size, bool hard_limits);
  RegionCache(const RegionCache&) = delete;
  RegionCache& operator=(const RegionCache&) = delete;
  // REQUIRES: no region is left.
  ~RegionCache() = default;

  // The attached region of window `index` or `index - 1` of `file` reaching
  // `end`, or nullptr. (Window `index` starts nearest before the offset
  // asked for; so does window index - 1, which ends earlier but may be
  // mapped already.)
  Region* Find(const FileEntry& file, uint64_t index, uint64_t end) const;

  void Pin(Region* region);
  // Unpins; a region left unused goes to the back of the LRU if it is
  // attached and the manager not `closed` (evicting to the budget if soft
  // limits over-allocated), and is dropped otherwise.
  void Unpin(Region* region, bool closed, Releases* releases, OnDrop on_drop);
  // Unpin() when that drops nothing (the common case); returns false,
  // changing nothing, otherwise.
  bool TryUnpin(Region* region, bool closed);

  // Makes room for `bytes` (whole pages) more beside what is mapped,
  // reserved, and dropped but not unmapped yet by others than `releases`
  // (which its caller unmaps before mapping),
  // evicting unused regions, least recently used first. In hard mode
  // ResourceExhausted if they do not fit; in soft mode OK (Insert() counts
  // the overrun if the region, once mapped, is over the budget).
  // `file` is named in messages (and only then: this runs on every miss).
  absl::Status MakeRoom(uint64_t bytes, const FileEntry& file,
                        Releases* releases, OnDrop on_drop);
  // Whether `bytes` more would fit but for other threads' unmaps that have
  // not run yet (MakeRoom() refused them).
  bool FitsOnceUnmapped(uint64_t bytes) const {
    return mapped_bytes_ + reserved_bytes_ + bytes <= budget_;
  }
  // Bytes of a region being mapped, counted in the budget until it is
  // inserted or its mmap failed.
  void Reserve(uint64_t bytes) { reserved_bytes_ += bytes; }
  void Unreserve(uint64_t bytes) { reserved_bytes_ -= bytes; }
  // `bytes` of dropped regions handed to Releases were unmapped. Until
  // then they count in the budget, so that the process never maps more
  // than a hard budget, not even while munmap is pending.
  void Unmapped(uint64_t bytes) { unmapping_bytes_ -= bytes; }
  uint64_t unmapping_bytes() const { return unmapping_bytes_; }
  // Adds the region just mapped for window `index` of `file`, pinned once,
  // replacing (detaching) a region of that window mapped when the file was
  // shorter. A detached file's region is detached from the start.
  Region* Insert(FileEntry* file, uint64_t index, uint64_t ofs, Mapping mapping,
                 Releases* releases, OnDrop on_drop);

  // New cursors no longer find `region`; it goes when unused.
  void Detach(Region* region, Releases* releases, OnDrop on_drop);
  // Detaches every region of `file` reaching beyond `size` bytes.
  void DetachBeyond(FileEntry* file, uint64_t size, Releases* releases,
                    OnDrop on_drop);
  void DetachAll(FileEntry* file, Releases* releases, OnDrop on_drop);

  // Unmaps unused regions, least recently used first, until at most
  // `keep_bytes` are mapped or none is unused; returns how many. `evicting`:
  // to keep the budget or retry an mmap (counted as LRU evictions).
  size_t Evict(uint64_t keep_bytes, bool evicting, Releases* releases,
               OnDrop on_drop);
  bool has_unused() const { return !lru_.empty(); }
  // Calls `visit` with each unused region, least recently used first.
  template <typename Visit>
  void ForEachUnused(Visit visit) const {
    for (const Region* r = lru_.front(); r != nullptr; r = lru_.Next(r)) {
      visit(*r);
    }
  }

  size_t num_regions() const { return num_regions_; }
  size_t num_used() const { return num_used_; }
  uint64_t mapped_bytes() const { return mapped_bytes_; }
  uint64_t reserved_bytes() const { return reserved_bytes_; }
  // The region counters of `stats`.
  void FillStats(ManagerStats* stats) const;

 private:
  // REQUIRES: region->pins == 0.
  void Drop(Region* region, Releases* releases, OnDrop on_drop);

  const uint64_t budget_;
  const bool hard_;
  // Unused attached regions, least recently used first.
  IntrusiveList<Region, &Region::lru> lru_;
  uint64_t mapped_bytes_ = 0;
  uint64_t reserved_bytes_ = 0;
  uint64_t unmapping_bytes_ = 0;  // dropped, handed to Releases, not unmapped
  size_t num_regions_ = 0;
  size_t num_used_ = 0;
  ManagerStats stats_;  // only the region counters
};

// The hit path, inline: Find(), Pin() and TryUnpin() run on every cursor
// made and released on a cached region.

inline Region* RegionCache::Find(const FileEntry& file, uint64_t index,
                                 uint64_t end) const {
  if (auto it = file.regions.find(index);
      it != file.regions.end() && it->second->end() >= end) {
    return it->second;
  }
  if (index > 0) {
    if (auto it = file.regions.find(index - 1);
        it != file.regions.end() && it->second->end() >= end) {
      return it->second;
    }
  }
  return nullptr;
}

inline void RegionCache::Pin(Region* region) {
  if (region->pins++ == 0) {
    if (lru_.Contains(region)) lru_.Remove(region);
    ++num_used_;
  }
}

inline bool RegionCache::TryUnpin(Region* region, bool closed) {
  if (region->pins > 1) {
    --region->pins;
    return true;
  }
  if (!region->attached || closed || mapped_bytes_ > budget_) {
    return false;  // unpinning would unmap something
  }
  region->pins = 0;
  --num_used_;
  lru_.PushBack(region);
  return true;
}

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_REGION_CACHE_H_
