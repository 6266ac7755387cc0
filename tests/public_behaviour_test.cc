// Public behaviour that no other test pins down: the populate and advice
// hints (seen through the os.h fault-injection seam), hard budgets smaller
// than one region, descriptors that are not files, immutable files that are
// reopened, running out of descriptors with nothing cached, EAGAIN,
// ReadGuarded on a closed cursor, stats() read while other threads work,
// and a sliding cursor that outlives its manager and its file.

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/internal/os.h"
#include "smmap/smmap.h"
#include "tests/scripted_faults.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"
#include "tests/test_managers.h"

namespace smmap {
namespace {

using ::smmap::internal::os::Syscall;
using ::smmap::testing::CountOpenFds;
using ::smmap::testing::kPage;
using ::smmap::testing::RandomBytes;
using ::smmap::testing::ScriptedFaults;
using ::smmap::testing::Str;
using ::smmap::testing::TempPath;
using ::smmap::testing::TestFile;
using ::smmap::testing::Tiling;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

ManagerOptions Small() {
  ManagerOptions options;
  options.window_size = 2 * kPage;
  return options;
}

// --- populate and advice -----------------------------------------------------
// The seam passes the advice given to madvise (FaultInjector::BeforeMadvise).

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22  // Linux 5.14
#endif

int AdviceFlag(AccessAdvice advice) {
  switch (advice) {
    case AccessAdvice::kSequential:
      return MADV_SEQUENTIAL;
    case AccessAdvice::kRandom:
      return MADV_RANDOM;
    case AccessAdvice::kWillNeed:
      return MADV_WILLNEED;
    case AccessAdvice::kHugePage:
      return MADV_HUGEPAGE;
    case AccessAdvice::kNone:
      break;
  }
  return -1;
}

TEST(HintsTest, PopulateAdvisesEachNewRegionOnce) {
  TestFile file = TestFile::Random("populate", 8 * kPage, 1);
  ScriptedFaults faults;
  ManagerOptions options = Small();
  options.populate = true;
  auto mman = Tiling(options);
  for (uint64_t page : {0, 2, 4}) {  // three new regions
    ASSERT_OK_AND_ASSIGN(FixedCursor c,
                         mman->MakeCursor(file.path(), page * kPage, 8));
    EXPECT_EQ(Str(c.buffer()), file.Range(page * kPage, 8));
  }
  EXPECT_EQ(faults.calls(Syscall::kMadvise), 3);
  ASSERT_OK(mman->MakeCursor(file.path(), 2 * kPage + 1, 8));  // a hit
  EXPECT_EQ(faults.calls(Syscall::kMadvise), 3);
  EXPECT_EQ(faults.calls(Syscall::kMmap), 3);  // no MAP_POPULATE retry
  EXPECT_THAT(
      faults.advice(),
      ElementsAre(MADV_POPULATE_READ, MADV_POPULATE_READ, MADV_POPULATE_READ));
}

TEST(HintsTest, PopulateFallsBackToWillNeed) {
  // MADV_POPULATE_READ failing (EINVAL: a kernel before 5.14) is followed by
  // a second madvise call, MADV_WILLNEED; the cursor reads either way.
  TestFile file = TestFile::Random("populate", 4 * kPage, 2);
  ScriptedFaults faults;
  ManagerOptions options = Small();
  options.populate = true;
  auto mman = Tiling(options);
  faults.Fail(Syscall::kMadvise, EINVAL);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file.path(), 5, 10));
  EXPECT_EQ(faults.fired(), 1);
  EXPECT_EQ(faults.calls(Syscall::kMadvise), 2);
  EXPECT_EQ(Str(c.buffer()), file.Range(5, 10));
  // The next new region: populate works again, no fallback.
  ASSERT_OK(mman->MakeCursor(file.path(), 2 * kPage, 10));
  EXPECT_EQ(faults.calls(Syscall::kMadvise), 3);
  EXPECT_THAT(faults.advice(), ElementsAre(MADV_POPULATE_READ, MADV_WILLNEED,
                                           MADV_POPULATE_READ));
}

TEST(HintsTest, NoHintsNoMadvise) {
  TestFile file = TestFile::Random("advice", 4 * kPage, 3);
  ScriptedFaults faults;
  auto mman = Tiling(Small());
  ASSERT_OK(mman->MakeCursor(file.path(), 0, 8));
  ASSERT_OK(mman->MakeCursor(file.path(), 2 * kPage, 8));
  EXPECT_EQ(faults.calls(Syscall::kMmap), 2);
  EXPECT_EQ(faults.calls(Syscall::kMadvise), 0);
}

class AdviceTest : public ::testing::TestWithParam<AccessAdvice> {};

TEST_P(AdviceTest, OneMadvisePerNewRegion) {
  TestFile file = TestFile::Random("advice", 8 * kPage, 4);
  for (bool populate : {false, true}) {
    SCOPED_TRACE(populate ? "with populate" : "without populate");
    ScriptedFaults faults;
    ManagerOptions options = Small();
    options.advice = GetParam();
    options.populate = populate;
    auto mman = Tiling(options);
    ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(file.path()));
    std::string all;
    ASSERT_OK(s.ForEachChunk(0, s.size(), [&](absl::Span<const uint8_t> c) {
      all.append(c.begin(), c.end());
    }));
    EXPECT_EQ(all, file.Range(0, file.size()));
    const int regions = faults.calls(Syscall::kMmap);
    EXPECT_GE(regions, 4);
    EXPECT_EQ(static_cast<uint64_t>(regions), mman->stats().regions_mapped);
    // The advice, then MADV_POPULATE_READ, per region.
    EXPECT_EQ(faults.calls(Syscall::kMadvise), regions * (populate ? 2 : 1));
    std::vector<int> expected;
    for (int r = 0; r < regions; ++r) {
      expected.push_back(AdviceFlag(GetParam()));
      if (populate) expected.push_back(MADV_POPULATE_READ);
    }
    EXPECT_EQ(faults.advice(), expected);
  }
}

TEST_P(AdviceTest, FailingAdviceIsOnlyAHint) {
  TestFile file = TestFile::Random("advice", 4 * kPage, 5);
  ScriptedFaults faults;
  ManagerOptions options = Small();
  options.advice = GetParam();
  auto mman = Tiling(options);
  faults.Fail(Syscall::kMadvise, EINVAL);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file.path(), 3, 9));
  EXPECT_EQ(Str(c.buffer()), file.Range(3, 9));
  EXPECT_EQ(faults.fired(), 1);
  EXPECT_EQ(faults.calls(Syscall::kMadvise), 1);  // no retry, no fallback
}

INSTANTIATE_TEST_SUITE_P(Every, AdviceTest,
                         ::testing::Values(AccessAdvice::kSequential,
                                           AccessAdvice::kRandom,
                                           AccessAdvice::kWillNeed,
                                           AccessAdvice::kHugePage));

// --- hard budgets smaller than one region
// --------------------------------------

TEST(HardBudgetTest, GreedyFileLargerThanTheBudget) {
  // A region larger than the whole budget fails at once, without evicting
  // what is cached for nothing; files that fit are still served.
  TestFile small = TestFile::Random("budget", 2 * kPage, 6);
  TestFile large = TestFile::Random("budget", 5 * kPage, 7);
  ManagerOptions options;
  options.max_memory_size = 3 * kPage;
  options.hard_limits = true;
  ASSERT_OK_AND_ASSIGN(auto mman, GreedyMemmapManager::Create(options));
  ASSERT_OK(mman->MakeCursor(small.path()));  // cached, unused
  EXPECT_THAT(
      mman->MakeCursor(large.path()),
      StatusIs(absl::StatusCode::kResourceExhausted,
               absl::StrCat("Mapping ", 5 * kPage, " bytes of ", large.path(),
                            " exceeds max_memory_size(", 3 * kPage, ")")));
  EXPECT_EQ(mman->num_open_regions(), 1u);
  EXPECT_EQ(mman->stats().lru_evictions, 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 2 * kPage);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(small.path(), 1, 10));
  EXPECT_EQ(Str(c.buffer()), small.Range(1, 10));
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(large.path()));
  EXPECT_THAT(s.At(0), StatusIs(absl::StatusCode::kResourceExhausted,
                                HasSubstr("exceeds max_memory_size")));
  EXPECT_LE(mman->stats().peak_mapped_bytes, 3 * kPage);
}

TEST(HardBudgetTest, TilingWholeFilesLargerThanTheBudget) {
  TestFile small = TestFile::Random("budget", kPage, 8);
  TestFile large = TestFile::Random("budget", 5 * kPage, 9);
  ManagerOptions options;
  options.window_size = 0;  // whole files
  options.max_memory_size = 3 * kPage;
  options.hard_limits = true;
  auto mman = Tiling(options);
  ASSERT_NE(mman, nullptr);
  EXPECT_THAT(
      mman->MakeCursor(large.path(), 4 * kPage, 1),
      StatusIs(absl::StatusCode::kResourceExhausted,
               absl::StrCat("Mapping ", 5 * kPage, " bytes of ", large.path(),
                            " exceeds max_memory_size(", 3 * kPage, ")")));
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->stats().regions_mapped, 0u);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(small.path(), 0, 0));
  EXPECT_EQ(c.size(), kPage);  // a whole file that fits
}

// --- descriptors that are not regular files ---------------------------------

TEST(DescriptorTest, PipeIsInvalidArgument) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], "abc", 3), 3);
  TilingMemmapManager mman;
  EXPECT_THAT(mman.MakeCursor(fds[0]),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Not a regular file (FIFO)")));
  EXPECT_THAT(mman.MakeSlidingCursor(fds[0]),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(mman.num_files(), 0u);
  // The manager never closes a caller's descriptor.
  char byte = 0;
  EXPECT_EQ(::read(fds[0], &byte, 1), 1);
  EXPECT_EQ(byte, 'a');
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(DescriptorTest, SocketIsInvalidArgument) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  TilingMemmapManager mman;
  EXPECT_THAT(mman.MakeCursor(fds[0]),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Not a regular file (socket)")));
  EXPECT_EQ(::write(fds[1], "x", 1), 1);  // still open: not closed by smmap
  ::close(fds[0]);
  ::close(fds[1]);
}

// --- immutable files ---------------------------------------------------------

TEST(ImmutableFilesTest, ReopenedPathSeesTheReplacement) {
  // max_open_files 0: each new region reopens the path. A file replaced by
  // rename is a new identity even with immutable_files: new cursors read
  // the new file; a sliding cursor refuses to mix the two.
  TestFile file = TestFile::Random("immutable", 6 * kPage, 9);
  ManagerOptions options = Small();
  options.immutable_files = true;
  options.max_open_files = 0;
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(file.path()));
  ASSERT_OK_AND_ASSIGN(uint8_t first, s.At(0));
  EXPECT_EQ(first, file.bytes()[0]);
  ASSERT_OK_AND_ASSIGN(FixedCursor old, mman->MakeCursor(file.path(), 0, 8));

  const std::vector<uint8_t> fresh = RandomBytes(6 * kPage, 10);
  const std::string tmp = TempPath("immutable-new");
  smmap::testing::WriteFile(tmp, fresh);
  ASSERT_EQ(::rename(tmp.c_str(), file.path().c_str()), 0);

  ASSERT_OK_AND_ASSIGN(FixedCursor c,
                       mman->MakeCursor(file.path(), 4 * kPage, 8));
  EXPECT_EQ(Str(c.buffer()), std::string(fresh.begin() + 4 * kPage,
                                         fresh.begin() + 4 * kPage + 8));
  EXPECT_EQ(Str(old.buffer()), file.Range(0, 8));  // the old file's bytes
  EXPECT_THAT(s.At(4 * kPage),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("File was replaced (device:inode")));
}

TEST(ImmutableFilesTest, SlidingCursorsReadEveryByte) {
  TestFile file = TestFile::Random("immutable", 9 * kPage + 17, 11);
  ScriptedFaults faults;
  ManagerOptions options = Small();
  options.immutable_files = true;
  options.max_memory_size = 4 * kPage;
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(file.path()));
  const int fstats = faults.calls(Syscall::kFstat);
  std::string all;
  ASSERT_OK(s.ForEachChunk(0, s.size(), [&](absl::Span<const uint8_t> c) {
    all.append(c.begin(), c.end());
  }));
  EXPECT_EQ(all, file.Range(0, file.size()));
  ASSERT_OK_AND_ASSIGN(Bytes tail, s.Slice(-20));
  EXPECT_EQ(tail, absl::string_view(file.Range(file.size() - 20, 20)));
  EXPECT_GE(mman->stats().regions_mapped, 5u);
  // Inside the size it knows, no fstat per region.
  EXPECT_EQ(faults.calls(Syscall::kFstat), fstats);
}

// --- out of descriptors, EAGAIN
// -----------------------------------------------

TEST(DescriptorLimitTest, EnfileWithACachedDescriptorRetries) {
  TestFile a = TestFile::Random("enfile", 2 * kPage, 12);
  TestFile b = TestFile::Random("enfile", 2 * kPage, 13);
  ScriptedFaults faults;
  ManagerOptions options = Small();
  options.max_open_files = 4;
  auto mman = Tiling(options);
  ASSERT_OK(mman->MakeCursor(a.path()));
  ASSERT_EQ(mman->num_open_files(), 1u);
  faults.Fail(Syscall::kOpen, ENFILE);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(b.path(), 1, 5));
  EXPECT_EQ(Str(c.buffer()), b.Range(1, 5));
  EXPECT_EQ(faults.fired(), 1);
  EXPECT_EQ(faults.calls(Syscall::kOpen), 3);  // a, failed b, retried b
  EXPECT_EQ(mman->stats().files_closed, 1u);   // a's idle descriptor
}

TEST(DescriptorLimitTest, OutOfDescriptorsWithNothingCached) {
  TestFile a = TestFile::Random("emfile", 2 * kPage, 14);
  for (int err : {EMFILE, ENFILE}) {
    SCOPED_TRACE(err);
    ScriptedFaults faults;
    auto mman = Tiling(Small());
    faults.Fail(Syscall::kOpen, err);
    EXPECT_THAT(mman->MakeCursor(a.path()),
                StatusIs(absl::StatusCode::kResourceExhausted,
                         HasSubstr(absl::StrCat(
                             "open(", a.path(), "): ",
                             err == EMFILE ? "Too many open files"
                                           : "Too many open files in system",
                             "; the process is out of file descriptors "
                             "(RLIMIT_NOFILE) and the manager held none it "
                             "could close"))));
    EXPECT_EQ(faults.calls(Syscall::kOpen), 1);  // nothing to close: no retry
    EXPECT_EQ(mman->num_open_files(), 0u);
    ASSERT_OK(mman->MakeCursor(a.path()));  // the next call is fine
  }
}

TEST(EagainTest, MmapEagainIsRetriedAfterUnmappingWhatIsUnused) {
  TestFile file = TestFile::Random("eagain", 8 * kPage, 15);
  ScriptedFaults faults;
  auto mman = Tiling(Small());
  ASSERT_OK(mman->MakeCursor(file.path(), 0, 1));  // one unused region
  faults.Fail(Syscall::kMmap, EAGAIN);
  ASSERT_OK_AND_ASSIGN(FixedCursor c,
                       mman->MakeCursor(file.path(), 6 * kPage, 8));
  EXPECT_EQ(Str(c.buffer()), file.Range(6 * kPage, 8));
  EXPECT_EQ(faults.fired(), 1);
  EXPECT_EQ(faults.calls(Syscall::kMmap), 3);  // first, failed, retried
  const ManagerStats stats = mman->stats();
  EXPECT_EQ(stats.map_failures, 1u);
  EXPECT_EQ(stats.lru_evictions, 1u);
  EXPECT_EQ(mman->num_open_regions(), 1u);
}

TEST(EagainTest, MmapEagainTwiceIsResourceExhausted) {
  TestFile file = TestFile::Random("eagain", 8 * kPage, 16);
  ScriptedFaults faults;
  auto mman = Tiling(Small());
  ASSERT_OK(mman->MakeCursor(file.path(), 0, 1));
  faults.Fail(Syscall::kMmap, EAGAIN, 1, 2);
  EXPECT_THAT(mman->MakeCursor(file.path(), 6 * kPage, 8),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("Resource temporarily unavailable; unused "
                                 "regions were unmapped and the call retried "
                                 "once")));
  EXPECT_EQ(faults.fired(), 2);
}

// --- cursors
// -------------------------------------------------------------------

TEST(FixedCursorTest, ReadGuardedOnAClosedCursor) {
  TestFile file = TestFile::Random("guarded", 2 * kPage, 17);
  auto mman = Tiling(Small());
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file.path(), 10, 20));
  std::vector<uint8_t> dst(4, 0xaa);
  ASSERT_OK(c.ReadGuarded(2, absl::MakeSpan(dst)));
  EXPECT_EQ(Str(dst), file.Range(12, 4));
  c.Close();
  std::fill(dst.begin(), dst.end(), 0xaa);
  EXPECT_THAT(c.ReadGuarded(2, absl::MakeSpan(dst)),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("is not inside the closed cursor of size(20) "
                                 "at offset 10 for file: " +
                                 file.path())));
  EXPECT_EQ(dst, std::vector<uint8_t>(4, 0xaa));  // untouched
  FixedCursor moved_from = std::move(c);
  EXPECT_THAT(c.ReadGuarded(0, absl::MakeSpan(dst).first(0)),  // NOLINT
              StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(SlidingCursorTest, ManagerDestroyedThenFileReplaced) {
  // The cursor outlives its manager; then its file is replaced by rename.
  // It keeps reading the file it was made on where that file is still
  // mapped, and refuses (FailedPrecondition) to read the new file's bytes.
  TestFile file = TestFile::Random("outlived", 6 * kPage, 18);
  const std::vector<uint8_t> old = file.bytes();
  ManagerOptions options = Small();
  options.max_open_files = 0;  // the path is reopened for each new region
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(file.path()));
  ASSERT_OK_AND_ASSIGN(uint8_t first, s.At(1));
  EXPECT_EQ(first, old[1]);
  mman.reset();

  const std::string tmp = TempPath("outlived-new");
  smmap::testing::WriteFile(tmp, RandomBytes(6 * kPage, 19));
  ASSERT_EQ(::rename(tmp.c_str(), file.path().c_str()), 0);

  ASSERT_OK_AND_ASSIGN(uint8_t again, s.At(2));  // the current region
  EXPECT_EQ(again, old[2]);
  EXPECT_THAT(s.At(5 * kPage),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("File was replaced (device:inode")));
  std::vector<uint8_t> dst(16);
  EXPECT_THAT(s.Read(5 * kPage, absl::MakeSpan(dst)),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

// --- stats() while other threads work
// -------------------------------------------

TEST(StatsTest, SnapshotsWhileOtherThreadsWork) {
  std::vector<TestFile> files;
  for (uint64_t i = 0; i < 3; ++i) {
    files.push_back(TestFile::Random("stats", 6 * kPage + 5, 20 + i));
  }
  const size_t fds = CountOpenFds();
  ManagerOptions options = Small();
  options.max_memory_size = 4 * kPage;
  options.max_open_files = 1;
  auto mman = Tiling(options);
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> made{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < 3; ++t) {
    workers.emplace_back([&, t] {
      uint64_t x = 12345 + static_cast<uint64_t>(t);
      for (int i = 0; i < 3000; ++i) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        const TestFile& f = files[(x >> 33) % files.size()];
        const uint64_t ofs = (x >> 20) % f.size();
        absl::StatusOr<FixedCursor> c = mman->MakeCursor(f.path(), ofs, 64);
        ASSERT_OK(c);
        ASSERT_EQ(Str(c->buffer()), f.Range(ofs, c->size()));
        ++made;
        if (i % 97 == 0) mman->Collect();
      }
    });
  }
  ManagerStats last;
  int snapshots = 0;
  std::thread reader([&] {
    while (!stop.load()) {
      const ManagerStats s = mman->stats();
      ++snapshots;
      // Counters only grow.
      EXPECT_GE(s.cursor_hits, last.cursor_hits);
      EXPECT_GE(s.cursor_misses, last.cursor_misses);
      EXPECT_GE(s.regions_mapped, last.regions_mapped);
      EXPECT_GE(s.regions_unmapped, last.regions_unmapped);
      EXPECT_GE(s.files_opened, last.files_opened);
      EXPECT_GE(s.files_closed, last.files_closed);
      EXPECT_GE(s.peak_mapped_bytes, last.peak_mapped_bytes);
      // One snapshot is consistent with itself.
      EXPECT_LE(s.regions_unmapped, s.regions_mapped);
      EXPECT_LE(s.files_closed, s.files_opened);
      EXPECT_LE(s.regions_mapped - s.regions_unmapped, s.peak_regions);
      EXPECT_LE(s.regions_mapped, s.cursor_misses);
      EXPECT_LE(s.bytes_mapped_total, s.regions_mapped * 2 * kPage);
      last = s;
    }
  });
  for (std::thread& w : workers) w.join();
  stop = true;
  reader.join();
  EXPECT_GT(snapshots, 0);
  EXPECT_EQ(made.load(), 3u * 3000u);
  const ManagerStats end = mman->stats();
  EXPECT_EQ(end.cursor_hits + end.cursor_misses, 3u * 3000u);
  mman->Collect();
  EXPECT_EQ(mman->stats().regions_unmapped, mman->stats().regions_mapped);
  EXPECT_EQ(CountOpenFds(), fds);
}

}  // namespace
}  // namespace smmap
