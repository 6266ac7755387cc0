// Sizes on the tool's command line.

#include "tools/common/size_flags.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"

namespace smmap {
namespace tools {
namespace {

TEST(SizeFlagsTest, Parses) {
  EXPECT_EQ(*ParseSize("0"), 0u);
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("64K"), 64u << 10);
  EXPECT_EQ(*ParseSize("64k"), 64u << 10);
  EXPECT_EQ(*ParseSize("1M"), 1u << 20);
  EXPECT_EQ(*ParseSize("1MiB"), 1u << 20);
  EXPECT_EQ(*ParseSize("2G"), uint64_t{2} << 30);
  EXPECT_EQ(*ParseSize("3GB"), uint64_t{3} << 30);
  EXPECT_EQ(*ParseSize("1T"), uint64_t{1} << 40);
  EXPECT_EQ(*ParseSize("12B"), 12u);
}

TEST(SizeFlagsTest, Rejects) {
  for (const char* bad : {"", "K", "abc", "1X", "1KX", "-1", "1.5G", "8B7",
                          "9223372036854775808", "8388608T"}) {
    EXPECT_THAT(ParseSize(bad), StatusIs(absl::StatusCode::kInvalidArgument))
        << bad;
  }
}

TEST(SizeFlagsTest, Formats) {
  EXPECT_EQ(FormatSize(100), "100 B");
  EXPECT_EQ(FormatSize(1536), "1.5 KiB");
  EXPECT_EQ(FormatSize(uint64_t{1} << 30), "1 GiB");
}

}  // namespace
}  // namespace tools
}  // namespace smmap
