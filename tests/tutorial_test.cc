// The usage guide of the Python smmap library, step by step, in C++ (see
// docs/design.md).
//
// Each block quotes the guide's step (its prose, in "...") and the doctest
// lines (>>>) it ports.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/smmap.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::testing::TestFile;
using ::testing::HasSubstr;

// "Memory Manager": a tiling manager, its observers, and closing it.
TEST(TutorialTest, MemoryManager) {
  // "The *tiling* memory manager therefore should be the default manager
  // when preparing an application for handling huge amounts of data"
  // >>> mman = smmap.TilingMemmapManager()
  TilingMemmapManager mman;

  // "The manager provides much useful information about its current state
  // like the amount of open file handles or the amount of mapped memory"
  // >>> mman.num_open_regions ... mapped_memory_size   -> all 0
  EXPECT_EQ(mman.num_open_regions(), 0u);
  EXPECT_EQ(mman.num_used_regions(), 0u);
  EXPECT_EQ(mman.num_open_cursors(), 0u);
  EXPECT_EQ(mman.mapped_memory_size(), 0u);

  // "You have to **remember always to close it at the end**"
  // >>> mman.close()
  mman.Close();
  EXPECT_TRUE(mman.closed());
}

// "Cursors": fixed cursors on the guide's 20-byte sample file.
TEST(TutorialTest, Cursors) {
  // "Let's make a sample file full of zeros"
  // >>> fc = FileCreator(20, "test_file", final_byte=b'\xee')
  TestFile fc = TestFile::Zeros("test_file", 20, 0xee);

  // "and asked as much data as possible starting, from offset 0"
  // >>> mman = smmap.TilingMemmapManager()
  // >>> c = mman.make_cursor(fc.path)
  TilingMemmapManager mman;
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman.MakeCursor(fc.path()));
  EXPECT_EQ(c.ofs(), 0u);
  EXPECT_EQ(c.size(), fc.size());

  // "you must explicitly call c.close() or the more "strict" c.release()
  // (only once invocation allowed)"
  // >>> c.release()
  // >>> assert c.closed
  EXPECT_OK(c.Release());
  EXPECT_TRUE(c.closed());

  // "But it is safer to include their access within a with ...: blocks"
  // >>> with mman.make_cursor(fc.path) as c: ...
  {
    ASSERT_OK_AND_ASSIGN(FixedCursor scoped, mman.MakeCursor(fc.path()));
    EXPECT_FALSE(scoped.closed());
    EXPECT_EQ(scoped.size(), fc.size());
    absl::Span<const uint8_t> data = scoped.buffer();
    EXPECT_EQ(data[0], 0);
    // >>> assert data[-1] == data[c.size - 1]   # the final byte, b'\xee'
    ASSERT_EQ(data.size(), 20u);
    EXPECT_EQ(data.back(), 0xee);
    EXPECT_EQ(data[scoped.size() - 1], 0xee);
    c = std::move(scoped);  // keep it, to look at it once closed
    EXPECT_TRUE(scoped.closed());
    c.Close();
  }
  // >>> assert c.closed   # Cursor closed automatically.
  EXPECT_TRUE(c.closed());

  // "Notice that you cannot interrogate the data from a "closed" cursor"
  // >>> c.buffer()[0]  -> error: a closed cursor shows no data.
  EXPECT_TRUE(c.buffer().empty());

  // "You can still query absolute offsets, and check whether an offset is
  // included in the cursor's data"
  // >>> assert c.ofs < c.ofs_end
  // >>> assert c.includes_ofs(19)
  // >>> assert not c.includes_ofs(20)
  EXPECT_LT(c.ofs(), c.ofs_end());
  EXPECT_TRUE(c.IncludesOfs(19));
  EXPECT_FALSE(c.IncludesOfs(20));

  // "If you ask for a cursor beyond the file-size (20 in this example), it
  // will fail"
  // >>> c.make_cursor(offset=21)
  // ValueError: Offset(21) beyond file-size(20) for file: ...
  EXPECT_THAT(c.MakeCursor(21),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("Offset(21) beyond file-size(20) for file: " +
                                 fc.path())));

  // "either give the buffer directly, or [...] use python's buffer command"
  // >>> buffer(c.buffer(), 1, 9)   # first 9 bytes without copying them
  ASSERT_OK_AND_ASSIGN(FixedCursor whole, c.MakeCursor(0));
  absl::Span<const uint8_t> nine = whole.buffer().subspan(1, 9);
  EXPECT_EQ(nine.size(), 9u);
  EXPECT_EQ(nine.data(), whole.buffer().data() + 1);  // no copy
  whole.Close();

  // "Once a cursor has been closed, you may still obtain a new cursor bound
  // on another region of the file with c.make_cursor() or c.next_cursor()"
  // >>> with c.make_cursor(10, 5) as c2:
  // ...     assert data[0:5] == b'\x00\x00\x00\x00\x00'
  FixedCursor c2;
  {
    ASSERT_OK_AND_ASSIGN(c2, c.MakeCursor(10, 5));
    EXPECT_EQ(std::string(c2.buffer().begin(), c2.buffer().end()),
              std::string(5, '\0'));
    c2.Close();
  }
  // >>> with c2.next_cursor() as c3:
  // ...     assert c3.ofs == 15
  // ...     assert c3.buffer()[0:5] == b'\x00\x00\x00\x00\xee'
  {
    ASSERT_OK_AND_ASSIGN(FixedCursor c3, c2.NextCursor());
    EXPECT_EQ(c3.ofs(), 15u);
    EXPECT_EQ(std::string(c3.buffer().begin(), c3.buffer().end()),
              std::string("\0\0\0\0\xee", 5));
  }

  // "Remember to close the memory-manager ans delete the sample-file"
  // >>> mman.close(); del fc
  mman.Close();
  EXPECT_EQ(mman.num_open_regions(), 0u);
}

// "Sliding cursors": "the *sliding-cursor* uses multiple regions
// internally. That way you can access all data in a possibly huge file."
TEST(TutorialTest, SlidingCursors) {
  TestFile fc = TestFile::Zeros("test_file", 20, 0xee);

  // >>> with smmap.TilingMemmapManager() as mman:
  // ...     c = mman.make_cursor(fc.path, sliding=True)
  // ...     assert not c.closed        # Born open ...
  // ...     assert c.size == fc.size   # till the end of the file ...
  // >>> assert not c.closed            # stays open...
  // >>> c.close()                      # and ...
  // >>> assert not c.closed            # never closes.
  SlidingCursor c;
  {
    TilingMemmapManager mman;
    ASSERT_OK_AND_ASSIGN(c, mman.MakeSlidingCursor(fc.path()));
    EXPECT_FALSE(c.closed());
    EXPECT_EQ(c.size(), fc.size());
  }
  EXPECT_FALSE(c.closed());
  c.Close();
  EXPECT_FALSE(c.closed());

  // >>> with smmap.TilingMemmapManager() as mman:
  // ...     c = mman.make_cursor(fc.path, sliding=True)
  // ...     assert c[0] == 0
  // ...     assert c[-1] == ord(b'\xee')
  // ...     assert c[-5:] == b'\x00\x00\x00\x00\xee'
  {
    TilingMemmapManager mman;
    ASSERT_OK_AND_ASSIGN(c, mman.MakeSlidingCursor(fc.path()));
    EXPECT_EQ(c[0], 0);
    EXPECT_THAT(c.At(-1), IsOk());
    EXPECT_EQ(*c.At(-1), 0xee);
    ASSERT_OK_AND_ASSIGN(Bytes tail, c.Slice(-5));
    EXPECT_EQ(tail, absl::string_view("\0\0\0\0\xee", 5));
    EXPECT_OK(c.status());
  }
}

// The guide's tip: managers are context managers, "to be used within a
// with ...: block, ensuring any left-overs cursors are cleaned up". In C++
// the scope's end closes the manager, even with cursors left open.
TEST(TutorialTest, ManagerScopeCleansUpLeftOverCursors) {
  TestFile fc = TestFile::Zeros("test_file", 20, 0xee);
  FixedCursor left_over;
  {
    GreedyMemmapManager mman;
    ASSERT_OK_AND_ASSIGN(left_over, mman.MakeCursor(fc.path(), 5));
  }
  // The manager is gone; the cursor still reads its bytes.
  EXPECT_EQ(left_over.buffer().back(), 0xee);
  EXPECT_EQ(left_over.size(), 15u);
  EXPECT_OK(left_over.Release());
}

}  // namespace
}  // namespace smmap
