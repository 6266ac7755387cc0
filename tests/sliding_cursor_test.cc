// SlidingCursor: indexing, Python slices, reads and chunk scans across region
// boundaries; empty and tiny files; budgets; files that change.

#include "smmap/sliding_cursor.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/manager.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::testing::CountOpenFds;
using ::smmap::testing::kPage;
using ::smmap::testing::RandomBytes;
using ::smmap::testing::TestFile;
using ::testing::HasSubstr;

std::unique_ptr<MemmapManager> TinyTiling(bool hard = false,
                                          uint64_t budget_windows = 1) {
  ManagerOptions options;
  options.window_size = 2 * kPage;  // regions of 2 pages, one every page
  options.max_memory_size = budget_windows * 2 * kPage;
  options.hard_limits = hard;
  return std::move(*TilingMemmapManager::Create(options));
}

// Python's s[begin:end] for a step of 1.
std::string PySlice(const std::string& s, int64_t begin, int64_t end) {
  const int64_t n = static_cast<int64_t>(s.size());
  auto norm = [n](int64_t i) {
    if (i < 0) i += n;
    return i < 0 ? 0 : (i > n ? n : i);
  };
  const int64_t b = norm(begin);
  const int64_t e = norm(end);
  return b >= e ? std::string()
                : s.substr(static_cast<size_t>(b), static_cast<size_t>(e - b));
}

TEST(SlidingCursorTest, IndicesAreRelativeToTheStart) {
  TestFile file = TestFile::Random("index", 6 * kPage + 11, 1);
  auto mman = TinyTiling();
  const uint64_t start = kPage + 5;
  ASSERT_OK_AND_ASSIGN(SlidingCursor c,
                       mman->MakeSlidingCursor(file.path(), start));
  EXPECT_EQ(c.ofs(), start);
  EXPECT_EQ(c.size(), file.size() - start);
  EXPECT_EQ(c.ofs_end(), file.size());
  EXPECT_EQ(c.file_size(), file.size());
  EXPECT_EQ(mman->num_open_regions(), 0u);  // nothing mapped until read
  for (uint64_t i = 0; i < c.size(); i += 97) {
    ASSERT_EQ(c[i], file.bytes()[start + i]) << i;
  }
  EXPECT_EQ(c[c.size() - 1], file.bytes().back());
  EXPECT_OK(c.status());
  EXPECT_LE(mman->num_used_regions(), 1u);
  EXPECT_LE(mman->mapped_memory_size(), 2 * kPage);
}

TEST(SlidingCursorTest, AtTakesNegativeIndices) {
  TestFile file = TestFile::Random("at", 3 * kPage, 2);
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor c,
                       mman->MakeSlidingCursor(file.path(), 10, 100));
  EXPECT_EQ(c.size(), 100u);
  EXPECT_EQ(*c.At(0), file.bytes()[10]);
  EXPECT_EQ(*c.At(99), file.bytes()[109]);
  EXPECT_EQ(*c.At(-1), file.bytes()[109]);
  EXPECT_EQ(*c.At(-100), file.bytes()[10]);
  EXPECT_THAT(c.At(100),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("Index(100) out of range for the sliding "
                                 "cursor of size(100)")));
  EXPECT_THAT(c.At(-101), StatusIs(absl::StatusCode::kOutOfRange,
                                   HasSubstr("Index(-101)")));
  EXPECT_THAT(c.At(INT64_MIN), StatusIs(absl::StatusCode::kOutOfRange));
}

TEST(SlidingCursorTest, SlicesFollowPython) {
  TestFile file = TestFile::Random("slice", 5 * kPage + 3, 3);
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(file.path()));
  const std::string all = file.Range(0, file.size());
  const int64_t n = static_cast<int64_t>(file.size());
  const int64_t p = static_cast<int64_t>(kPage);
  const std::vector<std::pair<int64_t, int64_t>> cases = {
      {0, 5},
      {-5, n},
      {5, 2},
      {-100000, 3},
      {3, 100000},
      {-3, -1},
      {0, 0},
      {n, n + 5},
      {p - 2, p + 2},
      {0, n},
      {p, 3 * p},
      {2 * p - 1, 5 * p + 1},
      {-n, -n + 1},
      {INT64_MIN, INT64_MAX},
      {INT64_MAX, INT64_MIN}};
  for (const auto& [begin, end] : cases) {
    SCOPED_TRACE(absl::StrCat("[", begin, ":", end, "]"));
    ASSERT_OK_AND_ASSIGN(Bytes bytes, c.Slice(begin, end));
    EXPECT_EQ(bytes.string_view(), PySlice(all, begin, end));
  }
  ASSERT_OK_AND_ASSIGN(Bytes tail, c.Slice(-5));
  EXPECT_EQ(tail, all.substr(all.size() - 5));
  // One region: a view, no copy. Across regions: a copy.
  ASSERT_OK_AND_ASSIGN(Bytes small, c.Slice(10, 20));
  EXPECT_FALSE(small.is_copy());
  ASSERT_OK_AND_ASSIGN(Bytes wide, c.Slice(0, 4 * p));
  EXPECT_TRUE(wide.is_copy());
  EXPECT_EQ(wide.string_view(), all.substr(0, 4 * kPage));
}

TEST(SlidingCursorTest, SliceThatOneWindowHoldsIsAView) {
  TestFile file = TestFile::Random("window-slice", 16 * kPage, 14);
  auto mman = TinyTiling();  // windows of 2 pages, one every page
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(file.path()));
  const int64_t p = static_cast<int64_t>(kPage);
  EXPECT_EQ(c[0], file.bytes()[0]);  // maps window 0, [0, 2 pages)
  // [1.2 pages, 2.2 pages) ends past window 0 but lies in window 1.
  const int64_t begin = p + p / 5;
  ASSERT_OK_AND_ASSIGN(Bytes bytes, c.Slice(begin, begin + p));
  EXPECT_FALSE(bytes.is_copy());
  EXPECT_EQ(bytes.string_view(), file.Range(kPage + kPage / 5, kPage));
  // The largest range one window holds, at any page offset, is a view.
  for (int64_t first = 0; first + p <= 16 * p; first += p / 2 + 17) {
    SCOPED_TRACE(first);
    ASSERT_OK_AND_ASSIGN(Bytes b, c.Slice(first, first + p));
    EXPECT_FALSE(b.is_copy());
    EXPECT_EQ(b.string_view(), file.Range(static_cast<uint64_t>(first), kPage));
  }
  EXPECT_EQ(mman->num_used_regions(), 1u);
}

TEST(SlidingCursorTest, SliceCopiesWhenAHardBudgetRefusesTheWindow) {
  TestFile file = TestFile::Random("slice-hard", 8 * kPage, 15);
  auto mman = TinyTiling(/*hard=*/true, /*budget_windows=*/2);
  // Regions [0, 2) and [2, 4) pages, held: the whole budget.
  ASSERT_OK_AND_ASSIGN(FixedCursor a, mman->MakeCursor(file.path(), 0, 1));
  ASSERT_OK_AND_ASSIGN(FixedCursor b,
                       mman->MakeCursor(file.path(), 2 * kPage, 1));
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(c[kPage], file.bytes()[kPage]);  // shares region [0, 2)
  // Window [1, 3) would hold [1.5, 2.5) pages but does not fit the budget:
  // the slice is copied from the two regions that are mapped.
  const int64_t p = static_cast<int64_t>(kPage);
  ASSERT_OK_AND_ASSIGN(Bytes bytes, c.Slice(p + p / 2, 2 * p + p / 2));
  EXPECT_TRUE(bytes.is_copy());
  EXPECT_EQ(bytes.string_view(), file.Range(kPage + kPage / 2, kPage));
  EXPECT_EQ(mman->num_open_regions(), 2u);
  EXPECT_EQ(mman->stats().regions_mapped, 2u);  // the refused window: none
}

TEST(SlidingCursorTest, ReadAndChunksCrossRegionBoundaries) {
  TestFile file = TestFile::Random("chunks", 7 * kPage + 100, 4);
  auto mman = TinyTiling(/*hard=*/true);
  ASSERT_OK_AND_ASSIGN(SlidingCursor c,
                       mman->MakeSlidingCursor(file.path(), 1));
  // Read a range across several regions.
  std::vector<uint8_t> dst(3 * kPage + 10);
  ASSERT_OK(c.Read(kPage - 7, absl::MakeSpan(dst)));
  EXPECT_EQ(std::string(dst.begin(), dst.end()),
            file.Range(1 + kPage - 7, dst.size()));
  // A full scan: the chunks, in order, are exactly the bytes.
  std::string scanned;
  size_t chunks = 0;
  ASSERT_OK(c.ForEachChunk(0, c.size(), [&](absl::Span<const uint8_t> chunk) {
    EXPECT_FALSE(chunk.empty());
    EXPECT_LE(chunk.size(), 2 * kPage);
    scanned.append(chunk.begin(), chunk.end());
    ++chunks;
    EXPECT_LE(mman->mapped_memory_size(), 2 * kPage);  // hard budget held
  }));
  EXPECT_EQ(scanned, file.Range(1, file.size() - 1));
  EXPECT_GE(chunks, 4u);
  // Chunk() gives the rest of the current region.
  ASSERT_OK_AND_ASSIGN(absl::Span<const uint8_t> chunk, c.Chunk(10));
  EXPECT_EQ(std::string(chunk.begin(), chunk.end()),
            file.Range(11, chunk.size()));
  // Out of range.
  EXPECT_THAT(c.Read(c.size() - 5, absl::MakeSpan(dst)),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(c.ForEachChunk(c.size(), 1, [](absl::Span<const uint8_t>) {}),
              StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(c.Chunk(c.size()), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_OK(c.ForEachChunk(c.size(), 0, [](absl::Span<const uint8_t>) {
    ADD_FAILURE() << "no chunk expected";
  }));
}

TEST(SlidingCursorTest, RangesEndingAtRegionBoundaryAndEndOfFile) {
  TestFile file = TestFile::Random("bounds", 4 * kPage, 5);
  auto mman = TinyTiling();
  // [0, 2 pages) is exactly window 0.
  ASSERT_OK_AND_ASSIGN(SlidingCursor a,
                       mman->MakeSlidingCursor(file.path(), 0, 2 * kPage));
  EXPECT_EQ(a[2 * kPage - 1], file.bytes()[2 * kPage - 1]);
  ASSERT_OK_AND_ASSIGN(absl::Span<const uint8_t> chunk, a.Chunk(0));
  EXPECT_EQ(chunk.size(), 2 * kPage);  // the cursor ends with the region
  // Ending at the end of the file.
  ASSERT_OK_AND_ASSIGN(SlidingCursor b,
                       mman->MakeSlidingCursor(file.path(), 3 * kPage));
  EXPECT_EQ(b.size(), kPage);
  ASSERT_OK_AND_ASSIGN(Bytes last, b.Slice(-1));
  EXPECT_EQ(last[0], file.bytes().back());
  // A size past the end is cut at the end (not beyond it).
  ASSERT_OK_AND_ASSIGN(SlidingCursor c,
                       mman->MakeSlidingCursor(file.path(), 100, file.size()));
  EXPECT_EQ(c.size(), file.size() - 100);
}

TEST(SlidingCursorTest, EmptyAndOneByteFiles) {
  TestFile empty("empty", {});
  TestFile one("one", {0x5a});
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor e, mman->MakeSlidingCursor(empty.path()));
  EXPECT_EQ(e.size(), 0u);
  EXPECT_THAT(e.At(0), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(e.At(-1), StatusIs(absl::StatusCode::kOutOfRange));
  ASSERT_OK_AND_ASSIGN(Bytes none, e.Slice(0));
  EXPECT_TRUE(none.empty());
  EXPECT_OK(e.Read(0, {}));
  EXPECT_THAT(e.Chunk(0), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(mman->MakeSlidingCursor(empty.path(), 1),
              StatusIs(absl::StatusCode::kOutOfRange));

  ASSERT_OK_AND_ASSIGN(SlidingCursor o, mman->MakeSlidingCursor(one.path()));
  EXPECT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0], 0x5a);
  EXPECT_EQ(*o.At(-1), 0x5a);
  ASSERT_OK_AND_ASSIGN(Bytes all, o.Slice(-10, 10));
  EXPECT_EQ(all, "\x5a");
  EXPECT_EQ(mman->num_open_regions(), 1u);
  EXPECT_EQ(mman->mapped_memory_size(), kPage);  // what the kernel maps
}

TEST(SlidingCursorTest, PinsAtMostOneRegionAndSurvivesEviction) {
  TestFile file = TestFile::Random("pins", 8 * kPage, 6);
  auto mman = TinyTiling(/*hard=*/true, /*budget_windows=*/2);
  ASSERT_OK_AND_ASSIGN(SlidingCursor a, mman->MakeSlidingCursor(file.path()));
  ASSERT_OK_AND_ASSIGN(SlidingCursor b, mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(mman->num_open_cursors(), 2u);
  for (uint64_t i = 0; i < file.size(); i += kPage / 2) {
    ASSERT_EQ(a[i], file.bytes()[i]);
    ASSERT_EQ(b[file.size() - 1 - i], file.bytes()[file.size() - 1 - i]);
    ASSERT_LE(mman->num_used_regions(), 2u);
    ASSERT_LE(mman->mapped_memory_size(), 4 * kPage);
  }
  EXPECT_OK(a.status());
  EXPECT_OK(b.status());
  mman->Collect();  // evicts what it can; both cursors keep working
  EXPECT_EQ(*a.At(0), file.bytes()[0]);
  EXPECT_EQ(*b.At(-1), file.bytes().back());
  a.ReleaseRegion();
  b.ReleaseRegion();
  EXPECT_EQ(mman->num_used_regions(), 0u);
  EXPECT_EQ(*a.At(5), file.bytes()[5]);
}

TEST(SlidingCursorTest, GreedyManagerUsesOneRegion) {
  TestFile file = TestFile::Random("greedy", 5 * kPage + 1, 7);
  GreedyMemmapManager mman;
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman.MakeSlidingCursor(file.path()));
  ASSERT_OK_AND_ASSIGN(absl::Span<const uint8_t> chunk, c.Chunk(0));
  EXPECT_EQ(chunk.size(), file.size());
  EXPECT_EQ(mman.num_open_regions(), 1u);
}

TEST(SlidingCursorTest, GreedyWindowLimitIsCheckedAtCreation) {
  TestFile file = TestFile::Random("limit", 3 * kPage, 11);
  ManagerOptions options;
  options.window_size = kPage;
  ASSERT_OK_AND_ASSIGN(auto mman, GreedyMemmapManager::Create(options));
  EXPECT_THAT(mman->MakeSlidingCursor(file.path()),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("File-size exceeds window-size limit")));
}

TEST(SlidingCursorTest, ShrunkFileGivesDataLoss) {
  TestFile file = TestFile::Random("shrink", 4 * kPage, 8);
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(c[0], file.bytes()[0]);
  c.ReleaseRegion();
  ASSERT_EQ(::truncate(file.path().c_str(), static_cast<off_t>(kPage)), 0);
  EXPECT_THAT(c.At(3 * kPage),
              StatusIs(absl::StatusCode::kDataLoss,
                       HasSubstr("File shrank to " + std::to_string(kPage) +
                                 " bytes")));
  EXPECT_EQ(c[3 * kPage + 1], 0);  // unchecked access: 0, error recorded
  EXPECT_THAT(c.status(), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(c[5], file.bytes()[5]);  // what is left still reads
}

TEST(SlidingCursorTest, MovesKeepTheWindow) {
  TestFile file = TestFile::Random("move", 3 * kPage, 9);
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor a, mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(a[10], file.bytes()[10]);
  SlidingCursor b = std::move(a);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): by contract
  EXPECT_THAT(a.At(0), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_EQ(b[11], file.bytes()[11]);
  EXPECT_EQ(mman->num_open_cursors(), 1u);
  EXPECT_EQ(mman->num_used_regions(), 1u);
  b = SlidingCursor();
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  EXPECT_EQ(mman->num_used_regions(), 0u);
}

TEST(SlidingCursorTest, KeepsReadingAfterTheManagerCloses) {
  TestFile file = TestFile::Random("closing", 6 * kPage, 12);
  const size_t baseline = CountOpenFds();
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(c[kPage], file.bytes()[kPage]);  // window [page 1, page 3)
  mman->Close();
  EXPECT_EQ(mman->num_open_files(), 0u);
  EXPECT_EQ(mman->num_open_regions(), 1u);  // the cursor's current region
  // Reading on maps the regions it needs, one at a time, and caches nothing:
  // each goes when the cursor leaves it, the descriptor at once.
  EXPECT_EQ(*c.At(5 * kPage), file.bytes()[5 * kPage]);
  EXPECT_EQ(mman->num_open_regions(), 1u);
  EXPECT_EQ(mman->num_open_files(), 0u);
  EXPECT_EQ(CountOpenFds(), baseline);
  ASSERT_OK_AND_ASSIGN(Bytes all, c.Slice(0, c.size()));
  EXPECT_EQ(all.string_view(), file.Range(0, 6 * kPage));
  EXPECT_EQ(mman->num_open_regions(), 1u);
  // New cursors are refused.
  EXPECT_THAT(mman->MakeSlidingCursor(file.path()).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("closed manager")));
  c = SlidingCursor();
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  EXPECT_EQ(CountOpenFds(), baseline);
}

TEST(SlidingCursorTest, HugeSliceAcrossRegionsIsRefusedNotAllocated) {
  const std::string path = smmap::testing::TempPath("huge");
  {
    std::vector<uint8_t> none;
    smmap::testing::WriteFile(path, none);
  }
  ASSERT_EQ(
      ::truncate(path.c_str(), static_cast<off_t>((uint64_t{1} << 30) + 10)),
      0);
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(path));
  EXPECT_THAT(c.Slice(0),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("use Read() into your own buffer")));
  ASSERT_OK_AND_ASSIGN(Bytes small, c.Slice(0, 100));
  EXPECT_EQ(small.size(), 100u);
  ::unlink(path.c_str());
}

TEST(SlidingCursorTest, UnboundCursorIsEmpty) {
  SlidingCursor c;
  EXPECT_EQ(c.size(), 0u);
  EXPECT_THAT(c.Chunk(0), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_THAT(c.At(0), StatusIs(absl::StatusCode::kOutOfRange));
  EXPECT_OK(c.Read(0, {}));
  EXPECT_OK(c.ReadGuarded(0, {}));
  EXPECT_EQ(c[0], 0);  // (REQUIRES broken on purpose: 0 and a status)
  EXPECT_FALSE(c.status().ok());
}

TEST(SlidingCursorTest, NamesItsFile) {
  TestFile file = TestFile::Random("named", 3 * kPage, 11);
  auto mman = TinyTiling();
  ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(c.path(), file.path());
  EXPECT_EQ(c.fd(), -1);
  SlidingCursor moved = std::move(c);
  EXPECT_EQ(moved.path(), file.path());
  EXPECT_EQ(c.path(), "");  // NOLINT(bugprone-use-after-move): moved from
  EXPECT_EQ(c.fd(), -1);
}

TEST(SlidingCursorTest, FromCallersDescriptor) {
  TestFile file = TestFile::Random("slidefd", 3 * kPage, 10);
  int fd = ::open(file.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  {
    auto mman = TinyTiling();
    ASSERT_OK_AND_ASSIGN(SlidingCursor c, mman->MakeSlidingCursor(fd, 1, 10));
    EXPECT_EQ(c.fd(), fd);
    ASSERT_OK_AND_ASSIGN(Bytes bytes, c.Slice(0));
    EXPECT_EQ(bytes, file.Range(1, 10));
  }
  EXPECT_NE(::fcntl(fd, F_GETFD), -1);
  ::close(fd);
}

}  // namespace
}  // namespace smmap
