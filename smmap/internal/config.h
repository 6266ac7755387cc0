// A manager's options after defaults, rounding and validation, and the
// arithmetic of its windows: pure functions, no state, no system call.
//
// Thread-compatible (plain values).

#ifndef SMMAP_INTERNAL_CONFIG_H_
#define SMMAP_INTERNAL_CONFIG_H_

#include <cstdint>
#include <limits>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "smmap/file_ref.h"
#include "smmap/options.h"

namespace smmap {
namespace internal {

// The largest file offset (off_t is signed).
inline constexpr uint64_t kMaxOffset =
    static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

struct Config {
  bool greedy = false;
  // Tiling: region length, 0 for whole files. Greedy: the largest file, 0
  // for no limit.
  uint64_t window_size = 0;
  // Tiling: regions start at multiples of stride (window_size / 2); 0 when
  // files are mapped whole (always for greedy).
  uint64_t stride = 0;
  uint64_t max_memory_size = 0;
  uint64_t max_open_files = 0;
  bool hard_limits = false;
  bool populate = false;
  bool immutable_files = false;
  AccessAdvice advice = AccessAdvice::kNone;
};

// Validates `options` for a greedy or tiling manager.
absl::StatusOr<Config> ResolveOptions(const ManagerOptions& options,
                                      bool greedy);

// The window grid of a Config. Window `i` of a file covers
// [i * stride, i * stride + window_size), cut at the end of the file; with
// stride 0 there is one window, the whole file. Windows overlap by half, so
// any request of up to window_size / 2 bytes lies inside one window.
class Geometry final {
 public:
  explicit Geometry(const Config& config);

  // The window starting nearest before file offset `ofs`.
  uint64_t WindowIndex(uint64_t ofs) const {
    // A shift when the stride is a power of two (the default): a 64-bit
    // division costs tens of cycles on the hot path.
    if (stride_shift_ >= 0) return ofs >> stride_shift_;
    return stride_ == 0 ? 0 : ofs / stride_;
  }
  uint64_t WindowBegin(uint64_t index) const { return index * stride_; }
  // The end of window `index` in a file of `file_size` bytes.
  uint64_t WindowEnd(uint64_t index, uint64_t file_size) const {
    if (stride_ == 0) return file_size;
    // index * stride <= an offset < 2^63, window <= 2^62: no overflow.
    const uint64_t end = index * stride_ + window_size_;
    return end < file_size ? end : file_size;
  }
  // Whether the window starting nearest before `ofs` reaches `end`
  // (ignoring the end of the file).
  bool OneWindowHolds(uint64_t ofs, uint64_t end) const {
    return end <=
           WindowEnd(WindowIndex(ofs), std::numeric_limits<uint64_t>::max());
  }

 private:
  const uint64_t stride_;
  const uint64_t window_size_;
  const int stride_shift_;  // log2(stride_) if a power of two, else -1
};

// The end of a request for `size` bytes at `offset` of a file of
// `file_size` bytes (size 0: to the end). REQUIRES: CheckRange() accepted
// offset and size.
inline uint64_t RequestEnd(uint64_t file_size, uint64_t offset, uint64_t size) {
  return size == 0 || offset + size > file_size ? file_size : offset + size;
}

// The InvalidArgument that CheckRange() gives.
absl::Status RangeError(const FileRef& file, uint64_t offset, uint64_t size);
// InvalidArgument for offsets and sizes that no file can satisfy. Inline:
// every cursor request checks it.
inline absl::Status CheckRange(const FileRef& file, uint64_t offset,
                               uint64_t size) {
  if (ABSL_PREDICT_TRUE(offset <= kMaxOffset && size <= kMaxOffset - offset)) {
    return absl::OkStatus();
  }
  return RangeError(file, offset, size);
}
// InvalidArgument for names that denote no file (a negative descriptor, an
// empty path, a NUL in a path).
absl::Status CheckName(const FileRef& file);

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_CONFIG_H_
