// Threads sharing one manager: mixed operations on shared files under tiny
// budgets, Close() and destruction of the manager while other threads still
// hold cursors. Every byte read is checked; descriptors and mapped bytes
// return to where they started. Meant to run under --config=tsan as well.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
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
using ::smmap::testing::Str;
using ::smmap::testing::TestFile;

constexpr int kThreads = 4;

struct StressParams {
  bool greedy;
  bool hard;
};

std::string Name(const ::testing::TestParamInfo<StressParams>& info) {
  return absl::StrCat(info.param.greedy ? "Greedy" : "Tiling",
                      info.param.hard ? "Hard" : "Soft");
}

std::vector<TestFile> MakeFiles(uint64_t seed) {
  std::vector<TestFile> files;
  files.push_back(TestFile::Random("stress", 5 * kPage + 123, seed));
  files.push_back(TestFile::Random("stress", 3 * kPage, seed + 1));
  files.push_back(TestFile::Random("stress", 7 * kPage + 1, seed + 2));
  return files;
}

std::unique_ptr<MemmapManager> MakeManager(const StressParams& p) {
  ManagerOptions options;
  options.max_open_files = 1;
  options.hard_limits = p.hard;
  if (p.greedy) {
    options.max_memory_size = 8 * kPage;  // about one whole file
    return std::move(*GreedyMemmapManager::Create(options));
  }
  options.window_size = 2 * kPage;
  options.max_memory_size = 2 * kPage;  // one region
  return std::move(*TilingMemmapManager::Create(options));
}

// OK, or the errors a thread may meet when others hold the budget (hard
// limits) or the manager was closed (FailedPrecondition only then: the
// caller passes `closed`, read after the call).
bool Acceptable(const absl::Status& status, bool hard, bool closed) {
  return status.ok() || (hard && absl::IsResourceExhausted(status)) ||
         (closed && absl::IsFailedPrecondition(status));
}

// A one-shot latch (std::latch is C++20): Wait() returns once CountDown()
// was called `count` times.
class Latch {
 public:
  explicit Latch(int count) : count_(count) {}
  void CountDown() {
    std::lock_guard<std::mutex> lock(mu_);
    if (--count_ == 0) cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return count_ <= 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int count_;
};

// One thread's random work on `mman`; returns the number of checked reads.
// If `halfway` is set, it is called after steps / 2 steps, while the thread
// still holds its cursors.
int Work(MemmapManager& mman, const std::vector<TestFile>& files, bool hard,
         uint64_t seed, int steps,
         const std::function<void(int checks)>& halfway = nullptr) {
  std::mt19937_64 rng(seed);
  auto uniform = [&rng](uint64_t lo, uint64_t hi) {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };
  std::vector<FixedCursor> held;
  std::vector<std::pair<SlidingCursor, int>> slides;
  int checks = 0;
  for (int step = 0; step < steps; ++step) {
    if (halfway && step == steps / 2) halfway(checks);
    const int f = static_cast<int>(uniform(0, files.size() - 1));
    const TestFile& file = files[f];
    const uint64_t op = uniform(0, 9);
    if (op < 4) {
      const uint64_t ofs = uniform(0, file.size() - 1);
      absl::StatusOr<FixedCursor> c =
          mman.MakeCursor(file.path(), ofs, uniform(0, 2 * kPage));
      if (mman.closed()) {
        // Closed before the call, or during it: nothing new after Close().
        EXPECT_TRUE(c.ok() || absl::IsFailedPrecondition(c.status()))
            << c.status();
      }
      EXPECT_TRUE(Acceptable(c.status(), hard, mman.closed())) << c.status();
      if (!c.ok()) continue;
      EXPECT_EQ(Str(c->buffer()), file.Range(c->ofs(), c->size()));
      ++checks;
      if (held.size() < 2) held.push_back(std::move(*c));
    } else if (op < 5 && !held.empty()) {
      FixedCursor& from = held[uniform(0, held.size() - 1)];
      absl::StatusOr<FixedCursor> next = from.NextCursor();
      if (next.ok()) {
        const std::string path(next->path());
        for (const TestFile& candidate : files) {
          if (candidate.path() == path) {
            EXPECT_EQ(Str(next->buffer()),
                      candidate.Range(next->ofs(), next->size()));
            ++checks;
          }
        }
      } else {
        EXPECT_TRUE(absl::IsOutOfRange(next.status()) ||
                    Acceptable(next.status(), hard, mman.closed()))
            << next.status();
      }
    } else if (op < 6 && !held.empty()) {
      const size_t k = uniform(0, held.size() - 1);
      if (uniform(0, 1) == 0) {
        EXPECT_OK(held[k].Release());
      }
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(k));
    } else if (op < 9) {
      if (slides.empty() || uniform(0, 3) == 0) {
        absl::StatusOr<SlidingCursor> s = mman.MakeSlidingCursor(file.path());
        EXPECT_TRUE(Acceptable(s.status(), hard, mman.closed())) << s.status();
        if (!s.ok()) continue;
        if (slides.size() >= 2) slides.erase(slides.begin());
        slides.emplace_back(std::move(*s), f);
      }
      auto& [cursor, sf] = slides[uniform(0, slides.size() - 1)];
      const TestFile& sfile = files[sf];
      const uint64_t i = uniform(0, cursor.size() - 1);
      const uint64_t len =
          uniform(0, std::min<uint64_t>(cursor.size() - i, 3 * kPage));
      std::string got;
      absl::Status status =
          cursor.ForEachChunk(i, len, [&got](absl::Span<const uint8_t> chunk) {
            got.append(chunk.begin(), chunk.end());
          });
      EXPECT_TRUE(Acceptable(status, hard, mman.closed())) << status;
      if (status.ok()) {
        EXPECT_EQ(got, sfile.Range(i, len));
        ++checks;
      }
      if (uniform(0, 4) == 0) cursor.ReleaseRegion();
    } else {
      mman.Collect();
    }
  }
  return checks;
}

class StressTest : public ::testing::TestWithParam<StressParams> {};

TEST_P(StressTest, ThreadsMixOperationsOnSharedFiles) {
  const StressParams p = GetParam();
  std::vector<TestFile> files = MakeFiles(100);
  const size_t baseline = CountOpenFds();
  std::unique_ptr<MemmapManager> mman = MakeManager(p);
  std::atomic<int> checks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      checks +=
          Work(*mman, files, p.hard, 1000 + static_cast<uint64_t>(t), 1500);
    });
  }
  for (std::thread& t : threads) t.join();
  // Under a hard budget of one region most requests meet a region held by
  // another thread (ResourceExhausted); some must still get through.
  EXPECT_GT(checks.load(), p.hard ? kThreads * 10 : kThreads * 100);
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  EXPECT_EQ(mman->num_used_regions(), 0u);
  if (p.hard) {
    EXPECT_LE(mman->stats().peak_mapped_bytes, mman->max_memory_size());
  }
  mman->Collect();
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->num_open_files(), 0u);
  EXPECT_EQ(CountOpenFds(), baseline);
}

TEST_P(StressTest, CloseWhileOtherThreadsWork) {
  const StressParams p = GetParam();
  std::vector<TestFile> files = MakeFiles(200);
  const size_t baseline = CountOpenFds();
  std::unique_ptr<MemmapManager> mman = MakeManager(p);
  // Every thread works halfway, then waits, holding its cursors, while the
  // manager is closed; then it goes on working against the closed manager.
  Latch halfway(kThreads);
  Latch closed(1);
  std::atomic<int> checks_before{0};
  std::atomic<int> checks_after{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      int before = 0;
      const int checks =
          Work(*mman, files, p.hard, 2000 + static_cast<uint64_t>(t), 800,
               [&](int checks_so_far) {
                 before = checks_so_far;
                 EXPECT_FALSE(mman->closed());
                 halfway.CountDown();
                 closed.Wait();
                 EXPECT_TRUE(mman->closed());
               });
      checks_before += before;
      checks_after += checks - before;
      EXPECT_THAT(mman->MakeCursor(files[0].path()),
                  StatusIs(absl::StatusCode::kFailedPrecondition));
      EXPECT_THAT(mman->MakeSlidingCursor(files[0].path()),
                  StatusIs(absl::StatusCode::kFailedPrecondition));
    });
  }
  halfway.Wait();
  mman->Close();
  closed.CountDown();
  for (std::thread& t : threads) t.join();
  // Work was done before the close (some of it under a hard budget of one
  // region held by other threads), and cursors held across it were still
  // read after it.
  EXPECT_GT(checks_before.load(), p.hard ? kThreads : kThreads * 50)
      << "after: " << checks_after.load();
  EXPECT_GT(checks_after.load(), 0) << "before: " << checks_before.load();
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(CountOpenFds(), baseline);
}

TEST_P(StressTest, DestroyManagerWhileOtherThreadsHoldCursors) {
  const StressParams p = GetParam();
  std::vector<TestFile> files = MakeFiles(300);
  const size_t baseline = CountOpenFds();
  std::unique_ptr<MemmapManager> mman = MakeManager(p);
  std::atomic<int> ready{0};
  std::atomic<int> fixed_made{0};
  std::atomic<int> sliding_made{0};
  std::atomic<bool> destroyed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const TestFile& file = files[static_cast<size_t>(t) % files.size()];
      // Soft limits so that every thread gets its cursors.
      absl::StatusOr<FixedCursor> fixed = mman->MakeCursor(file.path(), 7, 100);
      absl::StatusOr<SlidingCursor> sliding =
          mman->MakeSlidingCursor(file.path());
      EXPECT_TRUE(Acceptable(fixed.status(), p.hard, false)) << fixed.status();
      EXPECT_TRUE(Acceptable(sliding.status(), p.hard, false))
          << sliding.status();
      fixed_made += fixed.ok() ? 1 : 0;
      sliding_made += sliding.ok() ? 1 : 0;
      ready++;
      while (!destroyed.load()) std::this_thread::yield();
      if (fixed.ok()) {
        EXPECT_EQ(Str(fixed->buffer()), file.Range(7, 100));
        EXPECT_THAT(fixed->NextCursor(),
                    StatusIs(absl::StatusCode::kFailedPrecondition));
        EXPECT_OK(fixed->Release());
      }
      if (sliding.ok()) {
        // Still reads, mapping what it needs; a hard budget may be held by
        // the other threads' fixed cursors.
        absl::StatusOr<uint8_t> byte = sliding->At(0);
        if (byte.ok()) {
          EXPECT_EQ(*byte, file.bytes()[0]);
        } else {
          EXPECT_TRUE(p.hard && absl::IsResourceExhausted(byte.status()))
              << byte.status();
        }
      }
      // Cursors are destroyed here, after the manager: the last one frees
      // the manager's state.
    });
  }
  while (ready.load() < kThreads) std::this_thread::yield();
  mman.reset();
  destroyed = true;
  for (std::thread& t : threads) t.join();
  // Soft budgets give every thread its cursors; a hard one of one region at
  // least the first thread's.
  if (!p.hard) {
    EXPECT_EQ(fixed_made.load(), kThreads);
  }
  EXPECT_GE(fixed_made.load(), 1);
  EXPECT_EQ(sliding_made.load(), kThreads);  // a sliding cursor maps lazily
  EXPECT_EQ(CountOpenFds(), baseline);
}

TEST_P(StressTest, ReadersWhileAFileGrows) {
  // One thread writes a file a page at a time past its end while the others
  // make whole-file sliding cursors and fixed cursors reaching its end: they
  // ask the file for its new size while others load it. Every byte they
  // see is the file's, and the sizes a thread sees never go backwards.
  const StressParams p = GetParam();
  const TestFile file = TestFile::Random("grows", 8 * kPage, 400);
  ASSERT_EQ(::truncate(file.path().c_str(), 2 * kPage), 0);
  const size_t baseline = CountOpenFds();
  std::unique_ptr<MemmapManager> mman = MakeManager(p);
  std::atomic<int> reads{0};
  std::atomic<int> readers_done{0};
  std::vector<std::thread> threads;
  for (int t = 1; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(500 + static_cast<uint64_t>(t));
      uint64_t last_size = 0;
      for (int step = 0; step < 300; ++step) {
        absl::StatusOr<SlidingCursor> s = mman->MakeSlidingCursor(file.path());
        ASSERT_OK(s);
        EXPECT_GE(s->size(), last_size);
        EXPECT_LE(s->size(), file.size());
        last_size = s->size();
        const uint64_t i = rng() % s->size();
        const uint64_t len = std::min<uint64_t>(s->size() - i, kPage + 7);
        std::string got;
        absl::Status read =
            s->ForEachChunk(i, len, [&got](absl::Span<const uint8_t> chunk) {
              got.append(chunk.begin(), chunk.end());
            });
        EXPECT_TRUE(Acceptable(read, p.hard, false)) << read;
        if (read.ok()) {
          EXPECT_EQ(got, file.Range(i, len));
        }
        const uint64_t tail = std::min<uint64_t>(last_size, 100);
        absl::StatusOr<FixedCursor> c =
            mman->MakeCursor(file.path(), last_size - tail);
        EXPECT_TRUE(Acceptable(c.status(), p.hard, false)) << c.status();
        if (c.ok()) {
          EXPECT_GE(c->file_size(), last_size);
          EXPECT_EQ(Str(c->buffer()), file.Range(c->ofs(), c->size()));
        }
        ++reads;
      }
      ++readers_done;
    });
  }
  {
    const int fd = ::open(file.path().c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    for (uint64_t page = 2; page < 8; ++page) {
      // Some reads of each size (unless the readers are done).
      const int target = reads.load() + 20;
      while (reads.load() < target && readers_done.load() < kThreads - 1) {
        std::this_thread::yield();
      }
      const uint8_t* bytes = file.bytes().data() + page * kPage;
      ASSERT_EQ(::pwrite(fd, bytes, kPage, static_cast<off_t>(page * kPage)),
                static_cast<ssize_t>(kPage));
    }
    ::close(fd);
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(reads.load(), (kThreads - 1) * 300);
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  ASSERT_OK_AND_ASSIGN(SlidingCursor all, mman->MakeSlidingCursor(file.path()));
  EXPECT_EQ(all.size(), file.size());
  mman->Collect();
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(CountOpenFds(), baseline);
}

INSTANTIATE_TEST_SUITE_P(Managers, StressTest,
                         ::testing::Values(StressParams{false, false},
                                           StressParams{false, true},
                                           StressParams{true, false},
                                           StressParams{true, true}),
                         Name);

}  // namespace
}  // namespace smmap
