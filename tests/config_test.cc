// internal/config.h: options after defaults, the window grid, range checks.

#include "smmap/internal/config.h"

#include <cstdint>
#include <limits>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace internal {
namespace {

using ::smmap::testing::kPage;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = uint64_t{1} << 20;

Config Tiling(uint64_t window) {
  ManagerOptions options;
  options.window_size = window;
  absl::StatusOr<Config> config = ResolveOptions(options, /*greedy=*/false);
  EXPECT_OK(config);
  return config.ok() ? *config : Config();
}

TEST(ResolveOptionsTest, Defaults) {
  ASSERT_OK_AND_ASSIGN(Config tiling, ResolveOptions(ManagerOptions(), false));
  EXPECT_EQ(tiling.window_size, 1024 * kMiB);
  EXPECT_EQ(tiling.stride, 512 * kMiB);
  EXPECT_EQ(tiling.max_memory_size, 8192 * kMiB);
  EXPECT_GE(tiling.max_open_files, 1u);
  EXPECT_LE(tiling.max_open_files, 4096u);
  EXPECT_FALSE(tiling.hard_limits);
  ASSERT_OK_AND_ASSIGN(Config greedy, ResolveOptions(ManagerOptions(), true));
  EXPECT_TRUE(greedy.greedy);
  EXPECT_EQ(greedy.window_size, 0u);
  EXPECT_EQ(greedy.stride, 0u);
}

TEST(ResolveOptionsTest, WindowsAreRoundedToTwoPagesOrFourMiB) {
  EXPECT_EQ(Tiling(1).window_size, 2 * kPage);
  EXPECT_EQ(Tiling(1).stride, kPage);
  EXPECT_EQ(Tiling(3 * kPage).window_size, 4 * kPage);
  EXPECT_EQ(Tiling(4 * kMiB).window_size, 4 * kMiB);
  EXPECT_EQ(Tiling(5 * kMiB).window_size, 8 * kMiB);  // 2 MiB-aligned starts
  EXPECT_EQ(Tiling(5 * kMiB).stride, 4 * kMiB);
  EXPECT_EQ(Tiling(0).window_size, 0u);  // whole files
  EXPECT_EQ(Tiling(0).stride, 0u);
}

TEST(ResolveOptionsTest, RefusesWhatCouldNeverWork) {
  ManagerOptions options;
  options.window_size = (uint64_t{1} << 62) + 1;
  EXPECT_THAT(ResolveOptions(options, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("larger than 2^62")));
  options = ManagerOptions();
  options.hard_limits = true;
  options.max_memory_size = 0;
  EXPECT_THAT(ResolveOptions(options, true),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("max_memory_size(0) with hard_limits")));
  options.window_size = 4 * kPage;
  options.max_memory_size = 2 * kPage;
  EXPECT_THAT(ResolveOptions(options, false),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("smaller than window_size(" +
                                 std::to_string(4 * kPage) + ")")));
  // Greedy managers have no region length to compare with.
  EXPECT_OK(ResolveOptions(options, true));
}

TEST(GeometryTest, WindowsOverlapByHalf) {
  const Geometry g(Tiling(4 * kPage));  // stride 2 pages: a shift
  EXPECT_EQ(g.WindowIndex(0), 0u);
  EXPECT_EQ(g.WindowIndex(2 * kPage - 1), 0u);
  EXPECT_EQ(g.WindowIndex(2 * kPage), 1u);
  EXPECT_EQ(g.WindowBegin(3), 6 * kPage);
  EXPECT_EQ(g.WindowEnd(3, 100 * kPage), 10 * kPage);
  EXPECT_EQ(g.WindowEnd(3, 7 * kPage), 7 * kPage);  // cut at the end
  // Any range of up to half a window lies in the window nearest before it.
  EXPECT_TRUE(g.OneWindowHolds(2 * kPage - 1, 4 * kPage - 1));
  EXPECT_TRUE(g.OneWindowHolds(kPage, 4 * kPage));
  EXPECT_FALSE(g.OneWindowHolds(kPage, 4 * kPage + 1));
}

TEST(GeometryTest, StridesThatAreNotPowersOfTwo) {
  const Geometry g(Tiling(6 * kPage));  // stride 3 pages: a division
  EXPECT_EQ(g.WindowIndex(3 * kPage - 1), 0u);
  EXPECT_EQ(g.WindowIndex(3 * kPage), 1u);
  EXPECT_EQ(g.WindowIndex(9 * kPage + 5), 3u);
  EXPECT_EQ(g.WindowEnd(1, ~uint64_t{0}), 9 * kPage);
}

TEST(GeometryTest, WholeFiles) {
  const Geometry g(Tiling(0));
  EXPECT_EQ(g.WindowIndex(12345), 0u);
  EXPECT_EQ(g.WindowBegin(0), 0u);
  EXPECT_EQ(g.WindowEnd(0, 777), 777u);
  EXPECT_TRUE(g.OneWindowHolds(5, std::numeric_limits<uint64_t>::max()));
}

TEST(RequestEndTest, ZeroMeansToTheEndAndLongRequestsAreCut) {
  EXPECT_EQ(RequestEnd(100, 10, 0), 100u);
  EXPECT_EQ(RequestEnd(100, 10, 5), 15u);
  EXPECT_EQ(RequestEnd(100, 10, 90), 100u);
  EXPECT_EQ(RequestEnd(100, 10, 91), 100u);
}

TEST(CheckRangeTest, NamesTheArgumentAndTheFile) {
  EXPECT_OK(CheckRange(FileRef("f"), kMaxOffset, 0));
  EXPECT_THAT(CheckRange(FileRef("f"), kMaxOffset + 1, 0),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("offset(9223372036854775808) is beyond the "
                                 "largest file offset")));
  EXPECT_THAT(CheckRange(FileRef(3), 0, kMaxOffset + 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("size(9223372036854775808) is beyond the "
                                 "largest file size 2^63-1 (a negative "
                                 "number converted to uint64_t?) for file: "
                                 "fd 3")));
  EXPECT_THAT(CheckRange(FileRef("f"), kMaxOffset, 1),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("+ size(1) overflows")));
}

TEST(CheckNameTest, NamesThatDenoteNoFile) {
  EXPECT_OK(CheckName(FileRef("f")));
  EXPECT_OK(CheckName(FileRef(0)));
  EXPECT_THAT(CheckName(FileRef(-1)),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Invalid file descriptor: -1")));
  EXPECT_THAT(CheckName(FileRef("")),
              StatusIs(absl::StatusCode::kInvalidArgument, "Empty path"));
  EXPECT_THAT(CheckName(FileRef(std::string("a\0b", 3))),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("Path contains a NUL character")));
}

}  // namespace
}  // namespace internal
}  // namespace smmap
