#include "smmap/internal/core.h"

#include <sys/mman.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "smmap/internal/os.h"
#include "smmap/internal/status_macros.h"

namespace smmap {
namespace internal {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr bool k64Bit = sizeof(void*) == 8;
// The largest file offset (off_t is signed).
constexpr uint64_t kMaxOffset =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
constexpr uint64_t kMaxWindowSize = uint64_t{1} << 62;
// Windows this large are rounded so that regions start at multiples of 2 MiB
// in the file, where the kernel can map cached files with 2 MiB pages.
constexpr uint64_t kLargeWindowUnit = 4 * kMiB;
constexpr uint64_t kDefaultTilingWindow = k64Bit ? 1024 * kMiB : 64 * kMiB;
constexpr uint64_t kDefaultMaxMemory = k64Bit ? 8192 * kMiB : 1024 * kMiB;
constexpr uint64_t kMaxDefaultOpenFiles = 4096;

// REQUIRES: value + multiple does not overflow.
uint64_t RoundUp(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

std::string NameOf(const FileRef& file) {
  return file.is_fd() ? absl::StrCat("fd ", file.fd())
                      : std::string(file.path());
}

FileRef RefOf(const FileEntry& file) {
  return file.caller_fd >= 0 ? FileRef(file.caller_fd) : FileRef(file.path);
}

absl::Status OffsetBeyondEnd(uint64_t offset, uint64_t file_size,
                             const FileEntry& file) {
  return absl::OutOfRangeError(absl::StrCat("Offset(", offset,
                                            ") beyond file-size(", file_size,
                                            ") for file: ", file.Name()));
}

// Arguments that no file can satisfy.
absl::Status CheckRange(const FileRef& file, uint64_t offset, uint64_t size) {
  if (offset > kMaxOffset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offset(", offset,
        ") is beyond the largest file offset 2^63-1 (a negative number "
        "converted to uint64_t?) for file: ",
        NameOf(file)));
  }
  if (size > kMaxOffset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "size(", size,
        ") is beyond the largest file size 2^63-1 (a negative number "
        "converted to uint64_t?) for file: ",
        NameOf(file)));
  }
  if (size > kMaxOffset - offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offset(", offset, ") + size(", size,
        ") overflows the largest file offset 2^63-1 for file: ", NameOf(file)));
  }
  return absl::OkStatus();
}

// Names that denote no file.
absl::Status CheckName(const FileRef& file) {
  if (file.is_fd()) {
    if (file.fd() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Invalid file descriptor: ", file.fd()));
    }
    return absl::OkStatus();
  }
  if (file.path().empty()) return absl::InvalidArgumentError("Empty path");
  if (file.path().find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("Path contains a NUL character: ", file.path()));
  }
  return absl::OkStatus();
}

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

}  // namespace

std::string FileEntry::Name() const {
  return caller_fd >= 0 ? absl::StrCat("fd ", caller_fd) : path;
}

absl::StatusOr<Config> ResolveOptions(const ManagerOptions& options,
                                      bool greedy) {
  Config config;
  config.greedy = greedy;
  uint64_t window =
      options.window_size.value_or(greedy ? 0 : kDefaultTilingWindow);
  if (window > kMaxWindowSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("window_size(", window,
                     ") is larger than 2^62; use 0 to map files whole"));
  }
  if (!greedy && window != 0) {
    uint64_t unit = 2 * os::PageSize();
    if (window >= kLargeWindowUnit) unit = std::max(unit, kLargeWindowUnit);
    window = RoundUp(window, unit);
    config.stride = window / 2;
  }
  if (window > std::numeric_limits<size_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "window_size(", window, ") does not fit this system's address space"));
  }
  config.window_size = window;
  config.max_memory_size = options.max_memory_size.value_or(kDefaultMaxMemory);
  config.max_open_files = options.max_open_files.value_or(
      std::clamp<uint64_t>(os::OpenFileLimit() / 4, 1, kMaxDefaultOpenFiles));
  config.hard_limits = options.hard_limits;
  config.populate = options.populate;
  config.immutable_files = options.immutable_files;
  config.advice = options.advice;
  if (config.hard_limits) {
    if (config.max_memory_size == 0) {
      return absl::InvalidArgumentError(
          "max_memory_size(0) with hard_limits: nothing could ever be mapped");
    }
    if (!greedy && config.window_size > config.max_memory_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_memory_size(", config.max_memory_size,
          ") with hard_limits is smaller than window_size(", config.window_size,
          "): no whole region could be mapped"));
    }
  }
  return config;
}

namespace {

int Log2IfPowerOfTwo(uint64_t value) {
  if (value == 0 || (value & (value - 1)) != 0) return -1;
  int log = 0;
  while ((uint64_t{1} << log) != value) ++log;
  return log;
}

}  // namespace

Core::Core(const Config& config)
    : config_(config),
      stride_shift_(Log2IfPowerOfTwo(config.stride)),
      fd_slots_(std::max<uint64_t>(config.max_open_files, 1)),
      unmap_failures_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Core::~Core() = default;

size_t Core::RunReleases(Deferred& deferred) {
  uint64_t failures = 0;
  for (Mapping& mapping : deferred.unmaps) failures += mapping.Reset() ? 0 : 1;
  deferred.unmaps.clear();
  if (failures > 0 && deferred.unmap_failures != nullptr) {
    deferred.unmap_failures->fetch_add(failures, std::memory_order_relaxed);
  }
  const size_t closed = deferred.closes.size();
  deferred.closes.clear();  // close
  return closed;
}

bool Core::ClosedLocked(size_t n) {
  fds_closing_ -= n;
  SignalSlotsLocked();
  return UnusedLocked();
}

void Core::FinishSlow(Core* core, Deferred& deferred) {
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
  const size_t closed = RunReleases(deferred);
  bool delete_core = deferred.delete_core;
  if (closed > 0) {
    // The Core waits for these (UnusedLocked()): it is still there.
    MutexLock lock(&core->mu_);
    delete_core = core->ClosedLocked(closed);
  }
  if (delete_core) delete core;
}

void Core::Destroy() {
  Deferred deferred;
  {
    MutexLock lock(&mu_);
    closed_ = true;
    CollectLocked(&deferred);
    owner_alive_ = false;
    deferred.delete_core = UnusedLocked();
  }
  Finish(this, deferred);
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
  file->busy = true;
}

void Core::UnlockFileLocked(FileEntry* file) {
  file->busy = false;
  file->load_mu.unlock();
  SignalSlotsLocked();  // its descriptor may be closed now
}

void Core::EndLoadLocked(FileEntry* file, Deferred* deferred) {
  UnlockFileLocked(file);
  if (closed_) {
    // A closed (or destroyed) manager caches no descriptor.
    if (file->owned_fd.valid() && !file->busy) CloseFdLocked(file, deferred);
  } else {
    CloseIdleFdsLocked(config_.max_open_files, /*evicting=*/true, deferred);
  }
}

// --- Manager operations ----------------------------------------------------

absl::StatusOr<FixedCursor> Core::MakeFixed(const FileRef& file,
                                            uint64_t offset, uint64_t size) {
  SMMAP_RETURN_IF_ERROR(CheckRange(file, offset, size));
  SMMAP_RETURN_IF_ERROR(CheckName(file));
  FixedCursor cursor;
  Deferred deferred;
  absl::Status status;
  {
    MutexLock lock(&mu_);
    if (TryFixedFromCacheLocked(file, offset, size, &cursor)) return cursor;
    status = MakeFixedLocked(file, offset, size, &cursor, &deferred);
  }
  Finish(this, deferred);
  if (!status.ok()) return status;
  return cursor;
}

bool Core::TryFixedFromCacheLocked(const FileRef& file, uint64_t offset,
                                   uint64_t size, FixedCursor* cursor) {
  if (closed_) return false;
  FileEntry* entry = FindEntryLocked(file);
  if (entry == nullptr || offset >= entry->size) return false;
  const uint64_t index = WindowIndex(offset);
  const uint64_t end =
      std::min(RequestEnd(*entry, offset, size), WindowEnd(index, entry->size));
  // A cursor reaching the end of the file as known takes the slow path,
  // which looks at the file's current size first.
  if (!config_.immutable_files && end >= entry->size) return false;
  Region* region = FindRegionLocked(*entry, index, end);
  if (region == nullptr) return false;
  ++stats_.cursor_hits;
  PinLocked(region);  // keeps the entry alive too: no reference needed
  BindFixedCursorLocked(entry, region, offset, size, cursor);
  return true;
}

void Core::BindFixedCursorLocked(FileEntry* entry, Region* region,
                                 uint64_t offset, uint64_t size,
                                 FixedCursor* cursor) {
  const uint64_t end =
      region == nullptr
          ? offset
          : std::min(RequestEnd(*entry, offset, size), region->end());
  cursor->core_ = this;
  cursor->file_ = entry;
  cursor->region_ = region;
  cursor->data_ = region == nullptr
                      ? nullptr
                      : region->mapping.data() + (offset - region->ofs);
  cursor->ofs_ = offset;
  cursor->size_ = static_cast<size_t>(end - offset);  // within one mapping
  cursor->file_size_ = entry->size;
  cursor->open_ = true;
  ++num_cursors_;
}

absl::Status Core::MakeFixedLocked(const FileRef& file, uint64_t offset,
                                   uint64_t size, FixedCursor* cursor,
                                   Deferred* deferred) {
  if (closed_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "MakeCursor on a closed manager for file: ", NameOf(file)));
  }
  FileEntry* entry = FindOrAddEntryLocked(file);  // the operation's reference
  LockFileLocked(entry, deferred);
  absl::Status status = ExamineLocked(entry, deferred);
  if (status.ok()) {
    status = BindFixedLocked(&entry, offset, size, cursor, deferred);
  }
  EndLoadLocked(entry, deferred);
  // A cursor with a region is kept alive by it; only the empty cursor of an
  // empty file keeps the reference.
  if (!status.ok() || cursor->region_ != nullptr) UnrefLocked(entry, deferred);
  return status;
}

absl::Status Core::BindFixedLocked(FileEntry** entry, uint64_t offset,
                                   uint64_t size, FixedCursor* cursor,
                                   Deferred* deferred) {
  const uint64_t known = (*entry)->size;
  const bool reaches_end =
      offset < known &&
      std::min(RequestEnd(**entry, offset, size),
               WindowEnd(WindowIndex(offset), known)) >= known;
  bool fresh = false;
  SMMAP_RETURN_IF_ERROR(CheckOffsetLocked(entry, offset, reaches_end,
                                          /*may_switch=*/true, &fresh,
                                          deferred));
  Region* region = nullptr;
  if ((*entry)->size > 0) {  // else the empty cursor of an empty file
    SMMAP_ASSIGN_OR_RETURN(
        region,
        AcquireLocked(entry, offset, size, /*sliding=*/false, fresh, deferred));
  }
  BindFixedCursorLocked(*entry, region, offset, size, cursor);
  return absl::OkStatus();
}

absl::StatusOr<SlidingCursor> Core::MakeSliding(const FileRef& file,
                                                uint64_t offset,
                                                uint64_t size) {
  SMMAP_RETURN_IF_ERROR(CheckRange(file, offset, size));
  SMMAP_RETURN_IF_ERROR(CheckName(file));
  SlidingCursor cursor;
  Deferred deferred;
  absl::Status status;
  {
    MutexLock lock(&mu_);
    status = MakeSlidingLocked(file, offset, size, &cursor, &deferred);
  }
  Finish(this, deferred);
  if (!status.ok()) return status;
  return cursor;
}

absl::Status Core::MakeSlidingLocked(const FileRef& file, uint64_t offset,
                                     uint64_t size, SlidingCursor* cursor,
                                     Deferred* deferred) {
  if (closed_) {
    return absl::FailedPreconditionError(absl::StrCat(
        "MakeSlidingCursor on a closed manager for file: ", NameOf(file)));
  }
  // The operation's reference, handed to the cursor.
  FileEntry* entry = FindOrAddEntryLocked(file);
  LockFileLocked(entry, deferred);
  absl::Status status = ExamineLocked(entry, deferred);
  bool fresh = false;
  if (status.ok()) {
    status = CheckOffsetLocked(
        &entry, offset,
        /*reaches_end=*/RequestEnd(*entry, offset, size) >= entry->size,
        /*may_switch=*/true, &fresh, deferred);
  }
  if (status.ok()) status = CheckGreedyLimit(*entry);
  EndLoadLocked(entry, deferred);
  if (status.ok()) {
    cursor->core_ = this;
    cursor->file_ = entry;
    cursor->ofs_ = offset;
    cursor->size_ = RequestEnd(*entry, offset, size) - offset;
    cursor->file_size_ = entry->size;
    ++num_cursors_;
  } else {
    UnrefLocked(entry, deferred);
  }
  return status;
}

size_t Core::Collect() {
  Deferred deferred;
  size_t collected;
  {
    MutexLock lock(&mu_);
    collected = CollectLocked(&deferred);
  }
  Finish(this, deferred);
  return collected;
}

void Core::Close() {
  Deferred deferred;
  {
    MutexLock lock(&mu_);
    closed_ = true;
    CollectLocked(&deferred);
  }
  Finish(this, deferred);
}

bool Core::closed() const {
  MutexLock lock(&mu_);
  return closed_;
}

size_t Core::num_open_regions() const {
  MutexLock lock(&mu_);
  return num_regions_;
}

size_t Core::num_used_regions() const {
  MutexLock lock(&mu_);
  return num_used_regions_;
}

size_t Core::num_open_cursors() const {
  MutexLock lock(&mu_);
  return num_cursors_;
}

uint64_t Core::mapped_memory_size() const {
  MutexLock lock(&mu_);
  return mapped_bytes_;
}

size_t Core::num_open_files() const {
  MutexLock lock(&mu_);
  return fd_lru_.size();
}

size_t Core::num_files() const {
  MutexLock lock(&mu_);
  return num_entries_;
}

ManagerStats Core::stats() const {
  MutexLock lock(&mu_);
  ManagerStats stats = stats_;
  stats.unmap_failures = unmap_failures_->load(std::memory_order_relaxed);
  return stats;
}

// --- Cursor operations -----------------------------------------------------

void Core::ReleaseFixed(FileEntry* file, Region* region) {
  Deferred deferred;
  {
    MutexLock lock(&mu_);
    --num_cursors_;
    if (region != nullptr) {
      ++file->refs;  // what keeps the file of a closed cursor alive
      UnpinLocked(region, &deferred);
    }
  }
  Finish(this, deferred);
}

bool Core::TryUnpinLocked(Region* region) {
  if (region->pins > 1) {
    --region->pins;
    return true;
  }
  if (!region->attached || closed_ || mapped_bytes_ > config_.max_memory_size) {
    return false;  // unpinning would unmap something
  }
  region->pins = 0;
  --num_used_regions_;
  lru_.PushBack(region);
  return true;
}

void Core::UnbindFixed(FileEntry* file, Region* region, bool was_open) {
  if (region != nullptr) {
    // The common case, with nothing to unmap or close afterwards.
    MutexLock lock(&mu_);
    if (TryUnpinLocked(region)) {
      if (was_open) --num_cursors_;
      return;
    }
  }
  Deferred deferred;
  {
    MutexLock lock(&mu_);
    if (was_open) --num_cursors_;
    if (region != nullptr) {
      UnpinLocked(region, &deferred);
    } else {
      UnrefLocked(file, &deferred);
    }
  }
  Finish(this, deferred);  // may delete this
}

void Core::UnbindSliding(FileEntry* file, Region* region) {
  Deferred deferred;
  {
    MutexLock lock(&mu_);
    --num_cursors_;
    if (region != nullptr) UnpinLocked(region, &deferred);
    UnrefLocked(file, &deferred);
  }
  Finish(this, deferred);  // may delete this
}

absl::Status Core::Slide(SlidingCursor* cursor, uint64_t i, uint64_t length) {
  Deferred deferred;
  absl::Status status;
  {
    MutexLock lock(&mu_);
    // Let go of the current region first: under a budget of one region, it
    // is the one to evict for the next.
    if (cursor->region_ != nullptr) {
      UnpinLocked(cursor->region_, &deferred);
      cursor->ClearWindow();
    }
    FileEntry* const file = cursor->file_;
    const uint64_t offset = cursor->ofs_ + i;
    Region* region = nullptr;
    if (offset < file->size) region = TryHitLocked(*file, offset, length);
    if (region != nullptr) {
      SetWindowLocked(cursor, region);
    } else {
      LockFileLocked(file, &deferred);
      status = SlideLocked(cursor, i, length, &deferred);
      EndLoadLocked(file, &deferred);
    }
  }
  Finish(this, deferred);
  return status;
}

absl::Status Core::SlideLocked(SlidingCursor* cursor, uint64_t i,
                               uint64_t length, Deferred* deferred) {
  FileEntry* file = cursor->file_;
  const uint64_t offset = cursor->ofs_ + i;
  absl::StatusOr<Region*> region =
      AcquireLocked(&file, offset, /*size=*/length, /*sliding=*/true,
                    /*fresh=*/false, deferred);
  if (absl::IsOutOfRange(region.status()) && offset >= file->size) {
    return absl::DataLossError(absl::StrCat(
        "File shrank to ", file->size, " bytes, below offset ", offset,
        " of the sliding cursor on [", cursor->ofs_, ", ", cursor->ofs_end(),
        ") made when it had ", cursor->file_size_, " bytes: ", file->Name()));
  }
  SMMAP_RETURN_IF_ERROR(region.status());
  SetWindowLocked(cursor, *region);
  return absl::OkStatus();
}

void Core::SetWindowLocked(SlidingCursor* cursor, Region* region) {
  const uint64_t lo = std::max(region->ofs, cursor->ofs_);
  const uint64_t hi = std::min(region->end(), cursor->ofs_end());
  cursor->region_ = region;
  cursor->window_ = region->mapping.data() + (lo - region->ofs);
  cursor->window_begin_ = lo - cursor->ofs_;
  cursor->window_size_ = hi - lo;
}

void Core::ReleaseSliding(SlidingCursor* cursor) {
  Deferred deferred;
  {
    MutexLock lock(&mu_);
    if (cursor->region_ != nullptr) UnpinLocked(cursor->region_, &deferred);
  }
  cursor->ClearWindow();
  Finish(this, deferred);
}

// --- Files -----------------------------------------------------------------

FileEntry* Core::FindEntryLocked(const FileRef& file) {
  if (file.is_fd()) {
    auto it = by_fd_.find(file.fd());
    return it == by_fd_.end() ? nullptr : it->second;
  }
  if (last_path_entry_ != nullptr && last_path_entry_->path == file.path()) {
    return last_path_entry_;
  }
  auto it = by_path_.find(file.path());
  if (it == by_path_.end()) return nullptr;
  return last_path_entry_ = it->second;
}

FileEntry* Core::FindOrAddEntryLocked(const FileRef& file) {
  FileEntry* entry = FindEntryLocked(file);
  if (entry == nullptr) {
    entry = new FileEntry;
    if (file.is_fd()) {
      entry->caller_fd = file.fd();
      by_fd_[entry->caller_fd] = entry;
    } else {
      entry->path = std::string(file.path());
      by_path_[entry->path] = entry;
      last_path_entry_ = entry;
    }
    ++num_entries_;
  }
  ++entry->refs;
  return entry;
}

absl::Status Core::ExamineLocked(FileEntry* entry, Deferred* deferred) {
  if (entry->examined) return absl::OkStatus();
  os::FileInfo info;
  if (entry->caller_fd >= 0) {
    const int fd = entry->caller_fd;
    if (int err = Unlocked(deferred, [&] { return os::Fstat(fd, &info); })) {
      return os::ErrnoStatus(err, absl::StrCat("fstat(fd ", fd, ")"));
    }
    if (!info.is_regular) {
      return absl::InvalidArgumentError(
          absl::StrCat("Not a regular file (", info.kind, "): fd ", fd));
    }
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
  if (!info.is_regular) {
    return absl::InvalidArgumentError(
        absl::StrCat("Not a regular file (", info.kind, "): ", path));
  }
  SMMAP_ASSIGN_OR_RETURN(UniqueFd fd, OpenLocked(path, deferred));
  const int raw = fd.get();
  int err = Unlocked(deferred, [&] { return os::Fstat(raw, &info); });
  if (err != 0 || !info.is_regular) {
    DiscardFdLocked(std::move(fd), deferred);
    if (err != 0)
      return os::ErrnoStatus(err, absl::StrCat("fstat(", path, ")"));
    return absl::InvalidArgumentError(
        absl::StrCat("Not a regular file (", info.kind, "): ", path));
  }
  SetIdentityLocked(entry, std::move(fd), info);
  return absl::OkStatus();
}

void Core::SetIdentityLocked(FileEntry* entry, UniqueFd fd,
                             const os::FileInfo& info) {
  entry->device = info.device;
  entry->inode = info.inode;
  entry->size = info.size;
  entry->examined = true;
  if (fd.valid()) AdoptFdLocked(entry, std::move(fd));
}

absl::StatusOr<UniqueFd> Core::OpenLocked(const std::string& path,
                                          Deferred* deferred) {
  ReserveFdSlotLocked(deferred);
  int fd = -1;
  int err = Unlocked(deferred, [&] { return os::Open(path.c_str(), &fd); });
  bool retried = false;
  if ((err == EMFILE || err == ENFILE) && IdleFdLocked() != nullptr) {
    // Out of descriptors: give back every idle cached one and retry once.
    CloseIdleFdsLocked(0, /*evicting=*/false, deferred);
    retried = true;
    err = Unlocked(deferred, [&] { return os::Open(path.c_str(), &fd); });
  }
  if (err != 0) {
    --fds_opening_;
    SignalSlotsLocked();
    return os::ErrnoStatus(
        err, absl::StrCat("open(", path, ")"),
        err != EMFILE && err != ENFILE ? ""
        : retried ? "; the process is out of file descriptors (RLIMIT_NOFILE) "
                    "even after the manager closed its cached ones"
                  : "; the process is out of file descriptors (RLIMIT_NOFILE) "
                    "and the manager held none it could close");
  }
  return UniqueFd(fd);
}

void Core::ReserveFdSlotLocked(Deferred* deferred) {
  while (fd_lru_.size() + fds_opening_ + fds_closing_ >= fd_slots_) {
    if (fd_lru_.size() > 0 && IdleFdLocked() != nullptr) {
      CloseIdleFdsLocked(fd_lru_.size() - 1, /*evicting=*/true, deferred);
    } else if (!deferred->closes.empty()) {
      Unlocked(deferred, [] { return 0; });  // close what this call let go
    } else {
      // Every slot is in use by a loader, or being closed: wait for one.
      ++slot_waiters_;
      slot_cv_.Wait(&mu_);
      --slot_waiters_;
    }
  }
  ++fds_opening_;
}

void Core::AdoptFdLocked(FileEntry* file, UniqueFd fd) {
  --fds_opening_;
  file->owned_fd = std::move(fd);
  fd_lru_.PushBack(file);
  ++stats_.files_opened;
}

void Core::DiscardFdLocked(UniqueFd fd, Deferred* deferred) {
  deferred->closes.push_back(std::move(fd));
  // Counted as being closed (not opened) until it is.
  --fds_opening_;
  ++fds_closing_;
}

absl::Status Core::CheckOffsetLocked(FileEntry** entry, uint64_t offset,
                                     bool reaches_end, bool may_switch,
                                     bool* fresh, Deferred* deferred) {
  const bool beyond = offset >= (*entry)->size;
  if (!beyond && !(reaches_end && !config_.immutable_files)) {
    return absl::OkStatus();
  }
  // Beyond, or up to, what we knew of the file: it may have grown since.
  const uint64_t known = (*entry)->size;
  const FileEntry* const file_before = *entry;
  SMMAP_RETURN_IF_ERROR(RefreshLocked(entry, may_switch, deferred));
  *fresh = true;
  const FileEntry& file = **entry;
  if (offset < file.size || (offset == 0 && file.size == 0)) {
    return absl::OkStatus();
  }
  absl::Status status = OffsetBeyondEnd(offset, file.size, file);
  if (offset < known && file.size < known && *entry == file_before) {
    // Inside the file as it was: say that it shrank.
    return absl::OutOfRangeError(
        absl::StrCat(status.message(), " (it shrank from ", known, " bytes)"));
  }
  return status;
}

absl::Status Core::RefreshLocked(FileEntry** entry, bool may_switch,
                                 Deferred* deferred) {
  FileEntry* file = *entry;
  os::FileInfo info;
  UniqueFd reopened;
  if (file->fd() >= 0) {
    // busy: nobody closes the descriptor while mu_ is released.
    const int fd = file->fd();
    if (int err = Unlocked(deferred, [&] { return os::Fstat(fd, &info); })) {
      return os::ErrnoStatus(err, absl::StrCat("fstat(", file->Name(), ")"));
    }
    if (file->owned_fd.valid()) fd_lru_.MoveToBack(file);
  } else {
    SMMAP_ASSIGN_OR_RETURN(reopened, OpenLocked(file->path, deferred));
    const int fd = reopened.get();
    if (int err = Unlocked(deferred, [&] { return os::Fstat(fd, &info); })) {
      DiscardFdLocked(std::move(reopened), deferred);
      return os::ErrnoStatus(err, absl::StrCat("fstat(", file->path, ")"));
    }
  }
  if (info.is_regular && info.device == file->device &&
      info.inode == file->inode) {
    if (reopened.valid()) AdoptFdLocked(file, std::move(reopened));
    if (info.size < file->size) ShrinkLocked(file, info.size, deferred);
    file->size = info.size;
    return absl::OkStatus();
  }
  // The name now denotes another file.
  absl::Status refused;
  if (!may_switch || !file->attached) {
    refused = absl::FailedPreconditionError(
        absl::StrCat("File was replaced (device:inode ", file->device, ":",
                     file->inode, " is now ", info.device, ":", info.inode,
                     ", a ", info.kind, "): ", file->Name()));
  } else if (!info.is_regular) {
    refused = absl::InvalidArgumentError(
        absl::StrCat("Not a regular file (", info.kind, "): ", file->Name()));
  }
  if (!refused.ok()) {
    if (reopened.valid()) DiscardFdLocked(std::move(reopened), deferred);
    return refused;
  }
  DetachEntryLocked(file, deferred);
  FileEntry* replacement = FindOrAddEntryLocked(RefOf(*file));
  // A new entry: nobody else can hold its lock yet.
  const bool locked = replacement->load_mu.try_lock();
  assert(locked);
  (void)locked;
  replacement->busy = true;
  SetIdentityLocked(replacement, std::move(reopened), info);
  // The caller's reference and load move to the replacement.
  UnlockFileLocked(file);
  UnrefLocked(file, deferred);
  *entry = replacement;
  return absl::OkStatus();
}

void Core::ShrinkLocked(FileEntry* file, uint64_t new_size,
                        Deferred* deferred) {
  std::vector<Region*> beyond;
  for (const auto& [index, region] : file->regions) {
    if (region->end() > new_size) beyond.push_back(region);
  }
  for (Region* region : beyond) DetachRegionLocked(region, deferred);
}

void Core::DetachEntryLocked(FileEntry* file, Deferred* deferred) {
  if (last_path_entry_ == file) last_path_entry_ = nullptr;
  if (file->caller_fd >= 0) {
    by_fd_.erase(file->caller_fd);
  } else {
    by_path_.erase(file->path);
  }
  file->attached = false;
  std::vector<Region*> regions;
  regions.reserve(file->regions.size());
  for (const auto& [index, region] : file->regions) regions.push_back(region);
  for (Region* region : regions) DetachRegionLocked(region, deferred);
}

void Core::UnrefLocked(FileEntry* file, Deferred* deferred) {
  --file->refs;
  MaybeDeleteEntryLocked(file, deferred);
}

void Core::MaybeDeleteEntryLocked(FileEntry* file, Deferred* deferred) {
  // refs == 0: no thread holds or waits for file->load_mu either.
  if (file->refs != 0 || file->num_regions != 0) return;
  // An attached entry stays to cache its descriptor, within the budget.
  if (file->attached && file->owned_fd.valid() && !closed_) return;
  if (file->owned_fd.valid()) CloseFdLocked(file, deferred);
  if (file->attached) {
    if (file->caller_fd >= 0) {
      by_fd_.erase(file->caller_fd);
    } else {
      by_path_.erase(file->path);
    }
  }
  if (last_path_entry_ == file) last_path_entry_ = nullptr;
  delete file;
  --num_entries_;
  if (UnusedLocked()) deferred->delete_core = true;
}

void Core::CloseFdLocked(FileEntry* file, Deferred* deferred) {
  fd_lru_.Remove(file);
  deferred->closes.push_back(std::move(file->owned_fd));
  ++fds_closing_;
  ++stats_.files_closed;
}

FileEntry* Core::IdleFdLocked() {
  // Loaders are few: this passes over at most one entry per thread.
  FileEntry* file = fd_lru_.front();
  while (file != nullptr && file->busy) file = fd_lru_.Next(file);
  return file;
}

void Core::CloseIdleFdsLocked(size_t keep, bool evicting, Deferred* deferred) {
  while (fd_lru_.size() > keep) {
    FileEntry* victim = IdleFdLocked();
    if (victim == nullptr) break;
    if (evicting) ++stats_.fd_evictions;
    CloseFdLocked(victim, deferred);
    MaybeDeleteEntryLocked(victim, deferred);
  }
}

// --- Regions ---------------------------------------------------------------

uint64_t Core::WindowEnd(uint64_t index, uint64_t file_size) const {
  if (config_.stride == 0) return file_size;
  // index * stride <= an offset < 2^63, window <= 2^62: no overflow.
  return std::min(index * config_.stride + config_.window_size, file_size);
}

uint64_t Core::RequestEnd(const FileEntry& file, uint64_t offset,
                          uint64_t size) {
  // CheckRange() made offset + size safe.
  return size == 0 ? file.size : std::min(file.size, offset + size);
}

Region* Core::FindRegionLocked(const FileEntry& file, uint64_t index,
                               uint64_t end) const {
  // Window `index` starts at or before `ofs`; so does window index - 1,
  // which ends earlier but may already be mapped.
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

Region* Core::TryHitLocked(const FileEntry& file, uint64_t ofs, uint64_t size) {
  // The bytes the request needs in one region: as much of it as the window
  // starting nearest before `ofs` can give (a sliding cursor usually asks
  // for the byte at `ofs` only).
  const uint64_t index = WindowIndex(ofs);
  const uint64_t end =
      std::min(RequestEnd(file, ofs, size), WindowEnd(index, file.size));
  Region* region = FindRegionLocked(file, index, end);
  if (region != nullptr) {
    ++stats_.cursor_hits;
    PinLocked(region);
  }
  return region;
}

absl::StatusOr<Region*> Core::AcquireLocked(FileEntry** entry, uint64_t ofs,
                                            uint64_t size, bool sliding,
                                            bool fresh, Deferred* deferred) {
  // Another thread may have mapped it while this one waited for the load.
  if (ofs < (*entry)->size) {
    if (Region* region = TryHitLocked(**entry, ofs, size)) return region;
  }
  // About to map: learn the file's current size (and identity) first,
  // unless this operation just did, or the files are declared immutable and
  // the request lies inside what is known (a descriptor is needed to map,
  // though).
  if (fresh) {
    if ((*entry)->owned_fd.valid()) fd_lru_.MoveToBack(*entry);
  } else if (!config_.immutable_files || ofs >= (*entry)->size ||
             (*entry)->fd() < 0) {
    SMMAP_RETURN_IF_ERROR(
        RefreshLocked(entry, /*may_switch=*/!sliding, deferred));
  } else if ((*entry)->owned_fd.valid()) {
    fd_lru_.MoveToBack(*entry);
  }
  FileEntry* file = *entry;
  if (ofs >= file->size) return OffsetBeyondEnd(ofs, file->size, *file);
  // The refresh released mu_: look again (its shrinking may also have
  // detached what was there).
  if (Region* region = TryHitLocked(*file, ofs, size)) return region;
  ++stats_.cursor_misses;
  SMMAP_ASSIGN_OR_RETURN(Region * region,
                         MapRegionLocked(file, WindowIndex(ofs), deferred));
  PinLocked(region);
  return region;
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

absl::StatusOr<Region*> Core::MapRegionLocked(FileEntry* file, uint64_t index,
                                              Deferred* deferred) {
  SMMAP_RETURN_IF_ERROR(CheckGreedyLimit(*file));
  const uint64_t begin = index * config_.stride;
  const uint64_t end = WindowEnd(index, file->size);
  if (end - begin > std::numeric_limits<size_t>::max()) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Region of ", end - begin,
        " bytes does not fit this system's address space: ", file->Name()));
  }
  const size_t length = static_cast<size_t>(end - begin);
  SMMAP_RETURN_IF_ERROR(MakeRoomLocked(length, *file, deferred));
  reserved_bytes_ += length;

  // busy: nobody closes the descriptor while mu_ is released. MAP_POPULATE
  // would read the window before the cursor exists: populate after the
  // operation instead (see FinishSlow()).
  const int fd = file->fd();
  void* addr = nullptr;
  auto map = [&] {
    return os::Mmap(fd, begin, length, /*populate=*/false, &addr);
  };
  int err = Unlocked(deferred, map);
  if (err != 0) ++stats_.map_failures;
  const bool retry = (err == ENOMEM || err == EAGAIN) && !lru_.empty();
  if (retry) {
    // Out of address space or mappings: unmap what is unused now (not what
    // was unused before the call) and retry once.
    stats_.lru_evictions += EvictLocked(0, deferred);
    err = Unlocked(deferred, map);
    if (err != 0) ++stats_.map_failures;
  }
  reserved_bytes_ -= length;
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
    // The caller pins the region before unlocking, so it is still mapped
    // when the advice is given.
    deferred->advise.push_back({addr, length});
    deferred->advice = AdviceFlag(config_.advice);
    deferred->populate = config_.populate;
  }

  auto* region = new Region;
  region->file = file;
  region->index = index;
  region->ofs = begin;
  region->mapping = Mapping(addr, length);
  auto [it, inserted] = file->regions.try_emplace(index, region);
  if (!inserted) {
    // A region mapped when the file was shorter: replace it.
    Region* stale = it->second;
    it->second = region;
    stale->attached = false;
    if (stale->pins == 0) DropRegionLocked(stale, deferred);
  }
  ++file->num_regions;
  ++num_regions_;
  mapped_bytes_ += length;
  ++stats_.regions_mapped;
  stats_.bytes_mapped_total += length;
  stats_.peak_mapped_bytes = std::max(stats_.peak_mapped_bytes, mapped_bytes_);
  stats_.peak_regions = std::max<uint64_t>(stats_.peak_regions, num_regions_);
  return region;
}

absl::Status Core::MakeRoomLocked(uint64_t bytes, const FileEntry& file,
                                  Deferred* deferred) {
  const uint64_t budget = config_.max_memory_size;
  if (config_.hard_limits && bytes > budget) {
    return absl::ResourceExhaustedError(
        absl::StrCat("Mapping ", bytes, " bytes of ", file.Name(),
                     " exceeds max_memory_size(", budget, ")"));
  }
  // Reservations of other threads' mappings in flight count as mapped.
  const uint64_t needed = reserved_bytes_ + bytes;
  if (mapped_bytes_ + needed > budget) {
    stats_.lru_evictions +=
        EvictLocked(budget > needed ? budget - needed : 0, deferred);
  }
  if (mapped_bytes_ + needed > budget) {
    if (config_.hard_limits) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "Mapping ", bytes, " bytes of ", file.Name(),
          " would exceed max_memory_size(", budget, "): ", mapped_bytes_,
          " bytes are mapped in ", num_regions_,
          " regions, all in use by cursors",
          reserved_bytes_ > 0 ? ", and " : "",
          reserved_bytes_ > 0
              ? absl::StrCat(reserved_bytes_, " bytes are being mapped")
              : ""));
    }
    ++stats_.soft_budget_overruns;
  }
  return absl::OkStatus();
}

void Core::PinLocked(Region* region) {
  if (region->pins++ == 0) {
    if (lru_.Contains(region)) lru_.Remove(region);
    ++num_used_regions_;
  }
}

void Core::UnpinLocked(Region* region, Deferred* deferred) {
  if (--region->pins != 0) return;
  --num_used_regions_;
  if (!region->attached || closed_) {
    DropRegionLocked(region, deferred);
    return;
  }
  lru_.PushBack(region);
  // Soft limits may have over-allocated while everything was in use.
  if (mapped_bytes_ > config_.max_memory_size) {
    stats_.lru_evictions += EvictLocked(config_.max_memory_size, deferred);
  }
}

void Core::DetachRegionLocked(Region* region, Deferred* deferred) {
  region->file->regions.erase(region->index);
  region->attached = false;
  if (region->pins == 0) DropRegionLocked(region, deferred);
}

void Core::DropRegionLocked(Region* region, Deferred* deferred) {
  if (lru_.Contains(region)) lru_.Remove(region);
  FileEntry* file = region->file;
  if (region->attached) file->regions.erase(region->index);
  mapped_bytes_ -= region->mapping.size();
  --num_regions_;
  --file->num_regions;
  ++stats_.regions_unmapped;
  deferred->unmaps.push_back(std::move(region->mapping));
  if (deferred->unmap_failures == nullptr) {
    deferred->unmap_failures = unmap_failures_;
  }
  delete region;
  MaybeDeleteEntryLocked(file, deferred);
}

size_t Core::EvictLocked(uint64_t keep_bytes, Deferred* deferred) {
  size_t evicted = 0;
  while (mapped_bytes_ > keep_bytes && !lru_.empty()) {
    DropRegionLocked(lru_.front(), deferred);
    ++evicted;
  }
  return evicted;
}

size_t Core::CollectLocked(Deferred* deferred) {
  const size_t collected = EvictLocked(0, deferred);
  CloseIdleFdsLocked(0, /*evicting=*/false, deferred);
  return collected;
}

}  // namespace internal
}  // namespace smmap
