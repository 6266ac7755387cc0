// The loading half of the Core (smmap/internal/core.h): every system call it
// makes for a file (stat, open, fstat, lseek, mmap), each with mu_ released,
// under that file's load lock; and the policy for files that grow, shrink or
// are replaced.

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "smmap/internal/core.h"
#include "smmap/internal/messages.h"
#include "smmap/internal/os.h"
#include "smmap/internal/status_macros.h"

namespace smmap {
namespace internal {
namespace {

int AdviceFlag(AccessAdvice advice) {
  switch (advice) {
    case AccessAdvice::kNone:
      return -1;
    case AccessAdvice::kSequential:
      return MADV_SEQUENTIAL;
    case AccessAdvice::kRandom:
      return MADV_RANDOM;
    case AccessAdvice::kWillNeed:
      return MADV_WILLNEED;
    case AccessAdvice::kHugePage:
      return MADV_HUGEPAGE;
  }
  return -1;
}

uint64_t RequestEnd(const FileEntry& file, uint64_t offset, uint64_t size) {
  return internal::RequestEnd(file.size, offset, size);
}

}  // namespace

// --- Files -----------------------------------------------------------------

absl::Status Core::ExamineLocked(FileEntry* entry, Deferred* deferred) {
  if (entry->examined) return absl::OkStatus();
  os::FileInfo info;
  if (entry->caller_fd >= 0) {
    const int fd = entry->caller_fd;
    if (int err = Unlocked(deferred, [&] { return os::Fstat(fd, &info); })) {
      return os::ErrnoStatus(err, absl::StrCat("fstat(fd ", fd, ")"));
    }
    if (!info.is_regular) return NotRegularFile(info.kind, entry->Name());
    SetIdentityLocked(entry, UniqueFd(), info);
    return absl::OkStatus();
  }
  const std::string& path = entry->path;
  // Learn what the path is before opening it: opening a device or a FIFO
  // can have effects (the FIFO is opened without blocking in any case).
  if (int err =
          Unlocked(deferred, [&] { return os::Stat(path.c_str(), &info); })) {
    return os::ErrnoStatus(err, absl::StrCat("stat(", path, ")"));
  }
  if (!info.is_regular) return NotRegularFile(info.kind, path);
  SMMAP_ASSIGN_OR_RETURN(UniqueFd fd, OpenLocked(path, deferred));
  const int raw = fd.get();
  const int err = Unlocked(deferred, [&] { return os::Fstat(raw, &info); });
  if (err != 0 || !info.is_regular) {
    DiscardFdLocked(std::move(fd), deferred);
    if (err != 0) {
      return os::ErrnoStatus(err, absl::StrCat("fstat(", path, ")"));
    }
    return NotRegularFile(info.kind, path);
  }
  SetIdentityLocked(entry, std::move(fd), info);
  return absl::OkStatus();
}

void Core::SetIdentityLocked(FileEntry* entry, UniqueFd fd,
                             const os::FileInfo& info) {
  entry->device = info.device;
  entry->inode = info.inode;
  entry->birth_ns = info.birth_ns;
  entry->size = info.size;
  entry->examined = true;
  if (fd.valid()) files_.Adopt(entry, std::move(fd));
}

absl::StatusOr<UniqueFd> Core::OpenLocked(const std::string& path,
                                          Deferred* deferred) {
  ReserveFdSlotLocked(deferred);
  int fd = -1;
  int err = Unlocked(deferred, [&] { return os::Open(path.c_str(), &fd); });
  bool retried = false;
  if ((err == EMFILE || err == ENFILE) && files_.IdleFd() != nullptr) {
    // Out of descriptors: give back every idle cached one (those idle now,
    // not before the call) and retry once.
    files_.CloseIdleFds(0, /*evicting=*/false, closed_, &deferred->releases);
    retried = true;
    err = Unlocked(deferred, [&] { return os::Open(path.c_str(), &fd); });
  }
  if (err == 0) return UniqueFd(fd);
  files_.UnreserveSlot();
  SignalReleasedLocked();
  const bool out = err == EMFILE || err == ENFILE;
  return os::ErrnoStatus(
      err, absl::StrCat("open(", path, ")"),
      !out      ? ""
      : retried ? "; the process is out of file descriptors (RLIMIT_NOFILE) "
                  "even after the manager closed its cached ones"
                : "; the process is out of file descriptors (RLIMIT_NOFILE) "
                  "and the manager held none it could close");
}

void Core::ReserveFdSlotLocked(Deferred* deferred) {
  while (!files_.SlotFree()) {
    if (deferred->releases.closes.empty() && files_.IdleFd() != nullptr) {
      // The least recently used idle one, and only that one.
      files_.CloseIdleFds(files_.num_open() - 1, /*evicting=*/true, closed_,
                          &deferred->releases);
    } else {
      // Every slot is in use by a loader, or being closed (maybe by this
      // call): close what this call let go, or wait for others.
      WaitReleasedLocked(deferred);
    }
  }
  files_.ReserveSlot();
}

void Core::WaitReleasedLocked(Deferred* deferred) {
  if (!deferred->releases.empty()) {
    // Others may be waiting for these: never wait while holding them.
    Unlocked(deferred, [] { return 0; });
    return;
  }
  ++release_waiters_;
  released_cv_.Wait(&mu_);
  --release_waiters_;
}

absl::Status Core::CheckOffsetLocked(FileEntry** entry, uint64_t offset,
                                     bool reaches_end, bool may_switch,
                                     bool* fresh, Deferred* deferred) {
  if (KnownSizeSuffices(**entry, offset, reaches_end)) return absl::OkStatus();
  // Beyond, or up to, what we knew of the file: it may have grown since.
  const uint64_t known = (*entry)->size;
  const FileEntry* const file_before = *entry;
  if (!*fresh) {
    SMMAP_RETURN_IF_ERROR(RefreshLocked(entry, may_switch, deferred));
    *fresh = true;
  }
  const FileEntry& file = **entry;
  if (offset < file.size || (offset == 0 && file.size == 0)) {
    return absl::OkStatus();
  }
  if (offset < known && file.size < known && *entry == file_before) {
    // Inside the file as it was: say that it shrank.
    return OffsetBeyondShrunkEnd(offset, file.size, known, file.Name());
  }
  return OffsetBeyondEnd(offset, file.size, file.Name());
}

absl::Status Core::CheckOffsetUnloadedLocked(FileEntry* entry, uint64_t offset,
                                             bool reaches_end,
                                             Deferred* deferred) {
  if (KnownSizeSuffices(*entry, offset, reaches_end)) return absl::OkStatus();
  ++entry->busy;  // nobody closes the descriptor meanwhile
  bool fresh = false;
  // RefreshLocked() only asks the descriptor for the size (under size_mu):
  // the entry cannot switch.
  absl::Status status =
      CheckOffsetLocked(&entry, offset, reaches_end,
                        /*may_switch=*/false, &fresh, deferred);
  --entry->busy;
  SignalReleasedLocked();  // its descriptor may be closed now
  KeepFdBudgetLocked(entry, deferred);
  return status;
}

void Core::SetSizeLocked(FileEntry* file, uint64_t size, Deferred* deferred) {
  if (size < file->size) {
    regions_.DetachBeyond(file, size, &deferred->releases,
                          Dropped{this, deferred});
  }
  file->size = size;
}

absl::Status Core::RefreshLocked(FileEntry** entry, bool may_switch,
                                 Deferred* deferred) {
  FileEntry* file = *entry;
  os::FileInfo info;
  UniqueFd reopened;
  if (file->owned_fd.valid()) {
    // busy: nobody closes the descriptor while mu_ is released. What it
    // denotes cannot change while it is open (it was examined when
    // opened), so only its size is asked for, under size_mu until the size
    // is applied: threads that are not loading may ask for it too
    // (CheckOffsetUnloadedLocked()).
    const int fd = file->owned_fd.get();
    uint64_t size = 0;
    std::unique_lock<std::mutex> sizing(file->size_mu, std::defer_lock);
    if (int err = Unlocked(deferred, [&] {
          sizing.lock();
          return os::FileSize(fd, &size);
        })) {
      return os::ErrnoStatus(err, absl::StrCat("lseek(", file->path, ")"));
    }
    files_.Touch(file);
    SetSizeLocked(file, size, deferred);
    return absl::OkStatus();
  }
  if (file->caller_fd >= 0) {
    // Not ours to move the offset of: fstat, as when first examined.
    const int fd = file->caller_fd;
    if (int err = Unlocked(deferred, [&] { return os::Fstat(fd, &info); })) {
      return os::ErrnoStatus(err, absl::StrCat("fstat(", file->Name(), ")"));
    }
  } else {
    SMMAP_ASSIGN_OR_RETURN(reopened, OpenLocked(file->path, deferred));
    const int fd = reopened.get();
    if (int err = Unlocked(deferred, [&] { return os::Fstat(fd, &info); })) {
      DiscardFdLocked(std::move(reopened), deferred);
      return os::ErrnoStatus(err, absl::StrCat("fstat(", file->path, ")"));
    }
  }
  if (info.is_regular && info.device == file->device &&
      info.inode == file->inode && info.birth_ns == file->birth_ns) {
    if (reopened.valid()) files_.Adopt(file, std::move(reopened));
    SetSizeLocked(file, info.size, deferred);
    return absl::OkStatus();
  }
  // The name now denotes another file.
  if (may_switch && !file->attached) {
    // Purged meanwhile: the name may have a new entry already, which another
    // thread may be loading. Follow the name as a new request would.
    if (reopened.valid()) DiscardFdLocked(std::move(reopened), deferred);
    return FollowNameLocked(entry, deferred);
  }
  absl::Status refused;
  if (!may_switch) {
    refused = absl::FailedPreconditionError(
        absl::StrCat("File was replaced (device:inode ", file->device, ":",
                     file->inode, " is now ", info.device, ":", info.inode,
                     info.inode == file->inode && info.device == file->device
                         ? ", the number reused by a new file"
                         : "",
                     ", a ", info.kind, "): ", file->Name()));
  } else if (!info.is_regular) {
    refused = NotRegularFile(info.kind, file->Name());
  }
  if (!refused.ok()) {
    if (reopened.valid()) DiscardFdLocked(std::move(reopened), deferred);
    return refused;
  }
  files_.Detach(file);
  regions_.DetachAll(file, &deferred->releases, Dropped{this, deferred});
  // The name is free now: a new entry, whose lock nobody else can hold
  // or wait for yet. try_lock, not lock: mu_ is held, and lock() in that
  // order would be an inversion (to TSan too), though it cannot block here;
  // try_lock succeeds at once (it may only fail spuriously).
  FileEntry* replacement = files_.FindOrAdd(file->ref());
  while (!replacement->load_mu.try_lock()) {
  }
  ++replacement->busy;
  SetIdentityLocked(replacement, std::move(reopened), info);
  // The caller's reference and load move to the replacement.
  UnlockFileLocked(file);
  UnrefLocked(file, deferred);
  *entry = replacement;
  return absl::OkStatus();
}

absl::Status Core::FollowNameLocked(FileEntry** entry, Deferred* deferred) {
  FileEntry* const detached = *entry;
  // Its load ends before the next entry's begins: one load lock at a time.
  // The reference keeps it (and the name the FileRef points to) meanwhile.
  UnlockFileLocked(detached);
  FileEntry* next = LockNamedLocked(detached->ref(), deferred);
  UnrefLocked(detached, deferred);
  *entry = next;
  if (!next->examined) return ExamineLocked(next, deferred);
  return RefreshLocked(entry, /*may_switch=*/true, deferred);
}

absl::Status Core::CheckGreedyLimit(const FileEntry& file) const {
  if (config_.greedy && config_.window_size != 0 &&
      file.size > config_.window_size) {
    return absl::OutOfRangeError(absl::StrCat(
        "File-size exceeds window-size limit: file-size(", file.size,
        ") > window-size(", config_.window_size, ") for file: ", file.Name()));
  }
  return absl::OkStatus();
}

// --- Regions ---------------------------------------------------------------

Region* Core::TryHitLocked(const FileEntry& file, uint64_t ofs, uint64_t size) {
  // The bytes the request needs in one region: as much of it as the window
  // starting nearest before `ofs` can give (a sliding cursor usually asks
  // for the byte at `ofs` only).
  const uint64_t index = geometry_.WindowIndex(ofs);
  const uint64_t end = std::min(RequestEnd(file, ofs, size),
                                geometry_.WindowEnd(index, file.size));
  Region* region = regions_.Find(file, index, end);
  if (region != nullptr) {
    ++cursor_hits_;
    regions_.Pin(region);
  }
  return region;
}

absl::StatusOr<Region*> Core::AcquireLocked(FileEntry** entry, uint64_t ofs,
                                            uint64_t size, bool sliding,
                                            bool fresh, Deferred* deferred,
                                            uint64_t* seen) {
  // Another thread may have mapped it while this one waited for the load.
  if (ofs < (*entry)->size) {
    if (Region* region = TryHitLocked(**entry, ofs, size)) return region;
  }
  // About to map: learn the file's current size (and identity) first,
  // unless this operation just did, or the files are declared immutable and
  // the request lies inside what is known (a descriptor is needed to map,
  // though).
  const bool refresh = !fresh && (!config_.immutable_files ||
                                  ofs >= (*entry)->size || (*entry)->fd() < 0);
  if (refresh) {
    SMMAP_RETURN_IF_ERROR(
        RefreshLocked(entry, /*may_switch=*/!sliding, deferred));
  } else {
    files_.Touch(*entry);
  }
  FileEntry* file = *entry;
  if (ofs >= file->size) {
    // A fixed cursor at 0 of a file found empty now is the empty cursor, as
    // for a file that was empty from the start.
    if (!sliding && ofs == 0 && file->size == 0) return nullptr;
    return OffsetBeyondEnd(ofs, file->size, file->Name());
  }
  // The refresh released mu_: look again (its shrinking may also have
  // detached what was there). Without one, mu_ was held since the look
  // above, which ofs < size made.
  if (refresh) {
    if (Region* region = TryHitLocked(*file, ofs, size)) return region;
  }
  ++cursor_misses_;
  const uint64_t known = file->size;
  SMMAP_ASSIGN_OR_RETURN(
      Region * region,
      MapRegionLocked(file, geometry_.WindowIndex(ofs), deferred));
  // Another thread may have read a new size while mu_ was released for the
  // mmap. Where this request would have failed had it seen that size first
  // (the file shrank below `ofs`, or a greedy manager's file grew beyond
  // its window limit), it fails as if it had.
  const bool shrank_below = ofs >= file->size;
  absl::Status late;
  if (shrank_below) {
    if (sliding || ofs != 0 || file->size != 0) {
      late = OffsetBeyondShrunkEnd(ofs, file->size, known, file->Name());
    }
  } else if (file->size > known) {
    late = CheckGreedyLimit(*file);
  }
  if (!shrank_below && late.ok()) {
    // Grown meanwhile (within any limit): the request saw the size it mapped.
    if (seen != nullptr && file->size > known) *seen = known;
    return region;
  }
  // The region goes when unpinned: no advice for it either.
  if (!deferred->advise.empty() &&
      deferred->advise.back().addr == region->mapping.data()) {
    deferred->advise.pop_back();
  }
  UnpinLocked(region, deferred);
  if (late.ok()) return nullptr;  // emptied: the empty cursor
  return late;
}

absl::StatusOr<Region*> Core::MapRegionLocked(FileEntry* file, uint64_t index,
                                              Deferred* deferred) {
  SMMAP_RETURN_IF_ERROR(CheckGreedyLimit(*file));
  const uint64_t begin = geometry_.WindowBegin(index);
  const uint64_t end = geometry_.WindowEnd(index, file->size);
  if (end - begin > std::numeric_limits<size_t>::max()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Region of ", end - begin,
        " bytes does not fit this system's address space: ", file->Name()));
  }
  const size_t length = static_cast<size_t>(end - begin);
  const uint64_t charged = Mapping::Rounded(length);  // whole pages
  for (;;) {
    absl::Status room = regions_.MakeRoom(charged, *file, &deferred->releases,
                                          Dropped{this, deferred});
    if (room.ok()) break;
    // Other threads' unmaps, about to run, are all that is in the way of a
    // hard budget: wait for them rather than fail.
    if (!regions_.FitsOnceUnmapped(charged)) return room;
    WaitReleasedLocked(deferred);
  }
  regions_.Reserve(charged);
  // A region this call evicted that maps as many pages gives its address
  // range: mapping over it replaces it in one system call, not two (munmap
  // and mmap). Its bytes then count as the reservation only: the range
  // holds the old pages or the new ones, never both.
  void* over = deferred->releases.TakeUnmap(charged);
  if (over != nullptr) {
    regions_.Unmapped(charged);
    SignalReleasedLocked();  // a hard budget's waiters re-check now
  }

  // busy: nobody closes the descriptor while mu_ is released. MAP_POPULATE
  // would read the window before the cursor exists: populate after the
  // operation instead (see FinishSlow()).
  const int fd = file->fd();
  void* addr = nullptr;
  bool old_left = false;  // a failed map-over could not unmap the old range
  auto map = [&] {
    // On failure, the old mapping is gone too, or given up (os::MmapOver()).
    if (void* old = std::exchange(over, nullptr)) {
      return os::MmapOver(old, fd, begin, length, &addr, &old_left);
    }
    return os::Mmap(fd, begin, length, /*populate=*/false, &addr);
  };
  int err = Unlocked(deferred, map);
  if (err != 0) ++map_failures_;
  if (old_left) ++unmap_failures_;  // given up, as a failed munmap is
  const bool retry = (err == ENOMEM || err == EAGAIN) && regions_.has_unused();
  if (retry) {
    // Out of address space or mappings: unmap what is unused now (not what
    // was unused before the call) and retry once.
    regions_.Evict(0, /*evicting=*/true, &deferred->releases,
                   Dropped{this, deferred});
    err = Unlocked(deferred, map);
    if (err != 0) ++map_failures_;
  }
  regions_.Unreserve(charged);
  if (err != 0) {
    const bool out_of_memory = err == ENOMEM || err == EAGAIN;
    const absl::Status status = os::ErrnoStatus(
        err,
        absl::StrCat("mmap(", file->Name(), ", offset=", begin,
                     ", length=", length, ")"),
        !out_of_memory ? ""
        : retry        ? "; unused regions were unmapped and the call retried "
                         "once (check vm.max_map_count and RLIMIT_AS)"
                       : "; no region was unused, nothing to retry (check "
                         "vm.max_map_count and RLIMIT_AS)");
    // EAGAIN (locked memory) is exhaustion too, whatever errno's usual code.
    return out_of_memory ? absl::ResourceExhaustedError(status.message())
                         : status;
  }
  if (config_.populate || config_.advice != AccessAdvice::kNone) {
    // The caller's cursor pins the region, so it is still mapped when the
    // advice is given.
    deferred->advise.push_back({addr, length});
    deferred->advice = AdviceFlag(config_.advice);
    deferred->populate = config_.populate;
  }
  Region* region =
      regions_.Insert(file, index, begin, Mapping(addr, length),
                      &deferred->releases, Dropped{this, deferred});
  if (region->attached && region->end() > file->size) {
    // The file shrank while it was mapped (another thread asked for its
    // size meanwhile: CheckOffsetUnloadedLocked()). New requests must not
    // find bytes beyond the end; this one's cursor keeps the region.
    regions_.Detach(region, &deferred->releases, Dropped{this, deferred});
  }
  return region;
}

}  // namespace internal
}  // namespace smmap
