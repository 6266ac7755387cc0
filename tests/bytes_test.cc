// Bytes: views and copies, moves, comparisons.

#include "smmap/bytes.h"

#include <cstdint>
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

}  // namespace
}  // namespace smmap
