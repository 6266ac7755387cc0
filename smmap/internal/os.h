// Every system call smmap makes, in one place.
//
// This is the seam for fault injection in tests (SetFaultInjector) and for a
// future port to another operating system. Functions return 0 on success or
// an errno value; they never throw and never abort.
//
// Thread-safe. The fault injector is a process-wide setting meant for tests.

#ifndef SMMAP_INTERNAL_OS_H_
#define SMMAP_INTERNAL_OS_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace smmap {
namespace internal {
namespace os {

enum class Syscall : int {
  kOpen = 0,
  kFstat,
  kMmap,
  kMunmap,
  kClose,
  kMadvise,
  kStat,
  kLseek,
};
inline constexpr int kNumSyscalls = 8;

// "open", "fstat", ...
absl::string_view SyscallName(Syscall call);

// Decides, before each system call, whether it fails. Implementations must be
// thread-safe if the code under test uses threads.
class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  // Returns 0 to let `call` run, or an errno value to make it fail with
  // that errno without running.
  virtual int BeforeCall(Syscall call) = 0;
  // Before madvise(), with the advice it is given (MADV_*). Default:
  // BeforeCall(Syscall::kMadvise).
  virtual int BeforeMadvise(int advice) {
    (void)advice;
    return BeforeCall(Syscall::kMadvise);
  }
  // Before an mmap over a mapping it replaces (MmapOver()): one call that
  // unmaps the old pages too. Default: BeforeCall(Syscall::kMmap).
  virtual int BeforeMmapOver() { return BeforeCall(Syscall::kMmap); }
  // After FileSize()'s lseek returned a size, before FileSize() does: a
  // test may hold that size there while other threads read theirs.
  virtual void AfterSizeQuery() {}
};

// Installs `injector` for every later smmap system call in the process;
// nullptr removes it. The caller keeps ownership and keeps it alive until it
// is removed. For tests only.
void SetFaultInjector(FaultInjector* injector);

// What smmap needs to know of an open file.
struct FileInfo {
  uint64_t size = 0;
  uint64_t device = 0;
  uint64_t inode = 0;
  // When the inode was created (statx's btime, in nanoseconds), or 0 where
  // the file system does not say. With device and inode, the file's
  // identity: an inode number freed by a deleted file is soon given to a
  // new one (ext4 does), which its birth time tells apart.
  uint64_t birth_ns = 0;
  bool is_regular = false;
  const char* kind = "";  // "regular file", "directory", "FIFO", ...
};

// Opens `path` read-only for mapping, close-on-exec and without blocking on
// FIFOs or devices. REQUIRES: `path` is NUL-terminated.
int Open(const char* path, int* fd);
int Fstat(int fd, FileInfo* info);
// The size of open regular file `fd` (lseek to its end, which also moves
// its file offset: only for descriptors smmap opened and never reads
// through). Cheaper than Fstat(): the kernel copies no metadata out.
int FileSize(int fd, uint64_t* size);
// stat() of a path, to learn its kind before opening it (opening a device
// can have effects). REQUIRES: `path` is NUL-terminated.
int Stat(const char* path, FileInfo* info);
// Maps `length` bytes at file `offset` read-only and shared.
int Mmap(int fd, uint64_t offset, size_t length, bool populate, void** addr);
// As Mmap(), but over the mapping at `old`, which the caller owns and which
// maps `length` bytes rounded up to whole pages, as the new one will: one
// system call (MAP_FIXED) replaces it, where munmap and mmap take two. On
// success `*addr` is `old`. On failure the old mapping is unmapped too, or
// gone already, unless `*old_left` says otherwise (the caller counts it as
// a failed munmap):
//  - an error mmap() finds before it touches the range (bad arguments or
//    file, the process's limits: ENOMEM, EAGAIN; see
//    FailureKeepsOldMapping()) leaves the old mapping, which this unmaps
//    (MunmapRetried());
//  - an error from the file system's own mmap (EIO, ESTALE, ...) may come
//    after the kernel took the old mapping away (as seen on Linux 6.18 with
//    ext4: tests/failing_file_system_test.cc); the range is then free, and
//    another thread's mmap may be given it before this can look. If
//    mincore() finds nothing there, nothing is left; if it finds a mapping,
//    it may be that other thread's (or ours, put back by a kernel that
//    undoes the unmap), so this leaves it alone: `*old_left`, and the old
//    pages leak if they were ours.
int MmapOver(void* old, int fd, uint64_t offset, size_t length, void** addr,
             bool* old_left);
// Whether a MAP_FIXED mmap() that failed with `err` (an errno value) found
// the error before it touched the mapping it was to replace. ENOMEM also
// comes from the kernel's own allocations after that point, but those fail
// only in a process being killed.
bool FailureKeepsOldMapping(int err);
int Munmap(void* addr, size_t length);
// Munmap() with one retry: unmapping a whole mapping fails only for invalid
// arguments (a bug) or an injected fault, which one retry covers. 0 or the
// last errno value.
int MunmapRetried(void* addr, size_t length);
int Madvise(void* addr, size_t length, int advice);
int Close(int fd);

// The system's page size (the alignment of mapping offsets).
size_t PageSize();

// The soft limit on open file descriptors (RLIMIT_NOFILE), or 1024 when the
// system does not say.
uint64_t OpenFileLimit();

// A Status for errno value `err` with the most specific code (NotFound, also
// for ENOTDIR; PermissionDenied, ResourceExhausted, ...) and the message
// "<what>: <strerror><hint>".
absl::Status ErrnoStatus(int err, absl::string_view what,
                         absl::string_view hint = "");

}  // namespace os
}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_OS_H_
