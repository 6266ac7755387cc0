// Options for memory-map managers.
//
// A plain struct: fill in what you need and pass it to
// TilingMemmapManager::Create() or GreedyMemmapManager::Create(), which
// validate it. Every field documents its default; an unset std::optional
// means "the default".
//
//   smmap::ManagerOptions options;
//   options.window_size = 64 << 20;       // 64 MiB regions
//   options.max_memory_size = 1ull << 30;  // map at most 1 GiB at a time
//   options.hard_limits = true;            // fail instead of over-allocating
//   auto mman = smmap::TilingMemmapManager::Create(options);
//
// Thread-compatible.

#ifndef SMMAP_OPTIONS_H_
#define SMMAP_OPTIONS_H_

#include <cstdint>
#include <optional>

namespace smmap {

// An madvise() hint applied to every region when it is mapped.
enum class AccessAdvice {
  kNone,        // No call: the kernel's default read-ahead.
  kSequential,  // MADV_SEQUENTIAL
  kRandom,      // MADV_RANDOM
  kWillNeed,    // MADV_WILLNEED
  kHugePage,    // MADV_HUGEPAGE
};

struct ManagerOptions {
  // TilingMemmapManager: the size of each region (window) in bytes; 0 maps
  // files whole, as the greedy manager does. The value is rounded up to a
  // multiple of two pages, and to a multiple of 4 MiB when it is at least
  // 4 MiB, so that regions start at multiples of 2 MiB in the file (the
  // kernel then maps cached files with 2 MiB pages). Regions start every
  // window_size / 2 bytes and are window_size long, so any request of up to
  // window_size / 2 bytes fits in one region.
  // GreedyMemmapManager: the largest file it maps; 0 means no limit.
  // Must be at most 2^62.
  // Default: TilingMemmapManager 1 GiB (64 MiB on 32-bit systems);
  //          GreedyMemmapManager 0.
  std::optional<uint64_t> window_size;

  // The budget of mapped bytes. When a new region would exceed it, unused
  // regions are unmapped, least recently used first. If that is not enough
  // (every region is in use by a cursor), the manager over-allocates (soft
  // limits) or fails with ResourceExhausted (hard_limits). 0 keeps no unused
  // region mapped (soft limits only).
  // Default: 8 GiB (1 GiB on 32-bit systems).
  std::optional<uint64_t> max_memory_size;

  // The budget of file descriptors the manager keeps open (descriptors given
  // by the caller are never counted nor closed). A descriptor is needed only
  // to map a region, so this budget is always kept, during calls too: the
  // least recently used idle descriptor is closed before another is opened.
  // 0 keeps none between calls: a file is opened to map and closed right
  // after (one descriptor at a time is open during such calls).
  // Default: a quarter of RLIMIT_NOFILE's soft limit, between 1 and 4096.
  std::optional<uint64_t> max_open_files;

  // false: max_memory_size is a soft budget, as in the usage guide's library.
  // true: mapping beyond it fails with ResourceExhausted.
  // Default: false.
  bool hard_limits = false;

  // Whether the files never change while the manager reads them (git pack
  // files, sealed segments). Normally the manager re-examines a file before
  // mapping each new region (one lseek of the descriptor it holds, or fstat
  // of the caller's descriptor or of the path reopened), to notice growth and
  // shrinkage (replacement when it reopens the path); with immutable files it
  // does so only for requests beyond the size it knows and when it reopens
  // the file, which saves a system call per region mapped (0.3-0.4 us here).
  // A file that does change anyway may then be mapped beyond its end (SIGBUS
  // on reading those bytes). Default: false.
  bool immutable_files = false;

  // Populate each new region's page tables right after mapping it
  // (MADV_POPULATE_READ, or MADV_WILLNEED before Linux 5.14), after the
  // manager's lock is released. On files already in the page cache this
  // does not speed scans up and slows small windows down (docs/performance.md,
  // L7).
  // Default: false.
  bool populate = false;

  // Default: AccessAdvice::kNone.
  AccessAdvice advice = AccessAdvice::kNone;
};

}  // namespace smmap

#endif  // SMMAP_OPTIONS_H_
