// Parsing of byte sizes given on command lines: "4096", "64K", "1M", "2G",
// "1T" (binary multiples; a trailing "B" or "iB" is accepted: "64KiB").
//
// Thread-safe (pure functions).

#ifndef SMMAP_TOOLS_COMMON_SIZE_FLAGS_H_
#define SMMAP_TOOLS_COMMON_SIZE_FLAGS_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace smmap {
namespace tools {

// InvalidArgument for anything else, and for values beyond 2^63 - 1.
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// 1073741824 -> "1 GiB", 1536 -> "1.5 KiB", 100 -> "100 B".
std::string FormatSize(uint64_t bytes);

}  // namespace tools
}  // namespace smmap

#endif  // SMMAP_TOOLS_COMMON_SIZE_FLAGS_H_
