#include "smmap/internal/core.h"

#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "smmap/internal/messages.h"
#include "smmap/internal/os.h"
#include "smmap/internal/status_macros.h"

namespace smmap {
namespace internal {
namespace {

uint64_t RequestEnd(const FileEntry& file, uint64_t offset, uint64_t size) {
  return internal::RequestEnd(file.size, offset, size);
}

}  // namespace

Core::Core(const Config& config)
    : config_(config),
      geometry_(config),
      files_(config.max_open_files),
      regions_(config.max_memory_size, config.hard_limits) {}

Core::~Core() = default;

Core::Released Core::RunReleases(Deferred& deferred) {
  Released released;
  for (Mapping& mapping : deferred.releases.unmaps) {
    released.unmap_failures += mapping.Reset() ? 0 : 1;
  }
  deferred.releases.unmaps.clear();
  released.bytes = std::exchange(deferred.releases.unmap_bytes, 0);
  released.fds = deferred.releases.closes.size();
  deferred.releases.closes.clear();  // close
  return released;
}

bool Core::SettleLocked(const Released& released) {
  files_.Closed(released.fds);
  regions_.Unmapped(released.bytes);
  unmap_failures_ += released.unmap_failures;
  SignalReleasedLocked();
  return UnusedLocked();
}

void Core::FinishSlow(Core* core, Deferred& deferred) {
  const Released released = RunReleases(deferred);
  bool delete_core = deferred.delete_core;
  if (released.any()) {
    // The Core waits for these (UnusedLocked()): it is still there.
    MutexLock lock(&core->mu_);
    delete_core = core->SettleLocked(released);
  }
  // After the releases, which other threads' budgets may be waiting for.
  for (const Deferred::NewRegion& region : deferred.advise) {
    // Hints: failures change nothing.
    if (deferred.advice >= 0) {
      os::Madvise(region.addr, region.length, deferred.advice);
    }
    if (deferred.populate &&
        os::Madvise(region.addr, region.length, MADV_POPULATE_READ) != 0) {
      os::Madvise(region.addr, region.length, MADV_WILLNEED);  // before 5.14
    }
  }
  if (delete_core) delete core;
}

void Core::Destroy() {
  {
    Operation op(this);  // may delete this when it ends
    Deferred& deferred = op.deferred();
    closed_ = true;
    CollectLocked(&deferred);
    owner_alive_ = false;
    deferred.delete_core = UnusedLocked();
  }
}

void Core::MaybeDeleteEntryLocked(FileEntry* file, Deferred* deferred) {
  if (files_.MaybeDelete(file, closed_, &deferred->releases) &&
      UnusedLocked()) {
    deferred->delete_core = true;
  }
}

// --- Loading -----------------------------------------------------------------

void Core::LockFileLocked(FileEntry* file, Deferred* deferred) {
  if (!file->load_mu.try_lock()) {
    // Another thread loads for this file: wait for it with mu_ released
    // (and what this operation let go of already released too).
    Unlocked(deferred, [file] {
      file->load_mu.lock();
      return 0;
    });
  }
  ++file->busy;
}

FileEntry* Core::LockNamedLocked(const FileRef& file, Deferred* deferred) {
  for (;;) {
    FileEntry* entry = files_.FindOrAdd(file);
    LockFileLocked(entry, deferred);
    if (entry->attached) return entry;
    UnlockFileLocked(entry);
    UnrefLocked(entry, deferred);
  }
}

void Core::UnlockFileLocked(FileEntry* file) {
  --file->busy;
  file->load_mu.unlock();
  SignalReleasedLocked();  // its descriptor may be closed now
}

void Core::EndLoadLocked(FileEntry* file, Deferred* deferred) {
  UnlockFileLocked(file);
  KeepFdBudgetLocked(file, deferred);
}

void Core::KeepFdBudgetLocked(FileEntry* file, Deferred* deferred) {
  if (closed_ || !file->attached) {
    // A closed (or destroyed) manager caches no descriptor, nor does a
    // detached (purged, replaced) file: the last thread using it closes it.
    if (file->owned_fd.valid() && !file->busy) {
      files_.CloseFd(file, &deferred->releases);
    }
  } else {
    files_.CloseIdleFds(config_.max_open_files, /*evicting=*/true, closed_,
                        &deferred->releases);
  }
}

// --- Manager operations ----------------------------------------------------

absl::Status Core::MakeFixed(const FileRef& file, uint64_t offset,
                             uint64_t size, FixedBinding* cursor) {
  SMMAP_RETURN_IF_ERROR(CheckRange(file, offset, size));
  mu_.Lock();
  // The fast path defers nothing. (No entry exists for a name CheckName()
  // refuses, so it looks for the name first.)
  FileEntry* cached_at_end = nullptr;
  if (TryFixedFromCacheLocked(file, offset, size, cursor, &cached_at_end)) {
    mu_.Unlock();
    return absl::OkStatus();
  }
  absl::Status status = CheckName(file);
  Deferred deferred;
  if (status.ok()) {
    status =
        MakeFixedLocked(file, offset, size, cached_at_end, cursor, &deferred);
  }
  mu_.Unlock();
  Finish(this, deferred);
  return status;
}

bool Core::TryFixedFromCacheLocked(const FileRef& file, uint64_t offset,
                                   uint64_t size, FixedBinding* cursor,
                                   FileEntry** cached_at_end) {
  if (closed_) return false;
  FileEntry* entry = files_.Find(file);
  if (entry == nullptr || offset >= entry->size) return false;
  const uint64_t index = geometry_.WindowIndex(offset);
  const uint64_t end = std::min(RequestEnd(*entry, offset, size),
                                geometry_.WindowEnd(index, entry->size));
  Region* region = regions_.Find(*entry, index, end);
  if (region == nullptr) return false;
  if (!config_.immutable_files && end >= entry->size) {
    // Reaching the end of the file as known: the slow path looks at the
    // file's current size first.
    *cached_at_end = entry;
    return false;
  }
  ++cursor_hits_;
  regions_.Pin(region);  // keeps the entry alive too: no reference needed
  BindFixedLocked(entry, region, offset, size, entry->size, cursor);
  return true;
}

void Core::BindFixedLocked(FileEntry* entry, Region* region, uint64_t offset,
                           uint64_t size, uint64_t file_size,
                           FixedBinding* cursor) {
  const uint64_t end =
      region == nullptr
          ? offset
          : std::min(internal::RequestEnd(file_size, offset, size),
                     region->end());
  cursor->core = this;
  cursor->file = entry;
  cursor->region = region;
  cursor->data = region == nullptr
                     ? nullptr
                     : region->mapping.data() + (offset - region->ofs);
  cursor->ofs = offset;
  cursor->size = static_cast<size_t>(end - offset);  // within one mapping
  cursor->file_size = file_size;
  cursor->open = true;
  ++num_cursors_;
}

absl::Status Core::MakeFixedLocked(const FileRef& file, uint64_t offset,
                                   uint64_t size, FileEntry* cached_at_end,
                                   FixedBinding* cursor, Deferred* deferred) {
  if (closed_) return ClosedManager("MakeCursor", NameOf(file));
  absl::Status status;
  FileEntry* entry = nullptr;  // with the operation's reference
  if (cached_at_end != nullptr &&
      TryFixedAfterSizeLocked(cached_at_end, offset, size, cursor, &entry,
                              &status, deferred)) {
    return status;
  }
  bool fresh = false;
  if (entry != nullptr) {
    // Its size was just read: load it without reading it again, unless it
    // was detached or its descriptor closed while this thread waited.
    LockFileLocked(entry, deferred);
    fresh = entry->attached && entry->owned_fd.valid();
    if (!entry->attached) {
      UnlockFileLocked(entry);
      UnrefLocked(entry, deferred);
      entry = nullptr;
    }
  }
  if (entry == nullptr) {
    entry = LockNamedLocked(file, deferred);
    fresh = !entry->examined;
  }
  status = ExamineLocked(entry, deferred);
  if (status.ok()) {
    status = LoadFixedLocked(&entry, offset, size, fresh, cursor, deferred);
  }
  EndLoadLocked(entry, deferred);
  // A cursor with a region is kept alive by it; only the empty cursor of an
  // empty file keeps the reference.
  if (!status.ok() || cursor->region != nullptr) UnrefLocked(entry, deferred);
  return status;
}

bool Core::TryFixedAfterSizeLocked(FileEntry* entry, uint64_t offset,
                                   uint64_t size, FixedBinding* cursor,
                                   FileEntry** sized, absl::Status* status,
                                   Deferred* deferred) {
  if (!entry->owned_fd.valid()) return false;  // a load reopens the path
  ++entry->refs;                               // the operation's
  *status =
      CheckOffsetUnloadedLocked(entry, offset, /*reaches_end=*/true, deferred);
  if (status->ok() && entry->size == 0) {
    // Emptied meanwhile: the empty cursor, which keeps the reference.
    BindFixedLocked(entry, nullptr, offset, size, entry->size, cursor);
    return true;
  }
  Region* region = status->ok() ? TryHitLocked(*entry, offset, size) : nullptr;
  if (status->ok() && region == nullptr) {
    // The new size needs another region: the caller loads it, with the
    // reference.
    *sized = entry;
    return false;
  }
  if (region != nullptr) {
    BindFixedLocked(entry, region, offset, size, entry->size, cursor);
  }
  UnrefLocked(entry, deferred);  // a region keeps the entry
  return true;
}

absl::Status Core::LoadFixedLocked(FileEntry** entry, uint64_t offset,
                                   uint64_t size, bool fresh,
                                   FixedBinding* cursor, Deferred* deferred) {
  const uint64_t known = (*entry)->size;
  const bool reaches_end =
      offset < known &&
      std::min(RequestEnd(**entry, offset, size),
               geometry_.WindowEnd(geometry_.WindowIndex(offset), known)) >=
          known;
  SMMAP_RETURN_IF_ERROR(CheckOffsetLocked(entry, offset, reaches_end,
                                          /*may_switch=*/true, &fresh,
                                          deferred));
  Region* region = nullptr;
  uint64_t seen = std::numeric_limits<uint64_t>::max();
  if ((*entry)->size > 0) {  // else the empty cursor of an empty file
    SMMAP_ASSIGN_OR_RETURN(
        region, AcquireLocked(entry, offset, size, /*sliding=*/false, fresh,
                              deferred, &seen));
  }
  BindFixedLocked(*entry, region, offset, size, std::min((*entry)->size, seen),
                  cursor);
  return absl::OkStatus();
}

absl::Status Core::MakeSliding(const FileRef& file, uint64_t offset,
                               uint64_t size, SlidingBinding* cursor) {
  SMMAP_RETURN_IF_ERROR(CheckRange(file, offset, size));
  SMMAP_RETURN_IF_ERROR(CheckName(file));
  Operation op(this);  // may delete this when it ends
  return MakeSlidingLocked(file, offset, size, cursor, &op.deferred());
}

absl::Status Core::MakeSlidingLocked(const FileRef& file, uint64_t offset,
                                     uint64_t size, SlidingBinding* cursor,
                                     Deferred* deferred) {
  if (closed_) return ClosedManager("MakeSlidingCursor", NameOf(file));
  // A sliding cursor maps nothing until it is read: what it needs is the
  // file's size.
  const auto reaches_end = [offset, size](const FileEntry& entry) {
    return RequestEnd(entry, offset, size) >= entry.size;
  };
  // The operation's reference, handed to the cursor.
  FileEntry* entry = files_.Find(file);
  if (entry != nullptr && entry->examined &&
      (KnownSizeSuffices(*entry, offset, reaches_end(*entry)) ||
       entry->owned_fd.valid())) {
    // Nothing to load but maybe a new size, which the file's descriptor
    // gives: no wait for the file's lock, which a loader of another window
    // may hold across its mmap.
    ++entry->refs;
    absl::Status status =
        CheckOffsetUnloadedLocked(entry, offset, reaches_end(*entry), deferred);
    if (status.ok()) status = CheckGreedyLimit(*entry);
    if (!status.ok()) {
      UnrefLocked(entry, deferred);
      return status;
    }
  } else {
    entry = LockNamedLocked(file, deferred);
    bool fresh = !entry->examined;
    absl::Status status = ExamineLocked(entry, deferred);
    if (status.ok()) {
      status = CheckOffsetLocked(&entry, offset, reaches_end(*entry),
                                 /*may_switch=*/true, &fresh, deferred);
    }
    if (status.ok()) status = CheckGreedyLimit(*entry);
    EndLoadLocked(entry, deferred);
    if (!status.ok()) {
      UnrefLocked(entry, deferred);
      return status;
    }
  }
  cursor->core = this;
  cursor->file = entry;
  cursor->ofs = offset;
  cursor->size = RequestEnd(*entry, offset, size) - offset;
  cursor->file_size = entry->size;
  ++num_cursors_;
  return absl::OkStatus();
}

size_t Core::Collect() {
  size_t collected;
  {
    Operation op(this);  // may delete this when it ends
    Deferred& deferred = op.deferred();
    collected = CollectLocked(&deferred);
  }
  return collected;
}

void Core::Close() {
  {
    Operation op(this);  // may delete this when it ends
    Deferred& deferred = op.deferred();
    closed_ = true;
    CollectLocked(&deferred);
  }
}

size_t Core::Purge(const FileRef& file) {
  Operation op(this);  // may delete this when it ends
  Deferred& deferred = op.deferred();
  FileEntry* entry = files_.Find(file);
  if (entry == nullptr) return 0;
  ++entry->refs;  // keeps it while its regions go
  const size_t before = regions_.num_regions();
  files_.Detach(entry);
  regions_.DetachAll(entry, &deferred.releases, Dropped{this, &deferred});
  const size_t unmapped = before - regions_.num_regions();
  // A loader using the descriptor lets go of it when it is done.
  if (entry->owned_fd.valid() && !entry->busy) {
    files_.CloseFd(entry, &deferred.releases);
  }
  UnrefLocked(entry, &deferred);
  return unmapped;
}

size_t Core::CollectLocked(Deferred* deferred) {
  const size_t collected = regions_.Evict(
      0, /*evicting=*/false, &deferred->releases, Dropped{this, deferred});
  files_.CloseIdleFds(0, /*evicting=*/false, closed_, &deferred->releases);
  return collected;
}

bool Core::closed() const {
  MutexLock lock(&mu_);
  return closed_;
}

size_t Core::num_open_regions() const {
  MutexLock lock(&mu_);
  return regions_.num_regions();
}

size_t Core::num_used_regions() const {
  MutexLock lock(&mu_);
  return regions_.num_used();
}

size_t Core::num_open_cursors() const {
  MutexLock lock(&mu_);
  return num_cursors_;
}

uint64_t Core::mapped_memory_size() const {
  MutexLock lock(&mu_);
  return regions_.mapped_bytes();
}

size_t Core::num_open_files() const {
  MutexLock lock(&mu_);
  return files_.num_open();
}

size_t Core::num_files() const {
  MutexLock lock(&mu_);
  return files_.size();
}

std::vector<RegionView> Core::RegionsForTesting() const {
  std::vector<RegionView> regions;
  auto add = [&regions](const Region& r) {
    regions.push_back(RegionView{r.file->path, r.file->caller_fd, r.file->inode,
                                 r.ofs, r.end(), r.mapping.data(),
                                 r.mapping.mapped_size(), r.pins});
  };
  MutexLock lock(&mu_);
  files_.ForEachAttached([&add](const FileEntry& file) {
    for (const auto& [index, region] : file.regions) {
      if (region->pins > 0) add(*region);
    }
  });
  regions_.ForEachUnused(add);
  return regions;
}

ManagerStats Core::stats() const {
  MutexLock lock(&mu_);
  ManagerStats stats;
  regions_.FillStats(&stats);
  stats.cursor_hits = cursor_hits_;
  stats.cursor_misses = cursor_misses_;
  stats.map_failures = map_failures_;
  stats.files_opened = files_.files_opened();
  stats.files_closed = files_.files_closed();
  stats.fd_evictions = files_.fd_evictions();
  stats.unmap_failures = unmap_failures_;
  return stats;
}

// --- Cursor operations -----------------------------------------------------

void Core::ReleaseFixed(FileEntry* file, Region* region) {
  {
    Operation op(this);  // may delete this when it ends
    Deferred& deferred = op.deferred();
    --num_cursors_;
    if (region != nullptr) {
      ++file->refs;  // what keeps the file of a closed cursor alive
      UnpinLocked(region, &deferred);
    }
  }
}

void Core::UnbindFixed(FileEntry* file, Region* region, bool was_open) {
  if (region != nullptr) {
    // The common case, with nothing to unmap or close afterwards.
    MutexLock lock(&mu_);
    if (regions_.TryUnpin(region, closed_)) {
      if (was_open) --num_cursors_;
      return;
    }
  }
  {
    Operation op(this);  // may delete this when it ends
    Deferred& deferred = op.deferred();
    if (was_open) --num_cursors_;
    if (region != nullptr) {
      UnpinLocked(region, &deferred);
    } else {
      UnrefLocked(file, &deferred);
    }
  }
}

void Core::UnbindSliding(FileEntry* file, Region* region) {
  {
    Operation op(this);  // may delete this when it ends
    Deferred& deferred = op.deferred();
    --num_cursors_;
    if (region != nullptr) UnpinLocked(region, &deferred);
    UnrefLocked(file, &deferred);
  }
}

absl::Status Core::Slide(SlidingBinding* cursor, uint64_t i, uint64_t length) {
  absl::Status status;
  {
    Operation op(this);  // may delete this when it ends
    Deferred& deferred = op.deferred();
    // Let go of the current region first: under a budget of one region, it
    // is the one to evict for the next.
    if (cursor->region != nullptr) {
      UnpinLocked(cursor->region, &deferred);
      cursor->ClearWindow();
    }
    FileEntry* const file = cursor->file;
    const uint64_t offset = cursor->ofs + i;
    Region* region = nullptr;
    if (offset < file->size) region = TryHitLocked(*file, offset, length);
    if (region != nullptr) {
      cursor->region = region;
      SetWindow(cursor, *region);
    } else {
      LockFileLocked(file, &deferred);
      status = SlideLocked(cursor, i, length, &deferred);
      EndLoadLocked(file, &deferred);
    }
  }
  return status;
}

absl::Status Core::SlideLocked(SlidingBinding* cursor, uint64_t i,
                               uint64_t length, Deferred* deferred) {
  FileEntry* file = cursor->file;
  const uint64_t offset = cursor->ofs + i;
  absl::StatusOr<Region*> region =
      AcquireLocked(&file, offset, /*size=*/length, /*sliding=*/true,
                    /*fresh=*/false, deferred);
  if (absl::IsOutOfRange(region.status()) && offset >= file->size) {
    return absl::DataLossError(absl::StrCat(
        "File shrank to ", file->size, " bytes, below offset ", offset,
        " of the sliding cursor on [", cursor->ofs, ", ", cursor->ofs_end(),
        ") made when it had ", cursor->file_size, " bytes: ", file->Name()));
  }
  SMMAP_RETURN_IF_ERROR(region.status());
  cursor->region = *region;
  SetWindow(cursor, **region);
  return absl::OkStatus();
}

void Core::SetWindow(SlidingBinding* cursor, const Region& region) {
  const uint64_t lo = std::max(region.ofs, cursor->ofs);
  // A region just mapped may reach beyond a shrink another thread saw
  // meanwhile (AcquireLocked()): the window ends at the file's known end.
  const uint64_t hi =
      std::min({region.end(), cursor->ofs_end(), cursor->file->size});
  cursor->window = region.mapping.data() + (lo - region.ofs);
  cursor->window_begin = lo - cursor->ofs;
  cursor->window_size = hi - lo;
}

void Core::ReleaseSliding(SlidingBinding* cursor) {
  {
    Operation op(this);
    if (cursor->region != nullptr) UnpinLocked(cursor->region, &op.deferred());
  }
  cursor->ClearWindow();
}

}  // namespace internal
}  // namespace smmap
