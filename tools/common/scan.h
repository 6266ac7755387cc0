// The scan of smmap's tool and benchmarks: XOR of 64-bit words with four
// independent accumulators, so a scan is load-bound and cannot be optimised
// away (docs/performance.md, "How to measure"); and the whole-range scan
// through a sliding cursor that `smmap scan` and the scan benchmarks share.
//
// Thread-safe (pure functions; ScanRange uses only the cursor it is given).

#ifndef SMMAP_TOOLS_COMMON_SCAN_H_
#define SMMAP_TOOLS_COMMON_SCAN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>

#include "absl/status/statusor.h"
#include "smmap/sliding_cursor.h"

namespace smmap {
namespace tools {

// Folds bytes [data, data + size) into a 64-bit checksum. The checksum of a
// concatenation depends on where each piece starts modulo 8, so callers that
// scan in pieces pass each piece's absolute offset in `offset`.
inline uint64_t XorScan(const uint8_t* data, size_t size, uint64_t offset = 0) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  size_t i = 0;
  // Leading bytes up to an 8-byte boundary of the file.
  uint64_t head = 0;
  while (i < size && ((offset + i) & 7) != 0) {
    head ^= uint64_t{data[i]} << (8 * ((offset + i) & 7));
    ++i;
  }
  for (; i + 32 <= size; i += 32) {
    uint64_t w[4];
    std::memcpy(w, data + i, sizeof(w));
    a ^= w[0];
    b ^= w[1];
    c ^= w[2];
    d ^= w[3];
  }
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, sizeof(w));
    a ^= w;
  }
  uint64_t tail = 0;
  for (; i < size; ++i) tail ^= uint64_t{data[i]} << (8 * ((offset + i) & 7));
  return a ^ b ^ c ^ d ^ head ^ tail;
}

// Called after every piece of a scan with the bytes scanned so far.
using ScanProgress = std::function<void(uint64_t done)>;

// XorScan of bytes [offset, offset + size) of `cursor`'s range (clamped to
// its size), read chunk by chunk through the cursor, in pieces of at most
// 64 MiB; `progress` (may be empty) is called after each piece. Fails as
// SlidingCursor::ForEachChunk fails.
absl::StatusOr<uint64_t> ScanRange(SlidingCursor& cursor, uint64_t offset,
                                   uint64_t size,
                                   const ScanProgress& progress = nullptr);

}  // namespace tools
}  // namespace smmap

#endif  // SMMAP_TOOLS_COMMON_SCAN_H_
