#include "fuzz/pin_bound.h"

#include <cstdint>

#include "gtest/gtest.h"

namespace smmap {
namespace fuzz {
namespace {

constexpr uint64_t kRegion = 20480;

TEST(PinBoundTest, TilingCountsEveryHolder) {
  PinBound bound(/*greedy=*/false, /*num_keys=*/2);
  const uint64_t before = bound.released();
  EXPECT_TRUE(bound.Hold(0, kRegion));
  EXPECT_TRUE(bound.Hold(0, kRegion));
  EXPECT_EQ(bound.RefusalBound(before, kRegion, true), 2 * kRegion);
  bound.Drop(0, kRegion);
  // Released bytes still count for a call that began before the release.
  EXPECT_EQ(bound.RefusalBound(before, kRegion, true), 2 * kRegion);
  EXPECT_EQ(bound.RefusalBound(bound.released(), kRegion, true), kRegion);
}

TEST(PinBoundTest, GreedyCountsARegionOncePerKey) {
  PinBound bound(/*greedy=*/true, /*num_keys=*/2);
  const uint64_t before = bound.released();
  EXPECT_TRUE(bound.Hold(0, kRegion));
  EXPECT_FALSE(bound.Hold(0, kRegion));  // the same region
  EXPECT_TRUE(bound.Hold(1, kRegion));
  EXPECT_EQ(bound.PinnedSince(before), 2 * kRegion);
  bound.Drop(0, kRegion);  // one holder of key 0 is left
  EXPECT_EQ(bound.PinnedSince(bound.released()), 2 * kRegion);
  bound.Drop(0, kRegion);
  EXPECT_EQ(bound.PinnedSince(bound.released()), kRegion);
}

// The finding of the fuzzing campaign of 2026-12-01: a second greedy holder
// of a key could see the first holder's count of holders before its bytes,
// and judged the refusal of a 20480-byte region under a 4096-byte hard
// budget by a bound of 0 bytes. A holder that did not count its region adds
// it itself, so a region that cannot fit the budget alone is always a
// valid refusal.
TEST(PinBoundTest, UncountedHolderAddsItsOwnRegionToTheRefusalBound) {
  PinBound bound(/*greedy=*/true, /*num_keys=*/1);
  const uint64_t before = bound.released();
  EXPECT_EQ(bound.RefusalBound(before, kRegion, /*counted=*/false), kRegion);
  EXPECT_GT(bound.RefusalBound(before, kRegion, /*counted=*/false), 4096u);
}

}  // namespace
}  // namespace fuzz
}  // namespace smmap
