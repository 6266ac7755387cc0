#include "smmap/internal/os.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace smmap {
namespace internal {
namespace os {
namespace {

std::atomic<FaultInjector*> g_fault_injector{nullptr};

// Returns the injected errno for `call`, or 0.
int Injected(Syscall call) {
  FaultInjector* injector = g_fault_injector.load(std::memory_order_acquire);
  return injector == nullptr ? 0 : injector->BeforeCall(call);
}

const char* FileKind(mode_t mode) {
  if (S_ISREG(mode)) return "regular file";
  if (S_ISDIR(mode)) return "directory";
  if (S_ISFIFO(mode)) return "FIFO";
  if (S_ISCHR(mode)) return "character device";
  if (S_ISBLK(mode)) return "block device";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISLNK(mode)) return "symbolic link";
  return "special file";
}

}  // namespace

absl::string_view SyscallName(Syscall call) {
  switch (call) {
    case Syscall::kOpen:
      return "open";
    case Syscall::kFstat:
      return "fstat";
    case Syscall::kMmap:
      return "mmap";
    case Syscall::kMunmap:
      return "munmap";
    case Syscall::kClose:
      return "close";
    case Syscall::kMadvise:
      return "madvise";
    case Syscall::kStat:
      return "stat";
    case Syscall::kLseek:
      return "lseek";
  }
  return "unknown";
}

void SetFaultInjector(FaultInjector* injector) {
  g_fault_injector.store(injector, std::memory_order_release);
}

int Open(const char* path, int* fd) {
  if (int err = Injected(Syscall::kOpen)) return err;
  int result;
  do {
    result = ::open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  } while (result < 0 && errno == EINTR);
  if (result < 0) return errno;
  *fd = result;
  return 0;
}

namespace {

void Fill(const struct stat& st, FileInfo* info) {
  info->size = st.st_size > 0 ? static_cast<uint64_t>(st.st_size) : 0;
  info->device = static_cast<uint64_t>(st.st_dev);
  info->inode = static_cast<uint64_t>(st.st_ino);
  info->birth_ns = 0;
  info->is_regular = S_ISREG(st.st_mode);
  info->kind = FileKind(st.st_mode);
}

// statx() of `path` relative to `dirfd` with `flags`, with the birth time;
// falls back to stat() where statx is missing (ENOSYS, seccomp filters).
int StatxOrStat(int dirfd, const char* path, int flags, FileInfo* info) {
  struct statx stx;
  if (::statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_BTIME, &stx) == 0) {
    info->size = stx.stx_size;
    info->device =
        static_cast<uint64_t>(makedev(stx.stx_dev_major, stx.stx_dev_minor));
    info->inode = stx.stx_ino;
    info->birth_ns =
        (stx.stx_mask & STATX_BTIME) != 0
            ? static_cast<uint64_t>(stx.stx_btime.tv_sec) * 1000000000u +
                  stx.stx_btime.tv_nsec
            : 0;
    info->is_regular = S_ISREG(stx.stx_mode);
    info->kind = FileKind(stx.stx_mode);
    return 0;
  }
  if (errno != ENOSYS && errno != EPERM) return errno;
  struct stat st;
  const int result =
      (flags & AT_EMPTY_PATH) != 0 ? ::fstat(dirfd, &st) : ::stat(path, &st);
  if (result != 0) return errno;
  Fill(st, info);
  return 0;
}

}  // namespace

int Fstat(int fd, FileInfo* info) {
  if (int err = Injected(Syscall::kFstat)) return err;
  return StatxOrStat(fd, "", AT_EMPTY_PATH | AT_STATX_SYNC_AS_STAT, info);
}

int FileSize(int fd, uint64_t* size) {
  if (int err = Injected(Syscall::kLseek)) return err;
  const off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) return errno;
  *size = static_cast<uint64_t>(end);
  if (FaultInjector* injector =
          g_fault_injector.load(std::memory_order_acquire)) {
    injector->AfterSizeQuery();
  }
  return 0;
}

int Stat(const char* path, FileInfo* info) {
  if (int err = Injected(Syscall::kStat)) return err;
  return StatxOrStat(AT_FDCWD, path, AT_STATX_SYNC_AS_STAT, info);
}

int Mmap(int fd, uint64_t offset, size_t length, bool populate, void** addr) {
  if (int err = Injected(Syscall::kMmap)) return err;
  if (offset > static_cast<uint64_t>(INT64_MAX)) return EOVERFLOW;
  int flags = MAP_SHARED;
  if (populate) flags |= MAP_POPULATE;
  void* result = ::mmap(/*addr=*/nullptr, length, PROT_READ, flags, fd,
                        static_cast<off_t>(offset));
  if (result == MAP_FAILED) return errno;
  *addr = result;
  return 0;
}

bool FailureKeepsOldMapping(int err) {
  switch (err) {
    case EBADF:      // the descriptor
    case EACCES:     // its open mode, or a mount without mappings
    case ENODEV:     // a file system that cannot map
    case EINVAL:     // length, offset or flags
    case EOVERFLOW:  // offset + length
    case EPERM:      // seals, mount flags
    case ENFILE:
    case ENOMEM:  // vm.max_map_count, RLIMIT_AS, RLIMIT_DATA
    case EAGAIN:  // locked memory
      return true;
    default:
      return false;
  }
}

int MmapOver(void* old, int fd, uint64_t offset, size_t length, void** addr,
             bool* old_left) {
  *old_left = false;
  FaultInjector* injector = g_fault_injector.load(std::memory_order_acquire);
  int err = injector == nullptr ? 0 : injector->BeforeMmapOver();
  if (err == 0 && offset > static_cast<uint64_t>(INT64_MAX)) err = EOVERFLOW;
  bool called = false;  // injected or refused here: the old mapping is there
  if (err == 0) {
    called = true;
    void* result = ::mmap(old, length, PROT_READ, MAP_SHARED | MAP_FIXED, fd,
                          static_cast<off_t>(offset));
    if (result != MAP_FAILED) {
      *addr = result;
      return 0;
    }
    err = errno;
  }
  if (called && !FailureKeepsOldMapping(err)) {
    unsigned char resident;
    if (::mincore(old, 1, &resident) != 0 && errno == ENOMEM) return err;
    *old_left = true;  // perhaps another thread's mapping by now
    return err;
  }
  if (MunmapRetried(old, length) != 0) *old_left = true;
  return err;
}

int Munmap(void* addr, size_t length) {
  if (int err = Injected(Syscall::kMunmap)) return err;
  return ::munmap(addr, length) == 0 ? 0 : errno;
}

int MunmapRetried(void* addr, size_t length) {
  const int err = Munmap(addr, length);
  return err == 0 ? 0 : Munmap(addr, length);
}

int Madvise(void* addr, size_t length, int advice) {
  FaultInjector* injector = g_fault_injector.load(std::memory_order_acquire);
  if (injector != nullptr) {
    if (int err = injector->BeforeMadvise(advice)) return err;
  }
  return ::madvise(addr, length, advice) == 0 ? 0 : errno;
}

int Close(int fd) {
  if (int err = Injected(Syscall::kClose)) {
    // An injected failure still closes: a real close() frees the descriptor
    // even when it reports an error, and tests must not leak it.
    ::close(fd);
    return err;
  }
  // Never retry close() on EINTR: on Linux the descriptor is already gone.
  return ::close(fd) == 0 ? 0 : errno;
}

size_t PageSize() {
  static const size_t page_size = [] {
    long value = ::sysconf(_SC_PAGESIZE);
    return value > 0 ? static_cast<size_t>(value) : size_t{4096};
  }();
  return page_size;
}

uint64_t OpenFileLimit() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 ||
      limit.rlim_cur == RLIM_INFINITY) {
    return 1024;
  }
  return static_cast<uint64_t>(limit.rlim_cur);
}

absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view hint) {
  char buffer[256];
  // GNU strerror_r: thread-safe, returns the message (maybe not in buffer).
  const char* message = ::strerror_r(err, buffer, sizeof(buffer));
  // A path through a regular file ("file/child") names no file: NotFound,
  // as a missing one (absl would say FailedPrecondition).
  const absl::StatusCode code = err == ENOTDIR ? absl::StatusCode::kNotFound
                                               : absl::ErrnoToStatusCode(err);
  return absl::Status(code, absl::StrCat(what, ": ", message, hint));
}

}  // namespace os
}  // namespace internal
}  // namespace smmap
