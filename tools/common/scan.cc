#include "tools/common/scan.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace smmap {
namespace tools {

absl::StatusOr<uint64_t> ScanRange(SlidingCursor& cursor, uint64_t offset,
                                   uint64_t size,
                                   const ScanProgress& progress) {
  constexpr size_t kPiece = 64 << 20;
  if (offset >= cursor.size()) return 0;
  size = std::min(size, cursor.size() - offset);
  uint64_t checksum = 0;
  uint64_t done = 0;
  // The checksum depends on each byte's file offset modulo 8.
  const uint64_t base = cursor.ofs() + offset;
  absl::Status status =
      cursor.ForEachChunk(offset, size, [&](absl::Span<const uint8_t> chunk) {
        for (size_t i = 0; i < chunk.size(); i += kPiece) {
          const size_t n = std::min(kPiece, chunk.size() - i);
          checksum ^= XorScan(chunk.data() + i, n, base + done);
          done += n;
          if (progress) progress(done);
        }
      });
  if (!status.ok()) return status;
  return checksum;
}

}  // namespace tools
}  // namespace smmap
