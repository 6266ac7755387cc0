// Managers: options, region placement, budgets, LRU order, errors, closing
// and destruction (files and descriptors: manager_files_test.cc).

#include "smmap/manager.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/cursor.h"
#include "smmap/options.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"
#include "tests/test_managers.h"

namespace smmap {
namespace {

using ::smmap::testing::CountOpenFds;
using ::smmap::testing::kPage;
using ::smmap::testing::RandomBytes;
using ::smmap::testing::Str;
using ::smmap::testing::TempPath;
using ::smmap::testing::TestFile;
using ::smmap::testing::Tiling;
using ::testing::HasSubstr;

// --- Options -----------------------------------------------------------------

// A quarter of this process's soft RLIMIT_NOFILE, clamped to [1, 4096].
uint64_t DefaultOpenFiles() {
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  const uint64_t soft = limit.rlim_cur == RLIM_INFINITY ? 1024 : limit.rlim_cur;
  return std::clamp<uint64_t>(soft / 4, 1, 4096);
}

TEST(OptionsTest, Defaults) {
  TilingMemmapManager tiling;
  EXPECT_EQ(tiling.window_size(), uint64_t{1} << 30);
  EXPECT_EQ(tiling.max_memory_size(), uint64_t{8} << 30);
  EXPECT_EQ(tiling.max_open_files(), DefaultOpenFiles());
  EXPECT_FALSE(tiling.hard_limits());
  GreedyMemmapManager greedy;
  EXPECT_EQ(greedy.window_size(), 0u);
  EXPECT_EQ(greedy.max_memory_size(), uint64_t{8} << 30);
  EXPECT_EQ(greedy.max_open_files(), DefaultOpenFiles());
}

// The default max_open_files is a quarter of RLIMIT_NOFILE's soft limit,
// clamped to [1, 4096]: checked in a child process for soft limits that
// land below, inside and above that range.
TEST(OptionsTest, DefaultMaxOpenFilesFollowsTheSoftLimit) {
  struct rlimit limit;
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  std::vector<rlim_t> softs = {1, 3, 4, 7, 8, 41, 400, 4 * 1000 + 3};
  for (rlim_t soft :
       {rlim_t{4 * 4096 + 3}, rlim_t{4 * 4096 + 4}, rlim_t{20000}}) {
    if (limit.rlim_max == RLIM_INFINITY || soft <= limit.rlim_max) {
      softs.push_back(soft);
    }
  }
  for (rlim_t soft : softs) {
    SCOPED_TRACE(absl::StrCat("soft limit ", soft));
    const uint64_t want = std::clamp<uint64_t>(soft / 4, 1, 4096);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      struct rlimit lowered = limit;
      lowered.rlim_cur = soft;
      if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) ::_exit(2);
      TilingMemmapManager tiling;
      GreedyMemmapManager greedy;
      ManagerOptions options;
      auto created = TilingMemmapManager::Create(options);
      if (!created.ok()) ::_exit(3);
      ::_exit(tiling.max_open_files() == want &&
                      greedy.max_open_files() == want &&
                      (*created)->max_open_files() == want
                  ? 0
                  : 1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << "want " << want;
  }
}

TEST(OptionsTest, WindowIsRoundedToTwoPagesOr4MiB) {
  ManagerOptions options;
  options.window_size = 5000;
  EXPECT_EQ(Tiling(options)->window_size(), 2 * kPage);
  options.window_size = 2 * kPage + 1;
  EXPECT_EQ(Tiling(options)->window_size(), 4 * kPage);
  options.window_size = (4 << 20) + 1;
  EXPECT_EQ(Tiling(options)->window_size(), uint64_t{8} << 20);
  options.window_size = 0;  // whole files
  EXPECT_EQ(Tiling(options)->window_size(), 0u);
}

TEST(OptionsTest, RejectsInconsistentOptions) {
  ManagerOptions options;
  options.window_size = (uint64_t{1} << 62) + 1;
  EXPECT_THAT(TilingMemmapManager::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("window_size(4611686018427387905)")));
  EXPECT_THAT(GreedyMemmapManager::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument));

  options = ManagerOptions();
  options.hard_limits = true;
  options.max_memory_size = 0;
  EXPECT_THAT(TilingMemmapManager::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_memory_size(0)")));

  options.max_memory_size = 4 * kPage;
  options.window_size = 8 * kPage;
  EXPECT_THAT(TilingMemmapManager::Create(options),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("smaller than window_size")));
  options.window_size = 4 * kPage;
  EXPECT_OK(TilingMemmapManager::Create(options));
}

// --- Region placement ------------------------------------------------------

TEST(PlacementTest, TilingRegionsStartEveryHalfWindow) {
  TestFile file = TestFile::Random("tiles", 10 * kPage, 1);
  ManagerOptions options;
  options.window_size = 4 * kPage;  // regions of 4 pages every 2 pages
  auto mman = Tiling(options);

  ASSERT_OK_AND_ASSIGN(FixedCursor a, mman->MakeCursor(file.path(), 5000, 100));
  EXPECT_EQ(a.size(), 100u);
  EXPECT_EQ(Str(a.buffer()), file.Range(5000, 100));
  EXPECT_EQ(mman->num_open_regions(), 1u);
  EXPECT_EQ(mman->mapped_memory_size(), 4 * kPage);  // window 0

  // Up to half a window is always served whole, across tile boundaries.
  const uint64_t ofs = 4 * kPage - 10;
  ASSERT_OK_AND_ASSIGN(FixedCursor b,
                       mman->MakeCursor(file.path(), ofs, 2 * kPage));
  EXPECT_EQ(b.size(), 2 * kPage);
  EXPECT_EQ(Str(b.buffer()), file.Range(ofs, 2 * kPage));
  EXPECT_EQ(mman->num_open_regions(), 2u);

  // A request that fits an already mapped region reuses it.
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file.path(), 0, 100));
  EXPECT_EQ(mman->num_open_regions(), 2u);
  EXPECT_EQ(mman->stats().cursor_hits, 1u);
  EXPECT_EQ(mman->stats().cursor_misses, 2u);

  // Longer requests are cut at the end of their region; size 0 takes it all.
  ASSERT_OK_AND_ASSIGN(FixedCursor d, mman->MakeCursor(file.path(), kPage));
  EXPECT_EQ(d.ofs(), kPage);
  EXPECT_EQ(d.ofs_end(), 4 * kPage);  // window 0 ends there
  EXPECT_EQ(Str(d.buffer()), file.Range(kPage, 3 * kPage));

  // Near the end of the file the region is cut at the end of the file.
  ASSERT_OK_AND_ASSIGN(FixedCursor e,
                       mman->MakeCursor(file.path(), 9 * kPage + 7, 4 * kPage));
  EXPECT_EQ(e.ofs_end(), 10 * kPage);
  EXPECT_EQ(Str(e.buffer()), file.Range(9 * kPage + 7, kPage - 7));
}

TEST(PlacementTest, GreedyMapsWholeFileOnce) {
  TestFile file = TestFile::Random("greedy", 3 * kPage + 17, 2);
  GreedyMemmapManager mman;
  ASSERT_OK_AND_ASSIGN(FixedCursor a, mman.MakeCursor(file.path(), 10, 10));
  EXPECT_EQ(Str(a.buffer()), file.Range(10, 10));
  ASSERT_OK_AND_ASSIGN(FixedCursor b, mman.MakeCursor(file.path(), 2 * kPage));
  EXPECT_EQ(b.ofs_end(), file.size());
  EXPECT_EQ(Str(b.buffer()), file.Range(2 * kPage, kPage + 17));
  EXPECT_EQ(mman.num_open_regions(), 1u);
  // Counted as the kernel maps it: whole pages.
  EXPECT_EQ(mman.mapped_memory_size(), 4 * kPage);
}

TEST(PageRoundingTest, TinyFilesCostWholePagesOfAHardBudget) {
  // Each 1-byte file maps a page: a budget of 3 pages holds 3 of them.
  std::vector<TestFile> files;
  for (int i = 0; i < 4; ++i) {
    files.push_back(TestFile::Random("tiny", 1, static_cast<uint64_t>(i)));
  }
  ManagerOptions options;
  options.max_memory_size = 3 * kPage;
  options.hard_limits = true;
  ASSERT_OK_AND_ASSIGN(auto mman, GreedyMemmapManager::Create(options));
  std::vector<FixedCursor> held;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(files[i].path()));
    EXPECT_EQ(c.size(), 1u);
    held.push_back(std::move(c));
  }
  EXPECT_EQ(mman->mapped_memory_size(), 3 * kPage);
  EXPECT_THAT(mman->MakeCursor(files[3].path()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("would exceed max_memory_size(" +
                                 std::to_string(3 * kPage) + ")")));
  held.clear();
  ASSERT_OK(mman->MakeCursor(files[3].path()));  // evicts one
  EXPECT_EQ(mman->stats().peak_mapped_bytes, 3 * kPage);
}

TEST(PlacementTest, GreedyRefusesFilesLargerThanItsWindow) {
  TestFile file = TestFile::Random("big", 3 * kPage, 3);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  ASSERT_OK_AND_ASSIGN(auto mman, GreedyMemmapManager::Create(options));
  EXPECT_THAT(mman->MakeCursor(file.path()),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("File-size exceeds window-size limit")));
  EXPECT_EQ(mman->num_open_regions(), 0u);
}

// --- Budgets and LRU -------------------------------------------------------

class BudgetTest : public ::testing::Test {
 protected:
  // Five windows of 2 pages: window i starts at page i.
  BudgetTest() : file_(TestFile::Random("budget", 6 * kPage, 4)) {}

  absl::StatusOr<FixedCursor> Window(MemmapManager& mman, int i) {
    return mman.MakeCursor(file_.path(), static_cast<uint64_t>(i) * kPage, 1);
  }

  TestFile file_;
};

TEST_F(BudgetTest, EvictsLeastRecentlyUsedFirst) {
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = 4 * kPage;  // two regions
  auto mman = Tiling(options);
  ASSERT_OK(Window(*mman, 0));  // released at once
  ASSERT_OK(Window(*mman, 2));
  ASSERT_OK(Window(*mman, 0));  // 0 is now more recent than 2
  EXPECT_EQ(mman->stats().cursor_hits, 1u);
  ASSERT_OK(Window(*mman, 4));  // evicts 2
  EXPECT_EQ(mman->stats().lru_evictions, 1u);
  EXPECT_EQ(mman->num_open_regions(), 2u);
  const uint64_t misses = mman->stats().cursor_misses;
  ASSERT_OK(Window(*mman, 0));
  EXPECT_EQ(mman->stats().cursor_misses, misses);  // still cached
  ASSERT_OK(Window(*mman, 2));
  EXPECT_EQ(mman->stats().cursor_misses, misses + 1);  // was evicted
  EXPECT_LE(mman->mapped_memory_size(), 4 * kPage);
}

TEST_F(BudgetTest, UsedRegionsAreNeverEvicted) {
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = 2 * kPage;  // one region
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(FixedCursor held, Window(*mman, 0));
  // Soft limits: over-allocate rather than unmap a used region.
  ASSERT_OK_AND_ASSIGN(FixedCursor other, Window(*mman, 2));
  EXPECT_EQ(mman->num_used_regions(), 2u);
  EXPECT_EQ(mman->mapped_memory_size(), 4 * kPage);
  EXPECT_EQ(mman->stats().soft_budget_overruns, 1u);
  EXPECT_EQ(held.buffer()[0], file_.bytes()[0]);
  // Once released, the over-allocation is given back.
  other.Close();
  EXPECT_EQ(mman->mapped_memory_size(), 2 * kPage);
  EXPECT_EQ(mman->num_open_regions(), 1u);
  EXPECT_EQ(mman->num_used_regions(), 1u);
}

TEST_F(BudgetTest, HardLimitsFailInsteadOfOverAllocating) {
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = 4 * kPage;
  options.hard_limits = true;
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(FixedCursor a, Window(*mman, 0));
  ASSERT_OK_AND_ASSIGN(FixedCursor b, Window(*mman, 2));
  EXPECT_THAT(Window(*mman, 4),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("would exceed max_memory_size(" +
                                 std::to_string(4 * kPage) + ")")));
  EXPECT_EQ(mman->mapped_memory_size(), 4 * kPage);
  b.Close();
  ASSERT_OK_AND_ASSIGN(FixedCursor c, Window(*mman, 4));  // evicts b's region
  EXPECT_EQ(mman->mapped_memory_size(), 4 * kPage);
  EXPECT_EQ(mman->stats().soft_budget_overruns, 0u);
}

TEST_F(BudgetTest, ZeroBudgetKeepsNothingUnused) {
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = 0;
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(FixedCursor a, Window(*mman, 0));
  EXPECT_EQ(mman->num_open_regions(), 1u);
  a.Close();
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
}

// --- Errors ----------------------------------------------------------------

TEST(ErrorsTest, BadFilesGiveSpecificStatuses) {
  TilingMemmapManager mman;
  const std::string missing = TempPath("missing");
  EXPECT_THAT(mman.MakeCursor(missing),
              StatusIs(absl::StatusCode::kNotFound,
                       HasSubstr("stat(" + missing + "): No such file")));

  const std::string dir = TempPath("dir");
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  EXPECT_THAT(mman.MakeCursor(dir),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Not a regular file (directory): " + dir)));

  const std::string fifo = TempPath("fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_THAT(mman.MakeCursor(fifo),  // must not block waiting for a writer
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Not a regular file (FIFO): " + fifo)));

  EXPECT_THAT(mman.MakeCursor(-1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Invalid file descriptor: -1")));
  EXPECT_THAT(mman.MakeCursor(987654),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("fstat(fd 987654): Bad file descriptor")));
  EXPECT_THAT(mman.MakeCursor(""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(mman.num_files(), 0u);
  EXPECT_EQ(mman.num_open_files(), 0u);
  ::rmdir(dir.c_str());
  ::unlink(fifo.c_str());
}

TEST(ErrorsTest, ArgumentsNoFileCanSatisfy) {
  TestFile file = TestFile::Random("args", 100, 11);
  TilingMemmapManager mman;
  EXPECT_THAT(mman.MakeCursor(file.path(), static_cast<uint64_t>(-5)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("offset(18446744073709551611)")));
  EXPECT_THAT(mman.MakeCursor(file.path(), 0, static_cast<uint64_t>(-1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("size(18446744073709551615)")));
  EXPECT_THAT(
      mman.MakeCursor(file.path(), uint64_t{1} << 62, uint64_t{3} << 61),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("overflows")));
  EXPECT_THAT(mman.MakeCursor(file.path(), 100),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("Offset(100) beyond file-size(100)")));
  // A size past the end is cut at the end.
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman.MakeCursor(file.path(), 90, 1000));
  EXPECT_EQ(c.size(), 10u);
}

// --- Closing and destruction -------------------------------------------------

TEST(LifetimeTest, CloseRefusesNewCursorsButKeepsLiveOnesReadable) {
  TestFile file = TestFile::Random("close", 3 * kPage, 12);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(FixedCursor live, mman->MakeCursor(file.path(), 0, 10));
  ASSERT_OK(mman->MakeCursor(file.path(), 2 * kPage, 10));  // cached, unused
  EXPECT_EQ(mman->num_open_regions(), 2u);
  mman->Close();
  EXPECT_TRUE(mman->closed());
  EXPECT_EQ(mman->num_open_regions(), 1u);  // only the used one
  EXPECT_EQ(mman->num_open_files(), 0u);
  EXPECT_THAT(mman->MakeCursor(file.path()),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("closed manager")));
  EXPECT_THAT(live.NextCursor(),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Str(live.buffer()), file.Range(0, 10));
  live.Close();
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  mman->Close();  // idempotent
}

TEST(LifetimeTest, DestroyingManagerWithLiveCursorsIsSafe) {
  TestFile file = TestFile::Random("destroy", 5 * kPage, 13);
  const size_t baseline = CountOpenFds();
  ManagerOptions options;
  options.window_size = 2 * kPage;
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(FixedCursor fixed,
                       mman->MakeCursor(file.path(), 10, 10));
  ASSERT_OK_AND_ASSIGN(FixedCursor closed, mman->MakeCursor(file.path(), 0, 1));
  closed.Close();
  ASSERT_OK_AND_ASSIGN(SlidingCursor sliding,
                       mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(sliding[3 * kPage], file.bytes()[3 * kPage]);
  mman.reset();
  EXPECT_EQ(CountOpenFds(), baseline);
  EXPECT_EQ(Str(fixed.buffer()), file.Range(10, 10));
  EXPECT_EQ(sliding[3 * kPage + 1],
            file.bytes()[3 * kPage + 1]);  // current region
  // It maps what it needs next (reopening the file), caching nothing.
  EXPECT_EQ(*sliding.At(0), file.bytes()[0]);
  EXPECT_EQ(CountOpenFds(), baseline);
  EXPECT_THAT(closed.MakeCursor(0),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_OK(fixed.Release());
  // The sliding and closed cursors free the rest when destroyed (ASan
  // checks that nothing leaks and nothing is used after it is freed).
}

TEST(LifetimeTest, DescriptorsReturnToBaselineAfterCollectAndClose) {
  std::vector<TestFile> files;
  for (int i = 0; i < 5; ++i)
    files.push_back(TestFile::Random("fds", 3 * kPage, 20 + i));
  const size_t baseline = CountOpenFds();
  {
    ManagerOptions options;
    options.window_size = 2 * kPage;
    auto mman = Tiling(options);
    for (const TestFile& file : files) {
      for (uint64_t ofs = 0; ofs < file.size(); ofs += kPage) {
        ASSERT_OK(mman->MakeCursor(file.path(), ofs, 1));
      }
    }
    EXPECT_EQ(mman->num_open_files(), files.size());
    EXPECT_EQ(CountOpenFds(), baseline + files.size());
    EXPECT_EQ(mman->Collect(), 10u);  // windows 0 and 2 of each file
    EXPECT_EQ(mman->num_open_regions(), 0u);
    EXPECT_EQ(mman->num_files(), 0u);
    EXPECT_EQ(CountOpenFds(), baseline);
    ASSERT_OK(mman->MakeCursor(files[0].path()));
    EXPECT_EQ(CountOpenFds(), baseline + 1);
    mman->Close();
    EXPECT_EQ(CountOpenFds(), baseline);
  }
  EXPECT_EQ(CountOpenFds(), baseline);
}

TEST(StatsTest, CountersFollowOperations) {
  TestFile file = TestFile::Random("stats", 4 * kPage, 14);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = 2 * kPage;
  auto mman = Tiling(options);
  ASSERT_OK(mman->MakeCursor(file.path(), 0, 1));          // miss, map 0
  ASSERT_OK(mman->MakeCursor(file.path(), 1, 1));          // hit
  ASSERT_OK(mman->MakeCursor(file.path(), 2 * kPage, 1));  // miss, evict 0
  ManagerStats stats = mman->stats();
  EXPECT_EQ(stats.cursor_hits, 1u);
  EXPECT_EQ(stats.cursor_misses, 2u);
  EXPECT_EQ(stats.regions_mapped, 2u);
  EXPECT_EQ(stats.regions_unmapped, 1u);
  EXPECT_EQ(stats.lru_evictions, 1u);
  EXPECT_EQ(stats.bytes_mapped_total, 4 * kPage);
  EXPECT_EQ(stats.peak_mapped_bytes, 2 * kPage);
  EXPECT_EQ(stats.peak_regions, 1u);
  EXPECT_EQ(stats.files_opened, 1u);
  EXPECT_EQ(stats.files_closed, 0u);
  EXPECT_EQ(stats.map_failures, 0u);
  EXPECT_EQ(mman->Collect(), 1u);
  EXPECT_EQ(mman->stats().files_closed, 1u);
  EXPECT_EQ(mman->stats().regions_unmapped, 2u);
}

}  // namespace
}  // namespace smmap
