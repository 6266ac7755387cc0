#include "smmap/internal/region_cache.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace smmap {
namespace internal {

RegionCache::RegionCache(uint64_t max_memory_size, bool hard_limits)
    : budget_(max_memory_size), hard_(hard_limits) {}

void RegionCache::Unpin(Region* region, bool closed, Releases* releases,
                        OnDrop on_drop) {
  if (--region->pins != 0) return;
  --num_used_;
  if (!region->attached || closed) {
    Drop(region, releases, on_drop);
    return;
  }
  lru_.PushBack(region);
  // Soft limits may have over-allocated while everything was in use.
  if (mapped_bytes_ > budget_) {
    Evict(budget_, /*evicting=*/true, releases, on_drop);
  }
}

absl::Status RegionCache::MakeRoom(uint64_t bytes, const FileEntry& file,
                                   Releases* releases, OnDrop on_drop) {
  if (hard_ && bytes > budget_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("Mapping ", bytes, " bytes of ", file.Name(),
                     " exceeds max_memory_size(", budget_, ")"));
  }
  // Reservations of mappings in flight, and other threads' unmaps not done
  // yet, count as mapped.
  const uint64_t others_unmapping = unmapping_bytes_ - releases->unmap_bytes;
  const uint64_t needed = reserved_bytes_ + others_unmapping + bytes;
  if (mapped_bytes_ + needed > budget_) {
    Evict(budget_ > needed ? budget_ - needed : 0, /*evicting=*/true, releases,
          on_drop);
  }
  if (mapped_bytes_ + needed <= budget_) return absl::OkStatus();
  if (hard_) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Mapping ", bytes, " bytes of ", file.Name(),
        " would exceed max_memory_size(", budget_, "): ", mapped_bytes_,
        " bytes are mapped in ", num_regions_,
        " regions, all in use by cursors",
        reserved_bytes_ + others_unmapping > 0
            ? absl::StrCat(", and ", reserved_bytes_ + others_unmapping,
                           " bytes are being mapped or unmapped")
            : ""));
  }
  return absl::OkStatus();  // over a soft budget: Insert() counts it
}

Region* RegionCache::Insert(FileEntry* file, uint64_t index, uint64_t ofs,
                            Mapping mapping, Releases* releases,
                            OnDrop on_drop) {
  auto* region = new Region;
  region->file = file;
  region->index = index;
  region->ofs = ofs;
  region->mapping = std::move(mapping);
  const uint64_t length = region->mapping.mapped_size();
  // Over a soft budget (MakeRoom() let it be), counted once mapped beside
  // what is mapped or not unmapped yet: not for a reservation that made
  // room look short and whose mmap then failed.
  if (mapped_bytes_ + unmapping_bytes_ + length > budget_) {
    ++stats_.soft_budget_overruns;
  }
  if (!file->attached) {
    // Purged while it was being mapped: only the loader's cursor sees it.
    region->attached = false;
  } else if (auto [it, inserted] = file->regions.try_emplace(index, region);
             !inserted) {
    // A region mapped when the file was shorter: replace it.
    Region* stale = it->second;
    it->second = region;
    stale->attached = false;
    if (stale->pins == 0) Drop(stale, releases, on_drop);
  }
  ++file->num_regions;
  ++num_regions_;
  mapped_bytes_ += length;
  ++stats_.regions_mapped;
  stats_.bytes_mapped_total += length;
  stats_.peak_mapped_bytes = std::max(stats_.peak_mapped_bytes, mapped_bytes_);
  stats_.peak_regions = std::max<uint64_t>(stats_.peak_regions, num_regions_);
  Pin(region);
  return region;
}

void RegionCache::Detach(Region* region, Releases* releases, OnDrop on_drop) {
  region->file->regions.erase(region->index);
  region->attached = false;
  if (region->pins == 0) Drop(region, releases, on_drop);
}

void RegionCache::DetachBeyond(FileEntry* file, uint64_t size,
                               Releases* releases, OnDrop on_drop) {
  std::vector<Region*> beyond;
  for (const auto& [index, region] : file->regions) {
    if (region->end() > size) beyond.push_back(region);
  }
  for (Region* region : beyond) Detach(region, releases, on_drop);
}

void RegionCache::DetachAll(FileEntry* file, Releases* releases,
                            OnDrop on_drop) {
  std::vector<Region*> regions;
  regions.reserve(file->regions.size());
  for (const auto& [index, region] : file->regions) regions.push_back(region);
  for (Region* region : regions) Detach(region, releases, on_drop);
}

size_t RegionCache::Evict(uint64_t keep_bytes, bool evicting,
                          Releases* releases, OnDrop on_drop) {
  size_t evicted = 0;
  while (mapped_bytes_ > keep_bytes && !lru_.empty()) {
    Drop(lru_.front(), releases, on_drop);
    ++evicted;
  }
  if (evicting) stats_.lru_evictions += evicted;
  return evicted;
}

void RegionCache::FillStats(ManagerStats* stats) const {
  stats->regions_mapped = stats_.regions_mapped;
  stats->regions_unmapped = stats_.regions_unmapped;
  stats->lru_evictions = stats_.lru_evictions;
  stats->bytes_mapped_total = stats_.bytes_mapped_total;
  stats->peak_mapped_bytes = stats_.peak_mapped_bytes;
  stats->peak_regions = stats_.peak_regions;
  stats->soft_budget_overruns = stats_.soft_budget_overruns;
}

void RegionCache::Drop(Region* region, Releases* releases, OnDrop on_drop) {
  if (lru_.Contains(region)) lru_.Remove(region);
  FileEntry* file = region->file;
  if (region->attached) file->regions.erase(region->index);
  const uint64_t bytes = region->mapping.mapped_size();
  mapped_bytes_ -= bytes;
  --num_regions_;
  --file->num_regions;
  ++stats_.regions_unmapped;
  releases->unmap_bytes += bytes;
  unmapping_bytes_ += bytes;
  releases->unmaps.push_back(std::move(region->mapping));
  delete region;
  on_drop(file);
}

}  // namespace internal
}  // namespace smmap
