// Bytes: views and copies, moves, comparisons.

#include "smmap/bytes.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace smmap {
namespace {

TEST(BytesTest, EmptyByDefault) {
  Bytes bytes;
  EXPECT_TRUE(bytes.empty());
  EXPECT_EQ(bytes.size(), 0u);
  EXPECT_FALSE(bytes.is_copy());
  EXPECT_EQ(bytes, "");
}

TEST(BytesTest, ViewDoesNotCopy) {
  const uint8_t data[] = {'a', 'b', 'c'};
  Bytes view = Bytes::View(data);
  EXPECT_EQ(view.data(), data);
  EXPECT_FALSE(view.is_copy());
  EXPECT_EQ(view, "abc");
  EXPECT_NE(view, "abd");
  EXPECT_EQ(view[1], 'b');
  EXPECT_EQ(view.span().size(), 3u);
}

TEST(BytesTest, CopyOwnsItsBytesAcrossMoves) {
  Bytes copy = Bytes::Copy({'x', 'y'});
  EXPECT_TRUE(copy.is_copy());
  const uint8_t* data = copy.data();
  Bytes moved = std::move(copy);
  EXPECT_EQ(moved.data(), data);  // the buffer did not move
  EXPECT_EQ(moved, "xy");
  Bytes assigned;
  assigned = std::move(moved);
  EXPECT_EQ(assigned.string_view(), "xy");
}

// Issue 13, item 5: a moved-from Bytes is empty, whether it was a copy or a
// view, and does not point into the buffer it gave away (reading it after
// the new owner is gone was a use-after-free under ASan).
TEST(BytesTest, MovedFromIsEmpty) {
  Bytes copy = Bytes::Copy({'x', 'y'});
  {
    Bytes moved = std::move(copy);
    EXPECT_EQ(moved, "xy");
    EXPECT_TRUE(moved.is_copy());
  }
  EXPECT_TRUE(copy.empty());  // NOLINT(bugprone-use-after-move): on purpose
  EXPECT_EQ(copy.size(), 0u);
  EXPECT_FALSE(copy.is_copy());
  EXPECT_EQ(std::string(copy.string_view()), "");

  const uint8_t data[] = {'a', 'b', 'c'};
  Bytes view = Bytes::View(data);
  Bytes moved_view = std::move(view);
  EXPECT_EQ(moved_view.data(), data);
  EXPECT_TRUE(view.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(view.data(), nullptr);
}

TEST(BytesTest, MoveAssignmentEmptiesTheSourceAndFreesTheOldBytes) {
  Bytes source = Bytes::Copy({'n', 'e', 'w'});
  const uint8_t* data = source.data();
  Bytes target = Bytes::Copy({'o', 'l', 'd'});
  {
    Bytes owner = Bytes::Copy({'t', 'm', 'p'});
    target = std::move(owner);
    source = std::move(target);  // a copy replaced by a copy
    EXPECT_EQ(source, "tmp");
  }
  EXPECT_TRUE(target.empty());  // NOLINT(bugprone-use-after-move)
  EXPECT_EQ(std::string(target.string_view()), "");
  EXPECT_EQ(std::string(source.string_view()), "tmp");
  EXPECT_NE(source.data(), data);

  const uint8_t raw[] = {'v'};
  Bytes view = Bytes::View(raw);
  source = std::move(view);  // a copy replaced by a view
  EXPECT_EQ(source.data(), raw);
  EXPECT_FALSE(source.is_copy());
  EXPECT_TRUE(view.empty());  // NOLINT(bugprone-use-after-move)
}

// Issue 13, item 5: self-move-assignment keeps the bytes (it freed the
// buffer under the view).
TEST(BytesTest, SelfMoveAssignmentKeepsTheBytes) {
  Bytes copy = Bytes::Copy({'s', 'e', 'l', 'f'});
  Bytes& alias = copy;
  copy = std::move(alias);
  EXPECT_TRUE(copy.is_copy());
  EXPECT_EQ(std::string(copy.string_view()), "self");

  const uint8_t data[] = {'v'};
  Bytes view = Bytes::View(data);
  Bytes& view_alias = view;
  view = std::move(view_alias);
  EXPECT_EQ(view.data(), data);
  EXPECT_EQ(view, "v");
}

}  // namespace
}  // namespace smmap
