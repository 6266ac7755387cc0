// Counters of a memory-map manager, as a snapshot.
//
// MemmapManager::stats() copies them under the manager's lock, so the fields
// of one snapshot are consistent with each other (unmap_failures is counted
// once the munmap has run, after the region was counted as unmapped).
//
// Thread-compatible (a plain value).

#ifndef SMMAP_STATS_H_
#define SMMAP_STATS_H_

#include <cstdint>

namespace smmap {

struct ManagerStats {
  // Cursor requests (fixed cursors, and sliding cursors moving to another
  // region) served by a cached region.
  uint64_t cursor_hits = 0;
  // Cursor requests that had to map a new region.
  uint64_t cursor_misses = 0;
  uint64_t regions_mapped = 0;
  uint64_t regions_unmapped = 0;
  // Unused regions unmapped to keep max_memory_size, or to retry an mmap()
  // that ran out of memory.
  uint64_t lru_evictions = 0;
  // Sum of the sizes of all regions ever mapped.
  uint64_t bytes_mapped_total = 0;
  uint64_t peak_mapped_bytes = 0;
  uint64_t peak_regions = 0;
  // mmap() calls that failed (a retry that succeeds still counts one).
  uint64_t map_failures = 0;
  // munmap() calls refused even after one retry (the address range is then
  // given up; it only happens with an injected or kernel fault).
  uint64_t unmap_failures = 0;
  // Files opened and closed by the manager (not the caller's descriptors),
  // each open() and close() once: also a descriptor opened to look at a
  // path and closed at once (the path named another file).
  uint64_t files_opened = 0;
  uint64_t files_closed = 0;
  // Descriptors closed to keep max_open_files.
  uint64_t fd_evictions = 0;
  // Regions mapped beyond max_memory_size (soft limits only): every other
  // region was in use, or the region alone is larger than the budget.
  // Counted when mapped, with what is mapped then (regions other threads
  // were mapping count if their mmap succeeded).
  uint64_t soft_budget_overruns = 0;
};

}  // namespace smmap

#endif  // SMMAP_STATS_H_
