// GuardedCopy and the cursors' ReadGuarded(): SIGBUS from files truncated
// while mapped becomes DataLoss, on any thread; faults outside a guarded
// copy still kill the process as before.

#include "smmap/guarded_copy.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/manager.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::testing::TestFile;
using ::testing::HasSubstr;

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));

// A mapping of a 4-page file that was then cut to 1 page and 10 bytes.
class TruncatedMapping {
 public:
  TruncatedMapping() : file_(TestFile::Random("cut", 4 * kPage, 1)) {
    const int fd = ::open(file_.path().c_str(), O_RDONLY);
    addr_ = static_cast<uint8_t*>(
        ::mmap(nullptr, 4 * kPage, PROT_READ, MAP_SHARED, fd, 0));
    ::close(fd);
    ::truncate(file_.path().c_str(), static_cast<off_t>(kPage + 10));
  }
  ~TruncatedMapping() { ::munmap(addr_, 4 * kPage); }
  absl::Span<const uint8_t> bytes() const { return {addr_, 4 * kPage}; }
  const TestFile& file() const { return file_; }

 private:
  TestFile file_;
  uint8_t* addr_;
};

TEST(GuardedCopyTest, CopiesReadableMemory) {
  std::vector<uint8_t> src = testing::RandomBytes(3 * kPage + 5, 2);
  std::vector<uint8_t> dst(src.size());
  EXPECT_OK(GuardedCopy(src, dst.data()));
  EXPECT_EQ(src, dst);
  EXPECT_OK(GuardedCopy({}, nullptr));
}

TEST(GuardedCopyTest, SigbusBecomesDataLoss) {
  TruncatedMapping mapping;
  std::vector<uint8_t> dst(4 * kPage, 0);
  size_t fault = 0;
  EXPECT_THAT(
      GuardedCopy(mapping.bytes(), dst.data(), &fault),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("SIGBUS at byte " + std::to_string(2 * kPage))));
  // The second page holds the end of the file (zeros after it); the third
  // is wholly beyond it.
  EXPECT_EQ(fault, 2 * kPage);
  EXPECT_TRUE(std::equal(dst.begin(), dst.begin() + kPage + 10,
                         mapping.file().bytes().begin()));
  // Again, from an unaligned start: the jump works every time.
  EXPECT_THAT(
      GuardedCopy(mapping.bytes().subspan(kPage + 3), dst.data(), &fault),
      StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_EQ(fault, kPage - 3);
}

TEST(GuardedCopyTest, ManyThreadsAtOnce) {
  TruncatedMapping mapping;
  std::atomic<int> data_loss{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::vector<uint8_t> dst(4 * kPage);
      for (int i = 0; i < 200; ++i) {
        if (absl::IsDataLoss(GuardedCopy(mapping.bytes(), dst.data())))
          ++data_loss;
        // Readable bytes, guarded too, on the same thread.
        EXPECT_OK(GuardedCopy(mapping.bytes().first(kPage), dst.data()));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(data_loss.load(), 800);
}

TEST(GuardedCopyDeathTest, FaultsOutsideAGuardedCopyStillKill) {
  TruncatedMapping mapping;
  std::vector<uint8_t> dst(4 * kPage);
  ASSERT_THAT(GuardedCopy(mapping.bytes(), dst.data()),
              StatusIs(absl::StatusCode::kDataLoss));  // handler installed
  EXPECT_DEATH(
      {
        volatile uint8_t byte = mapping.bytes()[3 * kPage];
        (void)byte;
      },
      "");
}

TEST(GuardedCopyTest, CursorsReadGuarded) {
  TestFile file = TestFile::Random("cursors", 6 * kPage, 3);
  ManagerOptions options;
  options.window_size = 8 * kPage;
  auto mman = std::move(*TilingMemmapManager::Create(options));
  ASSERT_OK_AND_ASSIGN(FixedCursor fixed, mman->MakeCursor(file.path(), 100));
  ASSERT_OK_AND_ASSIGN(SlidingCursor sliding,
                       mman->MakeSlidingCursor(file.path()));
  std::vector<uint8_t> dst(4 * kPage);
  ASSERT_OK(fixed.ReadGuarded(0, absl::MakeSpan(dst)));
  EXPECT_EQ(std::string(dst.begin(), dst.end()), file.Range(100, dst.size()));
  ASSERT_OK(sliding.ReadGuarded(kPage, absl::MakeSpan(dst)));
  EXPECT_EQ(std::string(dst.begin(), dst.end()), file.Range(kPage, dst.size()));

  ASSERT_EQ(::truncate(file.path().c_str(), static_cast<off_t>(2 * kPage)), 0);
  EXPECT_THAT(
      fixed.ReadGuarded(0, absl::MakeSpan(dst)),
      StatusIs(absl::StatusCode::kDataLoss,
               HasSubstr("File shrank while mapped: reading offset " +
                         std::to_string(2 * kPage) + " raised SIGBUS")));
  EXPECT_THAT(sliding.ReadGuarded(kPage, absl::MakeSpan(dst)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(file.path())));
  EXPECT_THAT(fixed.ReadGuarded(fixed.size(), absl::MakeSpan(dst)),
              StatusIs(absl::StatusCode::kOutOfRange));
  // What is still there reads fine.
  ASSERT_OK(fixed.ReadGuarded(0, absl::MakeSpan(dst).first(kPage)));
  EXPECT_EQ(std::string(dst.begin(), dst.begin() + kPage),
            file.Range(100, kPage));
}

}  // namespace
}  // namespace smmap
