#include "tools/common/manager_choice.h"

#include <memory>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "smmap/smmap.h"
#include "tools/common/size_flags.h"

namespace smmap {
namespace tools {

absl::StatusOr<std::unique_ptr<MemmapManager>> MakeManager(
    const ManagerChoice& choice) {
  if (choice.greedy) {
    auto made = GreedyMemmapManager::Create(choice.options);
    if (!made.ok()) return made.status();
    return std::unique_ptr<MemmapManager>(std::move(*made));
  }
  auto made = TilingMemmapManager::Create(choice.options);
  if (!made.ok()) return made.status();
  return std::unique_ptr<MemmapManager>(std::move(*made));
}

std::string DescribeManager(const MemmapManager& manager, bool greedy) {
  return absl::StrCat(greedy ? "greedy" : "tiling", ", window ",
                      manager.window_size() == 0
                          ? "whole files"
                          : FormatSize(manager.window_size()),
                      ", budget ", FormatSize(manager.max_memory_size()),
                      ", max files ", manager.max_open_files(), ", ",
                      manager.hard_limits() ? "hard" : "soft", " limits");
}

}  // namespace tools
}  // namespace smmap
