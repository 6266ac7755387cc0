// Managers for tests.
//
// Thread-compatible.

#ifndef SMMAP_TESTS_TEST_MANAGERS_H_
#define SMMAP_TESTS_TEST_MANAGERS_H_

#include <memory>
#include <utility>

#include "smmap/manager.h"
#include "smmap/options.h"
#include "tests/status_matchers.h"

namespace smmap {
namespace testing {

// A tiling manager with `options`; null, and the test failed, if Create()
// refused them.
inline std::unique_ptr<TilingMemmapManager> Tiling(
    const ManagerOptions& options) {
  auto mman = TilingMemmapManager::Create(options);
  EXPECT_OK(mman);
  return mman.ok() ? std::move(*mman) : nullptr;
}

}  // namespace testing
}  // namespace smmap

#endif  // SMMAP_TESTS_TEST_MANAGERS_H_
