#include "linecount/file_stats.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "smmap/sliding_cursor.h"

namespace linecount {

void Accumulate(absl::Span<const uint8_t> bytes, FileStats* stats) {
  uint64_t lines = 0;
  uint64_t hash = stats->fnv1a;
  for (uint8_t b : bytes) {
    lines += b == '\n';
    hash = (hash ^ b) * 1099511628211ull;
  }
  stats->bytes += bytes.size();
  stats->lines += lines;
  stats->fnv1a = hash;
}

absl::StatusOr<FileStats> StatsWithSmmap(smmap::MemmapManager& mman,
                                         const std::string& path) {
  absl::StatusOr<smmap::SlidingCursor> cursor = mman.MakeSlidingCursor(path);
  if (!cursor.ok()) return cursor.status();
  FileStats stats;
  absl::Status status = cursor->ForEachChunk(
      0, cursor->size(),
      [&](absl::Span<const uint8_t> chunk) { Accumulate(chunk, &stats); });
  if (!status.ok()) return status;
  return stats;
}

absl::StatusOr<FileStats> StatsWithRead(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  }
  FileStats stats;
  std::vector<uint8_t> buffer(1 << 16);
  for (;;) {
    ssize_t n = read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      absl::Status status = absl::ErrnoToStatus(errno, "read " + path);
      close(fd);
      return status;
    }
    if (n == 0) break;
    Accumulate(absl::MakeConstSpan(buffer.data(), static_cast<size_t>(n)),
               &stats);
  }
  close(fd);
  return stats;
}

std::string ToString(const FileStats& stats) {
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016" PRIx64, stats.fnv1a);
  return absl::StrCat(stats.lines, " lines, ", stats.bytes, " bytes, fnv1a ",
                      hash);
}

}  // namespace linecount
