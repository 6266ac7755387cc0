// The engine's concurrency contract (smmap/internal/core.h), proven through
// the os seam (tests/blocking_seam.h): a fault injector blocks one system
// call on a latch, and the test checks what other threads can do meanwhile.
// Nothing here depends on timing: every wait is on a latch or a join.

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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

class EngineConcurrencyTest : public ::smmap::testing::EngineSeamTest {
 protected:
  // What another thread must be able to do while one is blocked in a system
  // call for file x_: hits on x_ and y_, a whole new file (z_), sliding
  // reads of cached regions, and the observers.
  void OthersGoOn(MemmapManager& mman) {
    const ManagerStats before = mman.stats();
    {
      ASSERT_OK_AND_ASSIGN(FixedCursor c, mman.MakeCursor(x_.path(), 100, 50));
      EXPECT_EQ(Str(c.buffer()), x_.Range(100, 50));
      ASSERT_OK_AND_ASSIGN(FixedCursor d, mman.MakeCursor(y_.path(), 7, 9));
      EXPECT_EQ(Str(d.buffer()), y_.Range(7, 9));
    }
    ASSERT_OK_AND_ASSIGN(SlidingCursor s,
                         mman.MakeSlidingCursor(y_.path(), 0, 200));
    ASSERT_OK_AND_ASSIGN(uint8_t b, s.At(150));
    EXPECT_EQ(b, y_.bytes()[150]);
    // A sliding cursor of the file being loaded needs no new size: it does
    // not wait for the file's lock.
    ASSERT_OK_AND_ASSIGN(SlidingCursor t,
                         mman.MakeSlidingCursor(x_.path(), 0, 200));
    ASSERT_OK_AND_ASSIGN(b, t.At(199));
    EXPECT_EQ(b, x_.bytes()[199]);
    EXPECT_EQ(mman.stats().cursor_hits, before.cursor_hits + 4);
    // A file the manager has never seen: stat, open, fstat and mmap.
    ASSERT_OK_AND_ASSIGN(FixedCursor z, mman.MakeCursor(z_.path(), 3, 5));
    EXPECT_EQ(Str(z.buffer()), z_.Range(3, 5));
    EXPECT_GE(mman.num_open_regions(), 3u);
    EXPECT_GE(mman.num_open_cursors(), 2u);
    EXPECT_GT(mman.mapped_memory_size(), 0u);
    EXPECT_EQ(mman.stats().cursor_misses, before.cursor_misses + 1);
  }

  // Truncates x_ to `size` bytes and sees it from this thread: a whole-file
  // sliding cursor asks the manager's descriptor for the size. (No ASSERT:
  // a loader blocked in another thread must still be released.)
  void ShrinkXAndSeeIt(MemmapManager& mman, uint64_t size) {
    EXPECT_EQ(::truncate(x_.path().c_str(), static_cast<off_t>(size)), 0);
    absl::StatusOr<SlidingCursor> t = mman.MakeSlidingCursor(x_.path());
    EXPECT_OK(t);
    if (t.ok()) {
      EXPECT_EQ(t->size(), size);
    }
  }

  void LoadBlockedIn(MemmapManager& mman, Syscall call);
  void PurgeDuringARefresh(bool another_loads);
  void OnlyANewSizeBesideABlockedMmap(bool shrink);

  // Leaves window 0 of `file` cached with its descriptor closed, so that
  // the next new region of it reopens the path (and fstat tells what the
  // path now names).
  static void CacheWithoutDescriptor(MemmapManager& mman,
                                     const TestFile& file) {
    ASSERT_OK_AND_ASSIGN(FixedCursor pin, mman.MakeCursor(file.path(), 0, 16));
    mman.Collect();
  }

  // Renames another file of x_'s size over x_'s path; returns the 100
  // bytes of it at an offset.
  std::function<std::string(uint64_t)> ReplaceX() const {
    const std::string tmp = x_.path() + ".new";
    auto fresh = std::make_shared<std::vector<uint8_t>>(
        smmap::testing::RandomBytes(8 * kPage, 9));
    smmap::testing::WriteFile(tmp, *fresh);
    EXPECT_EQ(::rename(tmp.c_str(), x_.path().c_str()), 0);
    return [fresh](uint64_t ofs) {
      return std::string(
          fresh->begin() + static_cast<std::ptrdiff_t>(ofs),
          fresh->begin() + static_cast<std::ptrdiff_t>(ofs + 100));
    };
  }
};

// Maps window 3 of x_ in another thread, blocked in `call`, while this one
// checks OthersGoOn(); then lets the loader finish and checks its cursor.
void EngineConcurrencyTest::LoadBlockedIn(MemmapManager& mman, Syscall call) {
  BlockingSeam seam;
  seam.Arm(call);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(mman, x_, 3 * kPage + 10, blocked);
  seam.WaitBlocked();
  OthersGoOn(mman);
  seam.Release();
  loader.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(Str(blocked->buffer()), x_.Range(3 * kPage + 10, 100));
}

TEST_F(EngineConcurrencyTest, BlockedMmapStallsNoOtherThread) {
  auto mman = Tiling();
  Cache(*mman, x_);
  Cache(*mman, y_);
  LoadBlockedIn(*mman, Syscall::kMmap);
}

TEST_F(EngineConcurrencyTest, BlockedSizeQueryStallsNoOtherThread) {
  auto mman = Tiling();
  Cache(*mman, x_);
  Cache(*mman, y_);
  LoadBlockedIn(*mman, Syscall::kLseek);  // its size, before mapping
}

TEST_F(EngineConcurrencyTest, BlockedFstatStallsNoOtherThread) {
  auto mman = Tiling();
  CacheWithoutDescriptor(*mman, x_);
  Cache(*mman, y_);
  ASSERT_EQ(mman->num_open_files(), 1u);  // y_'s
  LoadBlockedIn(*mman, Syscall::kFstat);
}

TEST_F(EngineConcurrencyTest, BlockedOpenStallsNoOtherThread) {
  auto mman = Tiling();
  CacheWithoutDescriptor(*mman, x_);
  Cache(*mman, y_);
  ASSERT_EQ(mman->num_open_regions(), 2u);
  ASSERT_EQ(mman->num_open_files(), 1u);  // y_'s
  LoadBlockedIn(*mman, Syscall::kOpen);
}

TEST_F(EngineConcurrencyTest, BlockedOpenOfANewFileStallsNoOtherThread) {
  auto mman = Tiling();
  Cache(*mman, y_);
  BlockingSeam seam;
  seam.Arm(Syscall::kOpen);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(*mman, x_, 0, blocked);
  seam.WaitBlocked();
  {
    ASSERT_OK_AND_ASSIGN(FixedCursor d, mman->MakeCursor(y_.path(), 7, 9));
    EXPECT_EQ(Str(d.buffer()), y_.Range(7, 9));
    ASSERT_OK_AND_ASSIGN(FixedCursor z, mman->MakeCursor(z_.path(), 3, 5));
    EXPECT_EQ(Str(z.buffer()), z_.Range(3, 5));
  }
  EXPECT_EQ(mman->num_files(), 3u);  // x_ is known, being opened
  seam.Release();
  loader.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(Str(blocked->buffer()), x_.Range(0, 100));
  EXPECT_EQ(mman->stats().files_opened, 3u);
}

// While a loader of x_ is blocked in mmap, holding x_'s load lock: a
// whole-file sliding cursor of x_, and a fixed cursor reaching x_'s end
// whose region is cached, need only x_'s size, which they ask its
// descriptor for: they do not wait. With `shrink`, x_ is truncated first:
// they see it, and the loader's region, which now reaches beyond the end,
// is not cached.
void EngineConcurrencyTest::OnlyANewSizeBesideABlockedMmap(bool shrink) {
  auto mman = Tiling();
  Cache(*mman, x_);
  ASSERT_OK(mman->MakeCursor(x_.path(), 7 * kPage + 1, 8));  // the last window
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(*mman, x_, 3 * kPage + 10, blocked);
  seam.WaitBlocked();
  const uint64_t size = shrink ? 4 * kPage : 8 * kPage;
  if (shrink) {
    ASSERT_EQ(::truncate(x_.path().c_str(), size), 0);
  }
  const ManagerStats before = mman->stats();
  {
    ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(x_.path()));
    EXPECT_EQ(s.size(), size);
    ASSERT_OK_AND_ASSIGN(uint8_t b, s.At(5));
    EXPECT_EQ(b, x_.bytes()[5]);
    if (!shrink) {
      ASSERT_OK_AND_ASSIGN(FixedCursor e,
                           mman->MakeCursor(x_.path(), 7 * kPage + 9));
      EXPECT_EQ(Str(e.buffer()), x_.Range(7 * kPage + 9, kPage - 9));
    }
  }
  EXPECT_EQ(mman->stats().cursor_hits, before.cursor_hits + (shrink ? 1 : 2));
  seam.Release();
  loader.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(Str(blocked->buffer()), x_.Range(3 * kPage + 10, 100));
  // Window 3 again: the loader's region if it is cached, a new one if not.
  const ManagerStats mid = mman->stats();
  ASSERT_OK_AND_ASSIGN(FixedCursor again,
                       mman->MakeCursor(x_.path(), 3 * kPage + 10, 10));
  EXPECT_EQ(Str(again.buffer()), x_.Range(3 * kPage + 10, 10));
  EXPECT_EQ(again.buffer().data() == blocked->buffer().data(), !shrink);
  EXPECT_EQ(mman->stats().cursor_misses, mid.cursor_misses + (shrink ? 1 : 0));
}

TEST_F(EngineConcurrencyTest, CursorsNeedingOnlyANewSizeDoNotWaitForAnMmap) {
  OnlyANewSizeBesideABlockedMmap(/*shrink=*/false);
}

TEST_F(EngineConcurrencyTest, AShrinkSeenDuringAnMmapLeavesItsRegionUncached) {
  OnlyANewSizeBesideABlockedMmap(/*shrink=*/true);
}

// A loader of window 3 of x_ is blocked in mmap when x_ shrinks below the
// offset it maps for, and another thread sees the new size: the loader's
// cursor fails as if it had seen the shrink first (a fixed cursor's
// OutOfRange, a sliding cursor's DataLoss), and its region is neither kept
// nor advised (madvise on a range unmapped already could reach another
// mapping given that range).
TEST_F(EngineConcurrencyTest, AShrinkBelowTheOffsetBeingMappedFailsTheLoad) {
  for (bool sliding : {false, true}) {
    SCOPED_TRACE(sliding ? "sliding" : "fixed");
    auto mman = Tiling(/*max_files=*/8, /*budget_windows=*/64, /*hard=*/false,
                       AccessAdvice::kRandom);
    Cache(*mman, x_);
    absl::StatusOr<SlidingCursor> s = mman->MakeSlidingCursor(x_.path());
    ASSERT_OK(s);
    BlockingSeam seam;
    seam.Arm(Syscall::kMmap);
    absl::Status status;
    std::thread loader([&] {
      if (sliding) {
        status = s->At(3 * kPage + 10).status();
      } else {
        status = mman->MakeCursor(x_.path(), 3 * kPage + 10, 100).status();
      }
    });
    seam.WaitBlocked();
    ShrinkXAndSeeIt(*mman, 3 * kPage);
    seam.Release();
    loader.join();
    if (sliding) {
      EXPECT_THAT(status,
                  StatusIs(absl::StatusCode::kDataLoss,
                           HasSubstr(absl::StrCat("File shrank to ", 3 * kPage,
                                                  " bytes, below offset ",
                                                  3 * kPage + 10))));
    } else {
      EXPECT_THAT(status,
                  StatusIs(absl::StatusCode::kOutOfRange,
                           HasSubstr(absl::StrCat(" (it shrank from ",
                                                  8 * kPage, " bytes)"))));
    }
    EXPECT_EQ(seam.calls(Syscall::kMadvise), 0);
    EXPECT_EQ(mman->num_used_regions(), 0u);
    EXPECT_EQ(mman->num_open_regions(), 1u);  // window 0
    x_.Rewrite(x_.bytes());                   // whole again
  }
}

// Two threads ask for x_'s size while it shrinks. A's lseek has returned
// 8 pages, and A is held there before it applies them; x_ shrinks to 4,
// and B asks. An older size must not undo a newer one: B reads the size
// only once A has applied its own (size_mu), so the manager ends up
// knowing B's. (B is given a second to get ahead of A, which it does only
// if nothing holds it back; no time is asserted.)
TEST_F(EngineConcurrencyTest, AnOlderSizeNeverUndoesANewerOne) {
  auto mman = Tiling();
  Cache(*mman, x_);
  BlockingSeam seam;
  seam.ArmAfterSizeQuery();
  absl::StatusOr<SlidingCursor> a;
  absl::StatusOr<SlidingCursor> b;
  std::thread first([&] { a = mman->MakeSlidingCursor(x_.path()); });
  seam.WaitBlocked();
  ASSERT_EQ(::truncate(x_.path().c_str(), 4 * kPage), 0);
  std::atomic<bool> second_done{false};
  std::thread second([&] {
    b = mman->MakeSlidingCursor(x_.path());
    second_done = true;
  });
  for (int i = 0; i < 1000 && !second_done.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  seam.Release();
  first.join();
  second.join();
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->size(), 8 * kPage);
  EXPECT_EQ(b->size(), 4 * kPage);
  // A cursor inside the known size reads no size: the manager's is B's.
  ASSERT_OK_AND_ASSIGN(SlidingCursor c,
                       mman->MakeSlidingCursor(x_.path(), 0, 100));
  EXPECT_EQ(c.file_size(), 4 * kPage);
}

// A sliding cursor of x_ maps window 3, [3, 5) pages, blocked in mmap,
// when x_ shrinks to 4 pages and another thread sees it: the cursor's
// window ends at the new end, and reading past it is DataLoss (not the
// mapping's pages beyond the end, which would be SIGBUS).
TEST_F(EngineConcurrencyTest, ASlidingWindowMappedDuringAShrinkEndsAtTheEnd) {
  auto mman = Tiling();
  Cache(*mman, x_);
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(x_.path()));
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<uint8_t> byte;
  std::thread loader([&] { byte = s.At(3 * kPage + 10); });
  seam.WaitBlocked();
  ShrinkXAndSeeIt(*mman, 4 * kPage);
  seam.Release();
  loader.join();
  ASSERT_OK(byte);
  EXPECT_EQ(*byte, x_.bytes()[3 * kPage + 10]);
  ASSERT_OK_AND_ASSIGN(absl::Span<const uint8_t> chunk,
                       s.Chunk(3 * kPage + 10));
  EXPECT_EQ(chunk.size(), kPage - 10);
  EXPECT_THAT(s.At(4 * kPage + 10).status(),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("shrank")));
}

// A greedy manager maps the whole of a 5-page file, blocked in mmap, when
// the file grows to 8 pages and another thread sees it. With a limit of 6
// pages the load fails with the limit's error, as if it had seen the
// growth first; with none it is ordered before the growth: a cursor of the
// 5 pages it mapped, in a file of 5 pages.
TEST_F(EngineConcurrencyTest, AGreedyLoadBesideAGrowthSeesOneSize) {
  const std::vector<uint8_t> bytes = x_.bytes();
  for (uint64_t limit : {6 * kPage, uint64_t{0}}) {
    SCOPED_TRACE(absl::StrCat("limit ", limit));
    ManagerOptions options;
    options.window_size = limit;
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<GreedyMemmapManager> mman,
                         GreedyMemmapManager::Create(options));
    x_.Rewrite(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 4 * kPage));
    ASSERT_OK(mman->MakeCursor(x_.path()));  // [0, 4) pages, a descriptor
    x_.Rewrite(std::vector<uint8_t>(bytes.begin(), bytes.begin() + 5 * kPage));
    BlockingSeam seam;
    seam.Arm(Syscall::kMmap);
    absl::StatusOr<FixedCursor> c;
    std::thread loader([&] { c = mman->MakeCursor(x_.path()); });
    seam.WaitBlocked();  // mapping [0, 5) pages
    x_.Rewrite(bytes);
    EXPECT_EQ(mman->MakeSlidingCursor(x_.path()).ok(), limit == 0);
    seam.Release();
    loader.join();
    if (limit != 0) {
      EXPECT_THAT(c, StatusIs(absl::StatusCode::kOutOfRange,
                              HasSubstr("exceeds window-size limit")));
      EXPECT_EQ(mman->num_used_regions(), 0u);
    } else {
      ASSERT_OK(c);
      EXPECT_EQ(c->size(), 5 * kPage);
      EXPECT_EQ(c->file_size(), 5 * kPage);
      EXPECT_EQ(Str(c->buffer()), x_.Range(0, 5 * kPage));
    }
  }
}

TEST_F(EngineConcurrencyTest, ThreadNeedingTheWindowBeingMappedGetsTheSameOne) {
  auto mman = Tiling();
  Cache(*mman, x_);
  Cache(*mman, y_);
  const ManagerStats before = mman->stats();
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<FixedCursor> first;
  absl::StatusOr<FixedCursor> second;
  std::atomic<bool> second_done{false};
  std::thread a = MakeInThread(*mman, x_, 3 * kPage + 10, first);
  seam.WaitBlocked();
  std::thread b = MakeInThread(*mman, x_, 3 * kPage + 20, second, &second_done);
  OthersGoOn(*mman);  // maps z_: one more miss
  // b needs the window a is mapping: it cannot have finished.
  EXPECT_FALSE(second_done.load());
  seam.Release();
  a.join();
  b.join();
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(Str(second->buffer()), x_.Range(3 * kPage + 20, 100));
  // One region, mapped once, serves both.
  EXPECT_EQ(second->buffer().data(), first->buffer().data() + 10);
  const ManagerStats after = mman->stats();
  EXPECT_EQ(after.regions_mapped, before.regions_mapped + 2);  // x_ 3, z_ 0
  EXPECT_EQ(after.cursor_misses, before.cursor_misses + 2);
}

TEST_F(EngineConcurrencyTest, FailedLoadWakesTheWaiterAndLeaksNothing) {
  // A hard budget of exactly one window: the failed load must give its
  // reservation back, or the waiter could never map.
  auto mman = Tiling(/*max_files=*/8, /*budget_windows=*/1, /*hard=*/true);
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap, EIO);
  absl::StatusOr<FixedCursor> first;
  absl::StatusOr<FixedCursor> second;
  std::thread a = MakeInThread(*mman, x_, 3 * kPage + 10, first);
  seam.WaitBlocked();
  std::thread b = MakeInThread(*mman, x_, 3 * kPage + 20, second);
  seam.Release();
  a.join();
  b.join();
  EXPECT_THAT(first.status(),
              StatusIs(absl::ErrnoToStatusCode(EIO),
                       HasSubstr("mmap(" + x_.path() +
                                 ", offset=" + std::to_string(3 * kPage))));
  ASSERT_OK(second);  // it loaded itself, within the budget given back
  EXPECT_EQ(Str(second->buffer()), x_.Range(3 * kPage + 20, 100));
  EXPECT_EQ(mman->mapped_memory_size(), kWindow);
  EXPECT_EQ(mman->stats().map_failures, 1u);
  second->Close();
  EXPECT_EQ(mman->Collect(), 1u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->num_open_files(), 0u);
}

TEST_F(EngineConcurrencyTest, CloseDuringALoadServesTheLoaderUncached) {
  auto mman = Tiling();
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(*mman, x_, 3 * kPage + 10, blocked);
  seam.WaitBlocked();
  mman->Close();  // does not wait for the loader
  EXPECT_TRUE(mman->closed());
  seam.Release();
  loader.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(Str(blocked->buffer()), x_.Range(3 * kPage + 10, 100));
  EXPECT_EQ(mman->num_open_files(), 0u);  // a closed manager caches none
  blocked->Close();
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
}

TEST_F(EngineConcurrencyTest, PurgeDuringALoadLeavesTheRegionUncached) {
  auto mman = Tiling();
  Cache(*mman, x_);
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<FixedCursor> blocked;
  std::thread loader = MakeInThread(*mman, x_, 3 * kPage + 10, blocked);
  seam.WaitBlocked();
  EXPECT_EQ(mman->Purge(x_.path()), 1u);  // window 0; does not wait
  seam.Release();
  loader.join();
  ASSERT_OK(blocked);
  EXPECT_EQ(Str(blocked->buffer()), x_.Range(3 * kPage + 10, 100));
  EXPECT_EQ(mman->num_open_regions(), 1u);
  blocked->Close();
  EXPECT_EQ(mman->num_open_regions(), 0u);  // it was never cached
  *blocked = FixedCursor();
  EXPECT_EQ(mman->num_files(), 0u);
  EXPECT_EQ(mman->num_open_files(), 0u);
}

TEST_F(EngineConcurrencyTest, DestroyingTheManagerDuringASlidingLoad) {
  auto mman = Tiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(x_.path()));
  BlockingSeam seam;
  seam.Arm(Syscall::kMmap);
  absl::StatusOr<uint8_t> got;
  std::thread reader([&s, &got] { got = s.At(5 * kPage + 1); });
  seam.WaitBlocked();
  mman.reset();  // does not wait for the reader
  seam.Release();
  reader.join();
  ASSERT_OK(got);
  EXPECT_EQ(*got, x_.bytes()[5 * kPage + 1]);
  ASSERT_OK_AND_ASSIGN(uint8_t first, s.At(0));  // maps another, uncached
  EXPECT_EQ(first, x_.bytes()[0]);
}

TEST_F(EngineConcurrencyTest, TwoThreadsOpeningOnePathShareOneDescriptor) {
  auto mman = Tiling();
  BlockingSeam seam;
  seam.Arm(Syscall::kOpen);
  absl::StatusOr<FixedCursor> first;
  absl::StatusOr<FixedCursor> second;
  std::thread a = MakeInThread(*mman, x_, 10, first);
  seam.WaitBlocked();
  std::thread b = MakeInThread(*mman, x_, 5 * kPage, second);
  seam.Release();
  a.join();
  b.join();
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_EQ(Str(second->buffer()), x_.Range(5 * kPage, 100));
  EXPECT_EQ(mman->stats().files_opened, 1u);
  EXPECT_EQ(mman->num_open_files(), 1u);
  EXPECT_EQ(mman->num_files(), 1u);
}

TEST_F(EngineConcurrencyTest, WaiterOnAReplacedFileFollowsTheName) {
  auto mman = Tiling();
  CacheWithoutDescriptor(*mman, x_);
  const auto fresh_range = ReplaceX();
  BlockingSeam seam;
  seam.Arm(Syscall::kOpen);  // a's reopen, which finds the replacement
  absl::StatusOr<FixedCursor> first;
  absl::StatusOr<FixedCursor> second;
  std::thread a = MakeInThread(*mman, x_, 3 * kPage, first);
  seam.WaitBlocked();
  std::thread b = MakeInThread(*mman, x_, 5 * kPage, second);  // waits
  seam.Release();
  a.join();
  b.join();
  ASSERT_OK(first);
  ASSERT_OK(second);  // not "File was replaced": b follows the name
  EXPECT_EQ(Str(first->buffer()), fresh_range(3 * kPage));
  EXPECT_EQ(Str(second->buffer()), fresh_range(5 * kPage));
}

// Thread a reopens x_'s path and, blocked in fstat, has not yet seen that it
// names another file when x_ is purged. With `another_loads`, thread b then
// loads the name afresh before a goes on. Either way a follows the name
// (not "File was replaced"), to b's entry or to a new one.
void EngineConcurrencyTest::PurgeDuringARefresh(bool another_loads) {
  auto mman = Tiling();
  CacheWithoutDescriptor(*mman, x_);
  const auto fresh_range = ReplaceX();
  BlockingSeam seam;
  seam.Arm(Syscall::kFstat);
  absl::StatusOr<FixedCursor> first;
  absl::StatusOr<FixedCursor> second;
  std::thread a = MakeInThread(*mman, x_, 3 * kPage, first);
  seam.WaitBlocked();
  EXPECT_EQ(mman->Purge(x_.path()), 1u);  // window 0 of the old file
  if (another_loads) {
    std::thread b = MakeInThread(*mman, x_, 5 * kPage, second);
    b.join();  // a new entry: it does not wait for a's
    ASSERT_OK(second);
    EXPECT_EQ(Str(second->buffer()), fresh_range(5 * kPage));
  }
  seam.Release();
  a.join();
  ASSERT_OK(first);
  EXPECT_EQ(Str(first->buffer()), fresh_range(3 * kPage));
  EXPECT_EQ(mman->num_files(), 1u);
  EXPECT_EQ(mman->num_open_files(), 1u);
  EXPECT_EQ(mman->num_open_regions(), another_loads ? 2u : 1u);
  // x_, x_ reopened by a, and x_ anew (by b, or by a following the name).
  EXPECT_EQ(mman->stats().files_opened, 3u);
}

TEST_F(EngineConcurrencyTest, PurgeDuringARefreshFollowsTheName) {
  PurgeDuringARefresh(/*another_loads=*/true);
}

TEST_F(EngineConcurrencyTest, PurgeDuringARefreshFollowsTheNameToANewEntry) {
  PurgeDuringARefresh(/*another_loads=*/false);
}

}  // namespace
}  // namespace smmap
