// Managers and the files they serve: descriptors and their budget, the
// caller's descriptors, empty, growing, replaced, sparse and special files,
// and Purge() (the rest of the manager: manager_test.cc).

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/cursor.h"
#include "smmap/internal/os.h"
#include "smmap/manager.h"
#include "smmap/options.h"
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
using ::testing::HasSubstr;

TEST(FilesTest, AtMostOneDescriptorPerFileWithinBudget) {
  std::vector<TestFile> files;
  for (int i = 0; i < 4; ++i) {
    files.push_back(TestFile::Random("fd", 3 * kPage, 10 + i));
  }
  const size_t baseline = CountOpenFds();
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_open_files = 2;
  auto mman = Tiling(options);
  std::vector<FixedCursor> cursors;
  for (int round = 0; round < 3; ++round) {
    for (const TestFile& file : files) {
      ASSERT_OK_AND_ASSIGN(FixedCursor c,
                           mman->MakeCursor(file.path(), round * kPage, 10));
      EXPECT_EQ(Str(c.buffer()), file.Range(round * kPage, 10));
      cursors.push_back(std::move(c));
      EXPECT_LE(mman->num_open_files(), 2u);
      EXPECT_LE(CountOpenFds(), baseline + 2);
    }
  }
  EXPECT_GT(mman->stats().fd_evictions, 0u);
  // Regions stay readable after their file's descriptor was closed.
  for (size_t i = 0; i < cursors.size(); ++i) {
    const TestFile& file = files[i % files.size()];
    EXPECT_EQ(Str(cursors[i].buffer()), file.Range(cursors[i].ofs(), 10));
  }
  cursors.clear();
  mman->Collect();
  EXPECT_EQ(CountOpenFds(), baseline);
}

TEST(FilesTest, ZeroFileBudgetClosesRightAfterMapping) {
  TestFile file = TestFile::Random("nofd", 5 * kPage, 5);
  const size_t baseline = CountOpenFds();
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_open_files = 0;
  auto mman = Tiling(options);
  for (uint64_t ofs = 0; ofs < file.size(); ofs += 1000) {
    ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file.path(), ofs, 10));
    EXPECT_EQ(Str(c.buffer()),
              file.Range(ofs, std::min<uint64_t>(10, file.size() - ofs)));
    EXPECT_EQ(mman->num_open_files(), 0u);
    EXPECT_EQ(CountOpenFds(), baseline);
  }
}

// The caller closes a descriptor while a cursor on it is open, and its
// number then names another file: after Purge(), the manager serves the new
// file, and the old cursor still shows the old one.
void ReuseDescriptorNumber(bool immutable_files, bool keep_cursor_open) {
  TestFile old_file = TestFile::Random("reused-old", 3 * kPage, 21);
  TestFile new_file = TestFile::Random("reused-new", 2 * kPage + 5, 22);
  const size_t baseline = CountOpenFds();
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.immutable_files = immutable_files;
  auto mman = Tiling(options);
  const int fd = ::open(old_file.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_OK_AND_ASSIGN(FixedCursor old_cursor, mman->MakeCursor(fd, 0, 10));
  if (!keep_cursor_open) old_cursor.Close();  // still refers to the file
  EXPECT_EQ(mman->Purge(fd), keep_cursor_open ? 0u : 1u);
  ::close(fd);
  const int other = ::open(new_file.path().c_str(), O_RDONLY);
  ASSERT_GE(other, 0);
  if (other != fd) {  // give it the old number
    ASSERT_EQ(::dup2(other, fd), fd);
    ::close(other);
  }
  ASSERT_OK_AND_ASSIGN(FixedCursor fresh, mman->MakeCursor(fd, 0, 10));
  EXPECT_EQ(Str(fresh.buffer()), new_file.Range(0, 10));
  EXPECT_EQ(fresh.file_size(), new_file.size());
  if (keep_cursor_open) {
    EXPECT_EQ(Str(old_cursor.buffer()), old_file.Range(0, 10));
  }
  ASSERT_OK_AND_ASSIGN(FixedCursor tail, mman->MakeCursor(fd, 2 * kPage, 0));
  EXPECT_EQ(Str(tail.buffer()), new_file.Range(2 * kPage, 5));
  ::close(fd);
  fresh.Close();
  tail.Close();
  old_cursor.Close();
  mman->Collect();
  EXPECT_EQ(CountOpenFds(), baseline);
}

TEST(FilesTest, PurgeBeforeReusingADescriptorWithACursorOpen) {
  ReuseDescriptorNumber(/*immutable_files=*/false, /*keep_cursor_open=*/true);
}

TEST(FilesTest, PurgeBeforeReusingADescriptorOfImmutableFiles) {
  ReuseDescriptorNumber(/*immutable_files=*/true, /*keep_cursor_open=*/false);
  ReuseDescriptorNumber(/*immutable_files=*/true, /*keep_cursor_open=*/true);
}

TEST(FilesTest, PurgeUnmapsUnusedNowAndUsedWhenReleased) {
  TestFile file = TestFile::Random("purge", 6 * kPage, 23);
  TestFile other = TestFile::Random("purge-other", 2 * kPage, 24);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  auto mman = Tiling(options);
  ASSERT_OK(mman->MakeCursor(file.path(), 0, 10));  // window 0, cached
  ASSERT_OK(mman->MakeCursor(other.path(), 0, 10));
  ASSERT_OK_AND_ASSIGN(FixedCursor held,
                       mman->MakeCursor(file.path(), 4 * kPage, 10));
  EXPECT_EQ(mman->num_open_regions(), 3u);
  EXPECT_EQ(mman->num_open_files(), 2u);
  EXPECT_EQ(mman->Purge(file.path()), 1u);  // window 0; window 4 is used
  EXPECT_EQ(mman->num_open_regions(), 2u);
  EXPECT_EQ(mman->num_open_files(), 1u);  // other's
  EXPECT_EQ(Str(held.buffer()), file.Range(4 * kPage, 10));
  held.Close();
  EXPECT_EQ(mman->num_open_regions(), 1u);  // other's window 0
  EXPECT_EQ(mman->num_files(), 2u);         // the closed cursor refers to it
  held = FixedCursor();
  EXPECT_EQ(mman->num_files(), 1u);
  EXPECT_EQ(mman->Purge(file.path()), 0u);  // unknown now
  ASSERT_OK_AND_ASSIGN(FixedCursor again, mman->MakeCursor(file.path(), 1, 5));
  EXPECT_EQ(Str(again.buffer()), file.Range(1, 5));
  EXPECT_EQ(mman->stats().files_opened, 3u);  // file reopened
}

TEST(FilesTest, CallersDescriptorIsUsedAndNeverClosed) {
  TestFile file = TestFile::Random("callerfd", 3 * kPage, 6);
  int fd = ::open(file.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  {
    TilingMemmapManager mman;
    ASSERT_OK_AND_ASSIGN(FixedCursor c, mman.MakeCursor(fd, 100, 50));
    EXPECT_EQ(Str(c.buffer()), file.Range(100, 50));
    EXPECT_EQ(c.fd(), fd);
    EXPECT_EQ(c.path(), "");
    EXPECT_EQ(mman.num_open_files(), 0u);
    c.Close();
    mman.Collect();
    mman.Close();
  }
  EXPECT_NE(::fcntl(fd, F_GETFD), -1) << "the manager closed our descriptor";
  ::close(fd);
}

TEST(FilesTest, CallersDescriptorKeepsItsFileOffset) {
  // Each new region re-examines the file; for the caller's descriptor that
  // must not move the offset its own reads go on from (the manager's own
  // descriptors are asked their size with lseek).
  std::vector<uint8_t> bytes = RandomBytes(6 * kPage, 16);
  TestFile file("callerofs", bytes);
  const int fd = ::open(file.path().c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  char first[7];
  ASSERT_EQ(::read(fd, first, sizeof first), 7);
  {
    ManagerOptions options;
    options.window_size = kPage;
    auto mman = Tiling(options);
    for (uint64_t page : {0, 3, 5, 1}) {
      ASSERT_OK_AND_ASSIGN(FixedCursor c,
                           mman->MakeCursor(fd, page * kPage + 1, 9));
      EXPECT_EQ(Str(c.buffer()), file.Range(page * kPage + 1, 9));
    }
    file.Rewrite(RandomBytes(8 * kPage, 17));  // grown: seen by fstat
    ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(fd, 7 * kPage, 9));
    EXPECT_EQ(Str(c.buffer()), file.Range(7 * kPage, 9));
    EXPECT_GE(mman->stats().regions_mapped, 4u);  // each after a look
  }
  EXPECT_EQ(::lseek(fd, 0, SEEK_CUR), 7);
  ::close(fd);
}

TEST(FilesTest, EmptyFileGivesAnEmptyCursor) {
  TestFile file("empty", {});
  TilingMemmapManager mman;
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman.MakeCursor(file.path()));
  EXPECT_FALSE(c.closed());
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.file_size(), 0u);
  EXPECT_TRUE(c.buffer().empty());
  EXPECT_EQ(mman.num_open_regions(), 0u);
  EXPECT_EQ(mman.num_open_cursors(), 1u);
  EXPECT_THAT(mman.MakeCursor(file.path(), 1),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("Offset(1) beyond file-size(0)")));
  EXPECT_OK(c.Release());
  EXPECT_EQ(mman.num_open_cursors(), 0u);
  // Nothing follows: a loop over NextCursor() ends on an empty file too.
  EXPECT_THAT(c.NextCursor(), StatusIs(absl::StatusCode::kOutOfRange,
                                       HasSubstr("beyond file-size(0)")));
}

// Found by the reference model (tests/model_driver.h): a file that shrank
// to nothing gave OutOfRange for offset 0 once the manager saw it while
// mapping, though a file empty from the start gives the empty cursor.
TEST(FilesTest, FileTruncatedToEmptyGivesAnEmptyCursor) {
  TestFile file = TestFile::Random("emptied", 3 * kPage, 21);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = 2 * kPage;  // one window
  auto mman = Tiling(options);
  ASSERT_OK(mman->MakeCursor(file.path(), 0, 10));          // window 0
  ASSERT_OK(mman->MakeCursor(file.path(), 2 * kPage, 10));  // evicts it
  ASSERT_EQ(::truncate(file.path().c_str(), 0), 0);
  // The manager still knows 3 pages; about to map window 0, it sees the
  // file empty.
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file.path(), 0, 10));
  EXPECT_EQ(c.size(), 0u);
  EXPECT_EQ(c.file_size(), 0u);
  EXPECT_EQ(mman->num_open_regions(), 0u);  // window 1 went with the bytes
  EXPECT_EQ(mman->stats().cursor_misses, 2u);
  EXPECT_THAT(mman->MakeCursor(file.path(), 1),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("beyond file-size(0)")));
}

TEST(FilesTest, GrowthIsNoticedWhenMapping) {
  std::vector<uint8_t> bytes = RandomBytes(kPage + 100, 7);
  TestFile file("grow", bytes);
  for (bool greedy : {false, true}) {
    SCOPED_TRACE(greedy ? "greedy" : "tiling");
    file.Rewrite(bytes);
    std::unique_ptr<MemmapManager> mman;
    if (greedy) {
      mman = std::make_unique<GreedyMemmapManager>();
    } else {
      ManagerOptions options;
      options.window_size = 4 * kPage;
      mman = Tiling(options);
    }
    ASSERT_OK_AND_ASSIGN(FixedCursor before, mman->MakeCursor(file.path()));
    EXPECT_EQ(before.size(), bytes.size());
    std::vector<uint8_t> grown = RandomBytes(3 * kPage, 8);
    file.Rewrite(grown);
    ASSERT_OK_AND_ASSIGN(FixedCursor after,
                         mman->MakeCursor(file.path(), 2 * kPage, 50));
    EXPECT_EQ(after.file_size(), grown.size());
    EXPECT_EQ(Str(after.buffer()), file.Range(2 * kPage, 50));
    // A request inside the old size but beyond the old region's end.
    ASSERT_OK_AND_ASSIGN(FixedCursor whole, mman->MakeCursor(file.path()));
    EXPECT_EQ(whole.ofs_end(), grown.size());
  }
}

TEST(FilesTest, GrowthIsNoticedByRequestsReachingTheEndEvenWhenCached) {
  std::vector<uint8_t> bytes = RandomBytes(kPage + 100, 17);
  TestFile file("grow-cached", bytes);
  GreedyMemmapManager greedy;
  ManagerOptions options;
  options.window_size = 8 * kPage;
  auto tiling = Tiling(options);
  for (MemmapManager* mman : {static_cast<MemmapManager*>(&greedy),
                              static_cast<MemmapManager*>(tiling.get())}) {
    file.Rewrite(bytes);
    mman->Collect();
    ASSERT_OK(mman->MakeCursor(file.path()));  // cached: the whole old file
    std::vector<uint8_t> grown = RandomBytes(3 * kPage, 18);
    file.Rewrite(grown);
    // "As much as possible" and "to the end of the file" see the new end,
    // although the old region is still cached.
    absl::StatusOr<FixedCursor> whole;
    {
      ScriptedFaults faults;  // counts the calls
      whole = mman->MakeCursor(file.path());
      // One lseek for the new size, one mmap for the region it needs.
      EXPECT_EQ(faults.calls(Syscall::kLseek), 1);
      EXPECT_EQ(faults.calls(Syscall::kMmap), 1);
    }
    ASSERT_OK(whole);
    EXPECT_EQ(whole->file_size(), grown.size());
    EXPECT_EQ(whole->ofs_end(), grown.size());
    ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(file.path()));
    EXPECT_EQ(s.size(), grown.size());
    EXPECT_EQ(*s.At(-1), grown.back());
  }
}

TEST(FilesTest, ImmutableFilesAreNotReexaminedInsideTheKnownSize) {
  TestFile file = TestFile::Random("immutable", 4 * kPage, 19);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.immutable_files = true;
  auto mman = Tiling(options);
  ASSERT_OK(mman->MakeCursor(file.path(), 0, 1));
  ASSERT_EQ(::truncate(file.path().c_str(), static_cast<off_t>(kPage)), 0);
  // Inside the size known: not re-examined (the caller promised).
  ASSERT_OK_AND_ASSIGN(FixedCursor c,
                       mman->MakeCursor(file.path(), 3 * kPage, 1));
  EXPECT_EQ(c.file_size(), 4 * kPage);
  // Beyond it: re-examined.
  EXPECT_THAT(mman->MakeCursor(file.path(), 4 * kPage),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("beyond file-size(" + std::to_string(kPage))));
}

TEST(FilesTest, DevicesAreNotOpened) {
  TilingMemmapManager mman;
  EXPECT_THAT(
      mman.MakeCursor("/dev/null"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               HasSubstr("Not a regular file (character device): /dev/null")));
  EXPECT_EQ(mman.stats().files_opened, 0u);
  const char* null_path = nullptr;
  EXPECT_THAT(
      mman.MakeCursor(null_path),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("Empty path")));
}

// A file deleted and created anew often gets the same inode number (ext4
// reuses freed inodes at once): its birth time still tells the two apart,
// so a sliding cursor never mixes them. Skipped where the file system gives
// the new file another number (nothing to tell apart then) or no birth time.
TEST(FilesTest, ReusedInodeNumberIsAnotherFile) {
  const std::string path = TempPath("reused-inode");
  const std::vector<uint8_t> old_bytes = RandomBytes(8 * kPage, 31);
  smmap::testing::WriteFile(path, old_bytes);
  struct stat before;
  ASSERT_EQ(::stat(path.c_str(), &before), 0);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(SlidingCursor s, mman->MakeSlidingCursor(path));
  ASSERT_OK_AND_ASSIGN(uint8_t first, s.At(0));
  EXPECT_EQ(first, old_bytes[0]);
  s.ReleaseRegion();
  mman->Collect();  // nothing of the old file stays mapped or open
  ASSERT_EQ(::unlink(path.c_str()), 0);
  smmap::testing::WriteFile(path, RandomBytes(8 * kPage, 32));
  struct stat after;
  ASSERT_EQ(::stat(path.c_str(), &after), 0);
  if (after.st_ino != before.st_ino || after.st_dev != before.st_dev) {
    ::unlink(path.c_str());
    GTEST_SKIP() << "the new file got another inode number";
  }
  struct statx stx;
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_BTIME, &stx) != 0 ||
      (stx.stx_mask & STATX_BTIME) == 0) {
    ::unlink(path.c_str());
    GTEST_SKIP() << "no birth time on this file system";
  }
  EXPECT_THAT(s.At(5 * kPage).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("the number reused by a new file")));
  ::unlink(path.c_str());
}

TEST(FilesTest, ReplacedFileIsSeenWhenReopened) {
  TestFile file = TestFile::Random("replace", 4 * kPage, 9);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_open_files = 0;  // every new region reopens the path
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(FixedCursor old_cursor, mman->MakeCursor(file.path()));
  ASSERT_OK_AND_ASSIGN(SlidingCursor sliding,
                       mman->MakeSlidingCursor(file.path()));
  ASSERT_OK(sliding.At(0));

  const std::string tmp = TempPath("replacement");
  std::vector<uint8_t> fresh = RandomBytes(4 * kPage, 10);
  smmap::testing::WriteFile(tmp, fresh);
  ASSERT_EQ(::rename(tmp.c_str(), file.path().c_str()), 0);

  ASSERT_OK_AND_ASSIGN(FixedCursor new_cursor,
                       mman->MakeCursor(file.path(), 3 * kPage, 10));
  EXPECT_EQ(
      Str(new_cursor.buffer()),
      std::string(fresh.begin() + 3 * kPage, fresh.begin() + 3 * kPage + 10));
  // The old cursor still shows the file it was made from.
  EXPECT_EQ(old_cursor.buffer()[5], file.bytes()[5]);
  // A sliding cursor belongs to its file: it will not mix in the new one.
  EXPECT_THAT(sliding.At(3 * kPage),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("File was replaced")));
  // Cursors made from the old one look the path up again.
  ASSERT_OK_AND_ASSIGN(FixedCursor derived,
                       old_cursor.MakeCursor(3 * kPage, 10));
  EXPECT_EQ(Str(derived.buffer()), Str(new_cursor.buffer()));
}

// Found by the reference model: the descriptor a sliding cursor opens to
// look at its path, and closes because the path names another file now,
// was in neither files_opened nor files_closed.
TEST(FilesTest, DescriptorOpenedToLookAtAReplacedPathIsCounted) {
  TestFile file = TestFile::Random("lookedat", 4 * kPage, 22);
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_open_files = 0;  // every load reopens the path
  auto mman = Tiling(options);
  ASSERT_OK_AND_ASSIGN(SlidingCursor sliding,
                       mman->MakeSlidingCursor(file.path()));
  ASSERT_OK(sliding.At(0));
  const ManagerStats before = mman->stats();
  const std::string tmp = TempPath("lookedat-new");
  smmap::testing::WriteFile(tmp, RandomBytes(4 * kPage, 23));
  ASSERT_EQ(::rename(tmp.c_str(), file.path().c_str()), 0);
  EXPECT_THAT(sliding.At(3 * kPage),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  const ManagerStats after = mman->stats();
  EXPECT_EQ(after.files_opened - before.files_opened, 1u);
  EXPECT_EQ(after.files_closed - before.files_closed, 1u);
  EXPECT_EQ(mman->num_open_files(), 0u);
}

TEST(FilesTest, SparseFileBeyond4GiB) {
  const std::string path = TempPath("sparse");
  const uint64_t size = (uint64_t{5} << 30) + 123;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  const uint64_t mark = (uint64_t{4} << 30) + 4090;  // spans 4 GiB + a page
  const std::string text = "beyond four gibibytes";
  ASSERT_EQ(::pwrite(fd, text.data(), text.size(), static_cast<off_t>(mark)),
            static_cast<ssize_t>(text.size()));
  ::close(fd);
  {
    TilingMemmapManager tiling;
    ASSERT_OK_AND_ASSIGN(FixedCursor c,
                         tiling.MakeCursor(path, mark, text.size()));
    EXPECT_EQ(Str(c.buffer()), text);
    EXPECT_EQ(c.file_size(), size);
    ASSERT_OK_AND_ASSIGN(FixedCursor last, tiling.MakeCursor(path, size - 1));
    EXPECT_EQ(last.size(), 1u);
    EXPECT_EQ(last.buffer()[0], 0);
    EXPECT_THAT(tiling.MakeCursor(path, size),
                StatusIs(absl::StatusCode::kOutOfRange,
                         HasSubstr("Offset(5368709243) beyond "
                                   "file-size(5368709243)")));
    ASSERT_OK_AND_ASSIGN(SlidingCursor s, tiling.MakeSlidingCursor(path));
    ASSERT_OK_AND_ASSIGN(Bytes bytes,
                         s.Slice(static_cast<int64_t>(mark),
                                 static_cast<int64_t>(mark + text.size())));
    EXPECT_EQ(bytes, text);
  }
  {
    GreedyMemmapManager greedy;
    ASSERT_OK_AND_ASSIGN(FixedCursor c,
                         greedy.MakeCursor(path, mark, text.size()));
    EXPECT_EQ(Str(c.buffer()), text);
  }
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace smmap
