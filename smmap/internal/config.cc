#include "smmap/internal/config.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "smmap/internal/messages.h"
#include "smmap/internal/os.h"

namespace smmap {
namespace internal {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;
constexpr bool k64Bit = sizeof(void*) == 8;
constexpr uint64_t kMaxWindowSize = uint64_t{1} << 62;
// Windows this large are rounded so that regions start at multiples of 2 MiB
// in the file, where the kernel can map cached files with 2 MiB pages.
constexpr uint64_t kLargeWindowUnit = 4 * kMiB;
constexpr uint64_t kDefaultTilingWindow = k64Bit ? 1024 * kMiB : 64 * kMiB;
constexpr uint64_t kDefaultMaxMemory = k64Bit ? 8192 * kMiB : 1024 * kMiB;
constexpr uint64_t kMaxDefaultOpenFiles = 4096;

// REQUIRES: value + multiple does not overflow.
uint64_t RoundUp(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

int Log2IfPowerOfTwo(uint64_t value) {
  if (value == 0 || (value & (value - 1)) != 0) return -1;
  int log = 0;
  while ((uint64_t{1} << log) != value) ++log;
  return log;
}

}  // namespace

absl::StatusOr<Config> ResolveOptions(const ManagerOptions& options,
                                      bool greedy) {
  Config config;
  config.greedy = greedy;
  uint64_t window =
      options.window_size.value_or(greedy ? 0 : kDefaultTilingWindow);
  if (window > kMaxWindowSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("window_size(", window,
                     ") is larger than 2^62; use 0 to map files whole"));
  }
  if (!greedy && window != 0) {
    uint64_t unit = 2 * os::PageSize();
    if (window >= kLargeWindowUnit) unit = std::max(unit, kLargeWindowUnit);
    window = RoundUp(window, unit);
    config.stride = window / 2;
  }
  if (window > std::numeric_limits<size_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "window_size(", window, ") does not fit this system's address space"));
  }
  config.window_size = window;
  config.max_memory_size = options.max_memory_size.value_or(kDefaultMaxMemory);
  config.max_open_files = options.max_open_files.value_or(
      std::clamp<uint64_t>(os::OpenFileLimit() / 4, 1, kMaxDefaultOpenFiles));
  config.hard_limits = options.hard_limits;
  config.populate = options.populate;
  config.immutable_files = options.immutable_files;
  config.advice = options.advice;
  if (config.hard_limits) {
    if (config.max_memory_size == 0) {
      return absl::InvalidArgumentError(
          "max_memory_size(0) with hard_limits: nothing could ever be mapped");
    }
    if (!greedy && config.window_size > config.max_memory_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "max_memory_size(", config.max_memory_size,
          ") with hard_limits is smaller than window_size(", config.window_size,
          "): no whole region could be mapped"));
    }
  }
  return config;
}

Geometry::Geometry(const Config& config)
    : stride_(config.stride),
      window_size_(config.window_size),
      stride_shift_(Log2IfPowerOfTwo(config.stride)) {}

absl::Status RangeError(const FileRef& file, uint64_t offset, uint64_t size) {
  if (offset > kMaxOffset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offset(", offset,
        ") is beyond the largest file offset 2^63-1 (a negative number "
        "converted to uint64_t?) for file: ",
        NameOf(file)));
  }
  if (size > kMaxOffset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "size(", size,
        ") is beyond the largest file size 2^63-1 (a negative number "
        "converted to uint64_t?) for file: ",
        NameOf(file)));
  }
  if (size > kMaxOffset - offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        "offset(", offset, ") + size(", size,
        ") overflows the largest file offset 2^63-1 for file: ", NameOf(file)));
  }
  return absl::OkStatus();
}

absl::Status CheckName(const FileRef& file) {
  if (file.is_fd()) {
    if (file.fd() < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("Invalid file descriptor: ", file.fd()));
    }
    return absl::OkStatus();
  }
  if (file.path().empty()) return absl::InvalidArgumentError("Empty path");
  if (file.path().find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("Path contains a NUL character: ", file.path()));
  }
  return absl::OkStatus();
}

}  // namespace internal
}  // namespace smmap
