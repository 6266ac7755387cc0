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
// How: the first call installs a SIGBUS handler (chaining to any previous
// one for faults that are not its own). On x86-64 the copy is a single
// `rep movsb`; a SIGBUS raised by that instruction resumes at a fix-up that
// returns the number of bytes copied (the technique of the kernel's
// exception tables): nothing is unwound, and the handler only reads and
// writes the interrupted context, which is async-signal-safe. Elsewhere
// each copy registers a thread-local sigsetjmp() recovery point that the
// handler siglongjmp()s to. Sanitizers are told about the bytes read and
// written.
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
