// The engine's budgets with calls in flight (smmap/internal/core.h,
// "Budgets with calls in flight"), proven through the os seam as in
// tests/engine_concurrency_test.cc: mapped bytes reserved before mmap and
// counted once when mapped over, soft overruns counted when mapped, and the
// descriptor budget kept during calls.

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/internal/os.h"
#include "smmap/manager.h"
#include "tests/blocking_seam.h"
#include "tests/scripted_faults.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::internal::os::Syscall;
using ::smmap::testing::BlockingSeam;
using ::smmap::testing::kPage;
using ::smmap::testing::kWindow;
using ::smmap::testing::MakeInThread;
using ::smmap::testing::ScriptedFaults;
using ::smmap::testing::Str;
using ::smmap::testing::TestFile;
using ::smmap::testing::Tiling;
using ::testing::HasSubstr;

class EngineBudgetsTest : public ::smmap::testing::EngineSeamTest {
 protected:
  // With a hard budget of one window that a loader blocked in mmap has
  // reserved: nothing is cached, used or collectable, and a loader of y_
  // fails at once with a message that says why.
  void OnlyTheReservation(MemmapManager& mman) {
    EXPECT_EQ(mman.Collect(), 0u);
    EXPECT_EQ(mman.num_open_regions(), 0u);
    EXPECT_EQ(mman.num_used_regions(), 0u);
    EXPECT_EQ(mman.mapped_memory_size(), 0u);
    EXPECT_THAT(mman.MakeCursor(y_.path(), 0, 10).status(),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr(std::to_string(kWindow) +
                                   " bytes are being mapped")));
  }

  void SoftOverrunBesideABlockedLoad(int err);
};

TEST_F(EngineBudgetsTest, ARegionBeingMappedIsReservedNotCached) {
  // A hard budget of one window, reserved by the blocked loader: nothing
  // else fits, Collect() does not see the region, and the message says why.
  auto mman = Tiling(/*max_files=*/8, /*budget_windows=*/1, /*hard=*/true);
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(*mman, x_, 3 * kPage + 10, blocked);
  seam.WaitBlocked();
  OnlyTheReservation(*mman);
  seam.Release();
  loader.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(mman->mapped_memory_size(), kWindow);
  EXPECT_EQ(mman->num_used_regions(), 1u);
}

TEST_F(EngineBudgetsTest, ARegionBeingMappedOverIsCountedOnce) {
  // The blocked loader maps over the unused region it evicted. Its range
  // holds the old pages or the new, and is counted once, as the loader's
  // reservation: no longer cached or unmapping, so that a hard budget's
  // other loaders fail at once rather than wait for this mmap.
  auto mman = Tiling(/*max_files=*/8, /*budget_windows=*/1, /*hard=*/true);
  const uint8_t* old = nullptr;
  {
    ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(x_.path(), 0, 16));
    old = c.buffer().data();
  }
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(*mman, x_, 3 * kPage, blocked);
  seam.WaitBlocked();
  OnlyTheReservation(*mman);
  seam.Release();
  loader.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(blocked->buffer().data(), old);
  EXPECT_EQ(Str(blocked->buffer()), x_.Range(3 * kPage, 100));
  const ManagerStats stats = mman->stats();
  EXPECT_EQ(stats.regions_unmapped, 1u);
  EXPECT_EQ(stats.peak_mapped_bytes, kWindow);
  EXPECT_EQ(mman->mapped_memory_size(), kWindow);
}

// Under a soft budget of one window, reserved by a loader blocked in mmap,
// another thread maps a region of y_: over the budget only if the blocked
// mmap succeeds. The overrun is counted once, when the second region is
// mapped, and not at all if the blocked mmap fails with `err`.
void EngineBudgetsTest::SoftOverrunBesideABlockedLoad(int err) {
  auto mman = Tiling(/*max_files=*/8, /*budget_windows=*/1, /*hard=*/false);
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap, err);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(*mman, x_, 3 * kPage + 10, blocked);
  seam.WaitBlocked();
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(y_.path(), 0, 10));
  EXPECT_EQ(Str(c.buffer()), y_.Range(0, 10));
  EXPECT_EQ(mman->stats().soft_budget_overruns, 0u);  // one window mapped
  seam.Release();
  loader.join();
  const ManagerStats stats = mman->stats();
  EXPECT_EQ(blocked.ok(), err == 0);
  EXPECT_EQ(stats.map_failures, err == 0 ? 0u : 1u);
  EXPECT_EQ(stats.regions_mapped, err == 0 ? 2u : 1u);
  EXPECT_EQ(stats.peak_mapped_bytes, (err == 0 ? 2 : 1) * kWindow);
  EXPECT_EQ(stats.soft_budget_overruns, err == 0 ? 1u : 0u);
}

TEST_F(EngineBudgetsTest, SoftOverrunIsCountedOnceBothAreMapped) {
  SoftOverrunBesideABlockedLoad(0);
}

TEST_F(EngineBudgetsTest, SoftOverrunIsNotCountedForAFailedMmap) {
  SoftOverrunBesideABlockedLoad(EIO);
}

TEST_F(EngineBudgetsTest, SlidingReleaseCountsAFailedMunmap) {
  auto mman = Tiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(x_.path()));
  ASSERT_OK(s.At(0));
  mman->Close();  // the region goes when the cursor lets go of it
  {
    ScriptedFaults faults;
    faults.Fail(Syscall::kMunmap, EINVAL, 1, 2);  // the call and its retry
    s.ReleaseRegion();
    EXPECT_EQ(faults.fired(), 2);
  }
  EXPECT_EQ(mman->stats().unmap_failures, 1u);
  EXPECT_EQ(mman->num_open_regions(), 0u);
}

TEST_F(EngineBudgetsTest, OpeningCloseOnlyTheLeastRecentlyUsedIdleDescriptor) {
  auto mman = Tiling(/*max_files=*/2);
  for (const TestFile* file : {&x_, &y_, &z_}) {
    ASSERT_OK(mman->MakeCursor(file->path(), kPage, 10));
  }
  const ManagerStats stats = mman->stats();
  EXPECT_EQ(mman->num_open_files(), 2u);
  EXPECT_EQ(stats.files_opened, 3u);
  EXPECT_EQ(stats.files_closed, 1u);
  EXPECT_EQ(stats.fd_evictions, 1u);
  // x_'s went (least recently used): a new region of y_ opens nothing.
  ASSERT_OK(mman->MakeCursor(y_.path(), 5 * kPage, 10));
  EXPECT_EQ(mman->stats().files_opened, 3u);
  ASSERT_OK(mman->MakeCursor(x_.path(), 5 * kPage, 10));
  EXPECT_EQ(mman->stats().files_opened, 4u);
}

TEST_F(EngineBudgetsTest, DescriptorBudgetIsKeptDuringCalls) {
  for (uint64_t budget : {0, 1, 2}) {
    SCOPED_TRACE(absl::StrCat("max_open_files ", budget));
    BlockingSeam seam;  // only counts
    auto mman = Tiling(budget);
    for (const TestFile* file : {&x_, &y_, &z_, &x_, &y_}) {
      ASSERT_OK(mman->MakeCursor(file->path(), kPage, 10));
      EXPECT_LE(mman->num_open_files(), budget);
    }
    // One descriptor is opened at a time; the others held are within the
    // budget (and none with a budget of 0, where one is open per call).
    EXPECT_LE(seam.most_fds_at_open(), budget == 0 ? 0 : budget - 1);
  }
}

TEST_F(EngineBudgetsTest, LoaderWaitsForADescriptorSlotInUse) {
  auto mman = Tiling(/*max_files=*/1);
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<FixedCursor> first;
  absl::StatusOr<FixedCursor> second;
  std::atomic<bool> second_done{false};
  // a holds the only slot (x_'s descriptor) while it maps.
  std::thread a = MakeInThread(*mman, x_, 10, first);
  seam.WaitBlocked();
  std::thread b = MakeInThread(*mman, y_, 10, second, &second_done);
  {
    // Cached regions are still served meanwhile (none of x_ yet: window 0
    // of y_ is what b is after, so read the observers).
    EXPECT_EQ(mman->num_open_files(), 1u);
    EXPECT_GE(mman->num_files(), 1u);
  }
  EXPECT_FALSE(second_done.load());  // no slot until a is done with it
  seam.Release();
  a.join();
  b.join();
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(Str(second->buffer()), y_.Range(10, 100));
  EXPECT_EQ(seam.most_fds_at_open(), 0u);  // never two at once
  EXPECT_EQ(mman->num_open_files(), 1u);
}

}  // namespace
}  // namespace smmap
