// The manager a command-line user chose: greedy or tiling, with options.
// Shared by the smmap tool's commands and the benchmark suite's scan with
// the caller's options.
//
// Thread-safe (value types and a pure factory).

#ifndef SMMAP_TOOLS_COMMON_MANAGER_CHOICE_H_
#define SMMAP_TOOLS_COMMON_MANAGER_CHOICE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "smmap/manager.h"
#include "smmap/options.h"

namespace smmap {
namespace tools {

struct ManagerChoice {
  bool greedy = false;  // GreedyMemmapManager, else TilingMemmapManager
  ManagerOptions options;
};

// A manager of the chosen kind; InvalidArgument for options that
// ManagerOptions rejects.
absl::StatusOr<std::unique_ptr<MemmapManager>> MakeManager(
    const ManagerChoice& choice);

// "tiling, window 1 GiB, budget 8 GiB, max files 256, soft limits", from a
// made manager's own view of its options.
std::string DescribeManager(const MemmapManager& manager, bool greedy);

}  // namespace tools
}  // namespace smmap

#endif  // SMMAP_TOOLS_COMMON_MANAGER_CHOICE_H_
