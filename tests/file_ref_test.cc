// FileRef: paths and descriptors.

#include "smmap/file_ref.h"

#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace smmap {
namespace {

TEST(FileRefTest, Paths) {
  const std::string path = "/data/pack.idx";
  for (const FileRef& ref : {FileRef(path), FileRef(path.c_str()),
                             FileRef(absl::string_view(path))}) {
    EXPECT_FALSE(ref.is_fd());
    EXPECT_EQ(ref.path(), path);
    EXPECT_EQ(ref.fd(), -1);
  }
}

TEST(FileRefTest, Descriptors) {
  const FileRef zero(0);
  EXPECT_TRUE(zero.is_fd());
  EXPECT_EQ(zero.fd(), 0);
  EXPECT_EQ(zero.path(), "");
  const FileRef invalid(-1);  // kept as given; the manager rejects it
  EXPECT_TRUE(invalid.is_fd());
  EXPECT_EQ(invalid.fd(), -1);
}

}  // namespace
}  // namespace smmap
