#include "smmap/manager.h"

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "smmap/internal/core.h"
#include "smmap/internal/inspect.h"
#include "smmap/internal/status_macros.h"

namespace smmap {
namespace {

internal::Core* DefaultCore(bool greedy) {
  // Default options are always valid.
  return new internal::Core(
      *internal::ResolveOptions(ManagerOptions(), greedy));
}

}  // namespace

MemmapManager::MemmapManager(internal::Core* core) : core_(core) {}

MemmapManager::~MemmapManager() { core_->Destroy(); }

absl::StatusOr<FixedCursor> MemmapManager::MakeCursor(FileRef file,
                                                      uint64_t offset,
                                                      uint64_t size) {
  return FixedCursor::Bound([&](internal::FixedBinding* binding) {
    return core_->MakeFixed(file, offset, size, binding);
  });
}

absl::StatusOr<SlidingCursor> MemmapManager::MakeSlidingCursor(FileRef file,
                                                               uint64_t offset,
                                                               uint64_t size) {
  return SlidingCursor::Bound([&](internal::SlidingBinding* binding) {
    return core_->MakeSliding(file, offset, size, binding);
  });
}

size_t MemmapManager::Collect() { return core_->Collect(); }
size_t MemmapManager::Purge(FileRef file) { return core_->Purge(file); }
void MemmapManager::Close() { core_->Close(); }
bool MemmapManager::closed() const { return core_->closed(); }
size_t MemmapManager::num_open_regions() const {
  return core_->num_open_regions();
}
size_t MemmapManager::num_used_regions() const {
  return core_->num_used_regions();
}
size_t MemmapManager::num_open_cursors() const {
  return core_->num_open_cursors();
}
uint64_t MemmapManager::mapped_memory_size() const {
  return core_->mapped_memory_size();
}
size_t MemmapManager::num_open_files() const { return core_->num_open_files(); }
size_t MemmapManager::num_files() const { return core_->num_files(); }
uint64_t MemmapManager::window_size() const {
  return core_->config().window_size;
}
uint64_t MemmapManager::max_memory_size() const {
  return core_->config().max_memory_size;
}
uint64_t MemmapManager::max_open_files() const {
  return core_->config().max_open_files;
}
bool MemmapManager::hard_limits() const { return core_->config().hard_limits; }
ManagerStats MemmapManager::stats() const { return core_->stats(); }

std::vector<internal::RegionView> internal::Inspector::Regions(
    const MemmapManager& manager) {
  return manager.core_->RegionsForTesting();
}

GreedyMemmapManager::GreedyMemmapManager()
    : MemmapManager(DefaultCore(/*greedy=*/true)) {}

absl::StatusOr<std::unique_ptr<GreedyMemmapManager>>
GreedyMemmapManager::Create(const ManagerOptions& options) {
  SMMAP_ASSIGN_OR_RETURN(internal::Config config,
                         internal::ResolveOptions(options, /*greedy=*/true));
  return std::unique_ptr<GreedyMemmapManager>(
      new GreedyMemmapManager(new internal::Core(config)));
}

TilingMemmapManager::TilingMemmapManager()
    : MemmapManager(DefaultCore(/*greedy=*/false)) {}

absl::StatusOr<std::unique_ptr<TilingMemmapManager>>
TilingMemmapManager::Create(const ManagerOptions& options) {
  SMMAP_ASSIGN_OR_RETURN(internal::Config config,
                         internal::ResolveOptions(options, /*greedy=*/false));
  return std::unique_ptr<TilingMemmapManager>(
      new TilingMemmapManager(new internal::Core(config)));
}

}  // namespace smmap
