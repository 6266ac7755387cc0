// GuardedCopy: copy bytes out of a mapping, turning SIGBUS into DataLoss.
//
// A file truncated while it is mapped makes every read of mapped bytes
// beyond its new end raise SIGBUS, which kills the process: in smmap as in
// every mmap-based reader (LevelDB, git, JGit, mio, ...). The manager notices
// size changes whenever it maps a region, but bytes already mapped cannot be
// protected without a signal handler. GuardedCopy is that protection, for
// callers that cannot trust the files they read:
//
//   std::vector<uint8_t> out(n);
//   absl::Status s = smmap::GuardedCopy(cursor.buffer().subspan(0, n),
//                                       out.data());
//   // s is DataLoss if the file was cut under the cursor.
//
// (FixedCursor::ReadGuarded() and SlidingCursor::ReadGuarded() do the same
// with file offsets in their messages.)
//
// How: the first call installs a SIGBUS handler, which stays installed. It
// takes a SIGBUS for a truncation only if it is a fault (si_code > 0;
// kill(), raise() and the like give si_code <= 0) of a guarded copy reading
// its source range. Every other SIGBUS gets what the disposition before it
// would have done: a sent signal is ignored under SIG_IGN; the default
// action terminates the process (the handler restores it and raises the
// signal again), and so does a fault under SIG_IGN, as the kernel would
// have; a previous handler is called as the kernel would have called it
// (SA_SIGINFO, its sa_mask, SA_NODEFER and SA_RESETHAND honoured).
//
// On x86-64 the copy is a single `rep movsb`; a fault of that instruction
// resumes at a fix-up that returns the number of bytes copied (the
// technique of the kernel's exception tables): nothing is unwound, and the
// handler only reads and writes the interrupted context, which is
// async-signal-safe. Elsewhere each copy registers a thread-local
// sigsetjmp() recovery point that the handler siglongjmp()s to.
//
// Sanitizers: the copy itself is not instrumented, so under ASan both
// ranges are checked as memcpy's are (an overflow of either buffer is
// reported as a bad read or write), and TSan is told of the read of `src`
// and the write of `dst`.
//
// Limits: a thread that blocks SIGBUS is not guarded (the kernel then kills
// the process at the fault, whatever the handler); a SIGBUS handler that the
// program installs after the first guarded copy replaces smmap's unless it
// calls the one it replaced for signals that are not its own.
//
// Cost: a plain copy (at memcpy speed on x86-64); use it per chunk of
// kilobytes, not per byte.
//
// Thread-safe. Do not call it from a signal handler.

#ifndef SMMAP_GUARDED_COPY_H_
#define SMMAP_GUARDED_COPY_H_

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace smmap {

// Copies `src` to `dst` (which must have room for src.size() bytes; the
// ranges must not overlap). If reading `src` raises SIGBUS, returns DataLoss
// and sets `*fault_offset` (if not null) to the offset in `src` of the first
// byte that could not be read; `dst` then holds the bytes before it.
absl::Status GuardedCopy(absl::Span<const uint8_t> src, uint8_t* dst,
                         size_t* fault_offset = nullptr);

}  // namespace smmap

#endif  // SMMAP_GUARDED_COPY_H_
