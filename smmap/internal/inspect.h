// A window into a manager's region cache, for tests that check the
// observable contract (tests/model_checker.cc) rather than restate the
// engine: which regions are cached, how many cursors pin each, and the LRU
// order of the unused ones.
//
// Not part of the API: the layout of RegionView may change with the engine.
//
// Thread-safe (Regions() takes the manager's lock).

#ifndef SMMAP_INTERNAL_INSPECT_H_
#define SMMAP_INTERNAL_INSPECT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace smmap {

class MemmapManager;

namespace internal {

// One cached region, as a test sees it.
struct RegionView {
  std::string path;    // the file's name: a path, or empty for
  int caller_fd = -1;  // the caller's descriptor
  uint64_t inode = 0;  // the file the manager found under that name
  uint64_t ofs = 0;    // bytes [ofs, end) of the file
  uint64_t end = 0;
  const uint8_t* data = nullptr;  // where byte `ofs` is mapped
  uint64_t mapped_bytes = 0;      // what it costs (whole pages)
  size_t pins = 0;                // cursors using it
};

class Inspector final {
 public:
  // The regions that new requests can find (those of files still known by
  // their name): the used ones first, in no particular order, then the
  // unused ones, least recently used first. Regions that only their
  // cursors still see (their file changed, was purged, or the manager was
  // closed) are not listed; num_open_regions() counts them.
  static std::vector<RegionView> Regions(const MemmapManager& manager);
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_INSPECT_H_
