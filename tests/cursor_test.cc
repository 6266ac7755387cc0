// FixedCursor: geometry, zero-copy buffers, release semantics, moves and
// cursors made from cursors.

#include "smmap/cursor.h"

#include <limits.h>
#include <stdlib.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/manager.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::testing::kPage;
using ::smmap::testing::Str;
using ::smmap::testing::TestFile;
using ::testing::HasSubstr;

// The start address of the process's mapping of `path` at file offset
// `offset`, from /proc/self/maps ("start-end perms offset dev inode path").
absl::StatusOr<uintptr_t> MappingAddress(const std::string& path,
                                         uint64_t offset) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) {
    return absl::NotFoundError("realpath(" + path + ")");
  }
  std::ifstream maps("/proc/self/maps");
  for (std::string line; std::getline(maps, line);) {
    std::istringstream fields(line);
    std::string range, perms, file_offset, device, inode, name;
    fields >> range >> perms >> file_offset >> device >> inode >> name;
    if (name != real || std::stoull(file_offset, nullptr, 16) != offset) {
      continue;
    }
    return static_cast<uintptr_t>(
        std::stoull(range.substr(0, range.find('-')), nullptr, 16));
  }
  return absl::NotFoundError("no mapping of " + path);
}

class CursorTest : public ::testing::Test {
 protected:
  CursorTest() : file_(TestFile::Random("cursor", 5 * kPage + 3, 42)) {
    ManagerOptions options;
    options.window_size = 2 * kPage;
    mman_ = std::move(*TilingMemmapManager::Create(options));
  }

  TestFile file_;
  std::unique_ptr<TilingMemmapManager> mman_;
};

TEST_F(CursorTest, GeometryAndBuffer) {
  ASSERT_OK_AND_ASSIGN(FixedCursor c,
                       mman_->MakeCursor(file_.path(), 100, 200));
  EXPECT_EQ(c.ofs(), 100u);
  EXPECT_EQ(c.size(), 200u);
  EXPECT_EQ(c.ofs_end(), 300u);
  EXPECT_EQ(c.file_size(), file_.size());
  EXPECT_EQ(c.path(), file_.path());
  EXPECT_EQ(c.name(), file_.path());
  EXPECT_EQ(c.fd(), -1);
  EXPECT_FALSE(c.closed());
  EXPECT_FALSE(c.IncludesOfs(99));
  EXPECT_TRUE(c.IncludesOfs(100));
  EXPECT_TRUE(c.IncludesOfs(299));
  EXPECT_FALSE(c.IncludesOfs(300));
  EXPECT_EQ(c.buffer().size(), 200u);
  EXPECT_EQ(Str(c.buffer()), file_.Range(100, 200));
  // Zero-copy: the view is the mapping of the file itself, at the cursor's
  // offset into its region (which starts at file offset 0).
  ASSERT_OK_AND_ASSIGN(uintptr_t mapping, MappingAddress(file_.path(), 0));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(c.buffer().data()), mapping + 100);
}

TEST_F(CursorTest, TwoCursorsOnOneRegionShareItsMemory) {
  // Regions start every window / 2 = one page: both requests fit the
  // region at file offset kPage.
  ASSERT_OK_AND_ASSIGN(FixedCursor a,
                       mman_->MakeCursor(file_.path(), kPage + 10, 20));
  ASSERT_OK_AND_ASSIGN(FixedCursor b,
                       mman_->MakeCursor(file_.path(), kPage + 25, 100));
  EXPECT_EQ(mman_->num_open_regions(), 1u);
  EXPECT_EQ(b.buffer().data(), a.buffer().data() + 15);
  ASSERT_OK_AND_ASSIGN(uintptr_t mapping, MappingAddress(file_.path(), kPage));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(a.buffer().data()), mapping + 10);
  EXPECT_EQ(Str(b.buffer()), file_.Range(kPage + 25, 100));
}

TEST_F(CursorTest, ReleaseIsStrictCloseIsIdempotent) {
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman_->MakeCursor(file_.path(), 7, 9));
  EXPECT_EQ(mman_->num_open_cursors(), 1u);
  EXPECT_EQ(mman_->num_used_regions(), 1u);
  EXPECT_OK(c.Release());
  EXPECT_TRUE(c.closed());
  EXPECT_TRUE(c.buffer().empty());
  EXPECT_EQ(mman_->num_open_cursors(), 0u);
  EXPECT_EQ(mman_->num_used_regions(), 0u);
  EXPECT_EQ(mman_->num_open_regions(), 1u);  // cached
  EXPECT_THAT(c.Release(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("already closed (offset 7, size 9, file: " +
                                 file_.path())));
  c.Close();
  c.Close();
  // Geometry survives closing.
  EXPECT_EQ(c.ofs(), 7u);
  EXPECT_EQ(c.size(), 9u);
  EXPECT_TRUE(c.IncludesOfs(15));

  ASSERT_OK_AND_ASSIGN(FixedCursor d, mman_->MakeCursor(file_.path()));
  d.Close();
  EXPECT_THAT(d.Release(), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(CursorTest, MovedFromCursorIsClosedAndUnbound) {
  ASSERT_OK_AND_ASSIGN(FixedCursor a, mman_->MakeCursor(file_.path(), 1, 2));
  const uint8_t* data = a.buffer().data();
  FixedCursor b = std::move(a);
  EXPECT_TRUE(a.closed());  // NOLINT(bugprone-use-after-move): by contract
  EXPECT_TRUE(a.buffer().empty());
  EXPECT_THAT(a.MakeCursor(0), StatusIs(absl::StatusCode::kFailedPrecondition,
                                        HasSubstr("bound to no manager")));
  EXPECT_THAT(a.Release(), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(b.buffer().data(), data);
  EXPECT_EQ(mman_->num_open_cursors(), 1u);

  FixedCursor c;
  EXPECT_TRUE(c.closed());
  c = std::move(b);
  EXPECT_EQ(Str(c.buffer()), file_.Range(1, 2));
  ASSERT_OK_AND_ASSIGN(c, mman_->MakeCursor(file_.path(), 3, 4));  // replaces
  EXPECT_EQ(mman_->num_open_cursors(), 1u);
  c = FixedCursor();
  EXPECT_EQ(mman_->num_open_cursors(), 0u);
}

TEST_F(CursorTest, NextCursorWalksTheFile) {
  std::string seen;
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman_->MakeCursor(file_.path(), 0, 1000));
  while (true) {
    seen += Str(c.buffer());
    absl::StatusOr<FixedCursor> next = c.NextCursor();
    if (!next.ok()) {
      EXPECT_THAT(next, StatusIs(absl::StatusCode::kOutOfRange));
      break;
    }
    c = std::move(*next);
  }
  EXPECT_EQ(seen, file_.Range(0, file_.size()));
}

TEST_F(CursorTest, NextCursorWithSizeAndFromClosedCursor) {
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman_->MakeCursor(file_.path(), 10, 5));
  c.Close();
  ASSERT_OK_AND_ASSIGN(FixedCursor n, c.NextCursor(20));
  EXPECT_EQ(n.ofs(), 15u);
  EXPECT_EQ(n.size(), 20u);
  EXPECT_EQ(Str(n.buffer()), file_.Range(15, 20));
  ASSERT_OK_AND_ASSIGN(FixedCursor rest, n.NextCursor(0));  // to region end
  EXPECT_EQ(rest.ofs(), 35u);
  EXPECT_EQ(rest.ofs_end(), 2 * kPage);
  ASSERT_OK_AND_ASSIGN(FixedCursor m, c.MakeCursor(5 * kPage));
  EXPECT_EQ(m.size(), 3u);
  EXPECT_EQ(Str(m.buffer()), file_.Range(5 * kPage, 3));
}

TEST_F(CursorTest, ManyCursorsShareOneRegion) {
  std::vector<FixedCursor> cursors;
  for (uint64_t i = 0; i < 100; ++i) {
    ASSERT_OK_AND_ASSIGN(FixedCursor c, mman_->MakeCursor(file_.path(), i, 10));
    cursors.push_back(std::move(c));
  }
  EXPECT_EQ(mman_->num_open_regions(), 1u);
  EXPECT_EQ(mman_->num_used_regions(), 1u);
  EXPECT_EQ(mman_->num_open_cursors(), 100u);
  for (uint64_t i = 0; i < 100; ++i) {
    EXPECT_EQ(cursors[i].buffer().data(), cursors[0].buffer().data() + i);
  }
  cursors.clear();
  EXPECT_EQ(mman_->num_used_regions(), 0u);
  EXPECT_EQ(mman_->num_open_regions(), 1u);
}

}  // namespace
}  // namespace smmap
