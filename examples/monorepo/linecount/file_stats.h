// Lines, bytes and a checksum of a file, computed two ways: through an
// smmap sliding cursor, one zero-copy span per mapped region, and through
// plain read() calls. The two must agree.

#ifndef LINECOUNT_FILE_STATS_H_
#define LINECOUNT_FILE_STATS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "smmap/manager.h"

namespace linecount {

struct FileStats {
  uint64_t bytes = 0;
  uint64_t lines = 0;                        // newlines, as `wc -l` counts
  uint64_t fnv1a = 14695981039346656037ull;  // FNV-1a (64-bit) of the bytes

  friend bool operator==(const FileStats& a, const FileStats& b) {
    return a.bytes == b.bytes && a.lines == b.lines && a.fnv1a == b.fnv1a;
  }
  friend bool operator!=(const FileStats& a, const FileStats& b) {
    return !(a == b);
  }
};

// Adds `bytes`, which follow the bytes already added, to `*stats`. How a
// file is cut into spans does not change the result.
void Accumulate(absl::Span<const uint8_t> bytes, FileStats* stats);

// The whole file at `path`, through a sliding cursor of `mman`.
absl::StatusOr<FileStats> StatsWithSmmap(smmap::MemmapManager& mman,
                                         const std::string& path);

// The whole file at `path`, through read().
absl::StatusOr<FileStats> StatsWithRead(const std::string& path);

// "LINES lines, BYTES bytes, fnv1a HEX".
std::string ToString(const FileStats& stats);

}  // namespace linecount

#endif  // LINECOUNT_FILE_STATS_H_
