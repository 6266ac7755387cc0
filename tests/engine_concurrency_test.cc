// The engine's concurrency contract (smmap/internal/core.h), proven through
// the os seam: a fault injector blocks one system call on a latch, and the
// test checks what other threads can do meanwhile. Nothing here depends on
// timing: every wait is on a latch or a join.

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/internal/os.h"
#include "smmap/manager.h"
#include "tests/scripted_faults.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::internal::os::FaultInjector;
using ::smmap::internal::os::SetFaultInjector;
using ::smmap::internal::os::Syscall;
using ::smmap::testing::CountOpenFds;
using ::smmap::testing::kPage;
using ::smmap::testing::ScriptedFaults;
using ::smmap::testing::Str;
using ::smmap::testing::TestFile;
using ::testing::HasSubstr;

const uint64_t kWindow = 2 * kPage;  // regions start every page

// A one-shot event.
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  bool is_open() {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Blocks the first call of one system call made after Arm(), until
// Release(); that call then fails with the given errno (0: it runs). Every
// other call runs. Also records the most descriptors the process had open
// when a manager called open().
class BlockingSeam final : public FaultInjector {
 public:
  BlockingSeam() : baseline_fds_(CountOpenFds()) { SetFaultInjector(this); }
  ~BlockingSeam() override {
    Release();
    SetFaultInjector(nullptr);
  }

  void Arm(Syscall call, int err = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = call;
    err_ = err;
  }
  // Waits until the armed call is blocked.
  void WaitBlocked() { blocked_.Wait(); }
  void Release() { released_.Open(); }
  // The most descriptors open beyond the baseline when open() was called.
  size_t most_fds_at_open() {
    std::lock_guard<std::mutex> lock(mu_);
    return most_fds_at_open_;
  }

  int BeforeCall(Syscall call) override {
    bool block = false;
    int err = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (call == Syscall::kOpen) {
        const size_t fds = CountOpenFds() - baseline_fds_;
        most_fds_at_open_ = std::max(most_fds_at_open_, fds);
      }
      if (armed_ && *armed_ == call) {
        armed_.reset();
        block = true;
        err = err_;
      }
    }
    if (!block) return 0;
    blocked_.Open();
    released_.Wait();
    return err;
  }

 private:
  const size_t baseline_fds_;
  std::mutex mu_;
  std::optional<Syscall> armed_;
  int err_ = 0;
  size_t most_fds_at_open_ = 0;
  Latch blocked_;
  Latch released_;
};

std::unique_ptr<TilingMemmapManager> Tiling(uint64_t max_files = 8,
                                            uint64_t budget_windows = 64,
                                            bool hard = false) {
  ManagerOptions options;
  options.window_size = kWindow;
  options.max_memory_size = budget_windows * kWindow;
  options.max_open_files = max_files;
  options.hard_limits = hard;
  return std::move(*TilingMemmapManager::Create(options));
}

class EngineConcurrencyTest : public ::testing::Test {
 protected:
  EngineConcurrencyTest()
      : x_(TestFile::Random("x", 8 * kPage, 1)),
        y_(TestFile::Random("y", 8 * kPage, 2)),
        z_(TestFile::Random("z", 4 * kPage, 3)),
        fds_(CountOpenFds()) {}
  ~EngineConcurrencyTest() override { EXPECT_EQ(CountOpenFds(), fds_); }

  // Maps window 0 of `file` and leaves it cached, unused.
  static void Cache(MemmapManager& mman, const TestFile& file) {
    ASSERT_OK(mman.MakeCursor(file.path(), 0, 16));
  }

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

  void LoadBlockedIn(MemmapManager& mman, Syscall call);
  void PurgeDuringARefresh(bool another_loads);
  void SoftOverrunBesideABlockedLoad(int err);
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

  TestFile x_;
  TestFile y_;
  TestFile z_;
  const size_t fds_;
};

// A cursor of x_ at window 3, which is not cached, made in another thread.
std::thread MakeInThread(MemmapManager& mman, const TestFile& file,
                         uint64_t offset, absl::StatusOr<FixedCursor>& out,
                         std::atomic<bool>* done = nullptr) {
  return std::thread([&mman, &file, offset, &out, done] {
    out = mman.MakeCursor(file.path(), offset, 100);
    if (done != nullptr) done->store(true);
  });
}

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
  if (shrink) ASSERT_EQ(::truncate(x_.path().c_str(), size), 0);
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

TEST_F(EngineConcurrencyTest, ARegionBeingMappedIsReservedNotCached) {
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

TEST_F(EngineConcurrencyTest, ARegionBeingMappedOverIsCountedOnce) {
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
void EngineConcurrencyTest::SoftOverrunBesideABlockedLoad(int err) {
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

TEST_F(EngineConcurrencyTest, SoftOverrunIsCountedOnceBothAreMapped) {
  SoftOverrunBesideABlockedLoad(0);
}

TEST_F(EngineConcurrencyTest, SoftOverrunIsNotCountedForAFailedMmap) {
  SoftOverrunBesideABlockedLoad(EIO);
}

TEST_F(EngineConcurrencyTest, SlidingReleaseCountsAFailedMunmap) {
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

TEST_F(EngineConcurrencyTest,
       OpeningCloseOnlyTheLeastRecentlyUsedIdleDescriptor) {
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

TEST_F(EngineConcurrencyTest, DescriptorBudgetIsKeptDuringCalls) {
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

TEST_F(EngineConcurrencyTest, LoaderWaitsForADescriptorSlotInUse) {
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
