// The scan kernel of smmap's benchmarks and tool: XOR of 64-bit words with
// four independent accumulators, so a scan is load-bound and cannot be
// optimised away (docs/performance.md, "How to measure").

#ifndef SMMAP_TOOLS_BENCH_SCAN_H_
#define SMMAP_TOOLS_BENCH_SCAN_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace smmap {
namespace bench {

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

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_SCAN_H_
