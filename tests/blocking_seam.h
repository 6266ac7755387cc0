// What the engine's seam tests share (tests/engine_concurrency_test.cc,
// tests/engine_budgets_test.cc): a fault injector that blocks one system
// call on a latch (smmap/internal/os.h), a tiling manager of small windows,
// a cursor made in another thread, and three files. Nothing here depends on
// timing: every wait is on a latch or a join.

#ifndef SMMAP_TESTS_BLOCKING_SEAM_H_
#define SMMAP_TESTS_BLOCKING_SEAM_H_

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "smmap/internal/os.h"
#include "smmap/manager.h"
#include "smmap/options.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace testing {

inline const uint64_t kWindow = 2 * kPage;  // regions start every page

// A one-shot event.
class Latch {
 public:
  void Open() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return open_; });
  }
  bool is_open() {
    std::lock_guard<std::mutex> lock(mu_);
    return open_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// Blocks the first call of one system call made after Arm(), until
// Release(); that call then fails with the given errno (0: it runs). Or,
// after ArmAfterSizeQuery(), blocks the first lseek for a size once it has
// returned, holding the size it read. Every other call runs. Also records
// the most descriptors the process had open when a manager called open().
class BlockingSeam final : public internal::os::FaultInjector {
 public:
  BlockingSeam() : baseline_fds_(CountOpenFds()) {
    internal::os::SetFaultInjector(this);
  }
  ~BlockingSeam() override {
    Release();
    internal::os::SetFaultInjector(nullptr);
  }

  void Arm(internal::os::Syscall call, int err = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = call;
    err_ = err;
  }
  void ArmAfterSizeQuery() {
    std::lock_guard<std::mutex> lock(mu_);
    armed_after_size_query_ = true;
  }
  // Waits until the armed call is blocked.
  void WaitBlocked() { blocked_.Wait(); }
  void Release() { released_.Open(); }
  // How many times `call` was made (or failed) since construction.
  int calls(internal::os::Syscall call) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[call];
  }
  // The most descriptors open beyond the baseline when open() was called.
  size_t most_fds_at_open() {
    std::lock_guard<std::mutex> lock(mu_);
    return most_fds_at_open_;
  }

  int BeforeCall(internal::os::Syscall call) override {
    bool block = false;
    int err = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++calls_[call];
      if (call == internal::os::Syscall::kOpen) {
        const size_t fds = CountOpenFds() - baseline_fds_;
        most_fds_at_open_ = std::max(most_fds_at_open_, fds);
      }
      if (armed_ && *armed_ == call) {
        armed_.reset();
        block = true;
        err = err_;
      }
    }
    if (!block) return 0;
    blocked_.Open();
    released_.Wait();
    return err;
  }

  void AfterSizeQuery() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!armed_after_size_query_) return;
      armed_after_size_query_ = false;
    }
    blocked_.Open();
    released_.Wait();
  }

 private:
  const size_t baseline_fds_;
  std::mutex mu_;
  std::optional<internal::os::Syscall> armed_;
  int err_ = 0;
  bool armed_after_size_query_ = false;
  std::map<internal::os::Syscall, int> calls_;
  size_t most_fds_at_open_ = 0;
  Latch blocked_;
  Latch released_;
};

inline std::unique_ptr<TilingMemmapManager> Tiling(
    uint64_t max_files = 8, uint64_t budget_windows = 64, bool hard = false,
    AccessAdvice advice = AccessAdvice::kNone) {
  ManagerOptions options;
  options.advice = advice;
  options.window_size = kWindow;
  options.max_memory_size = budget_windows * kWindow;
  options.max_open_files = max_files;
  options.hard_limits = hard;
  return std::move(*TilingMemmapManager::Create(options));
}

// A cursor of [offset, offset + 100) of `file`, made in another thread.
inline std::thread MakeInThread(MemmapManager& mman, const TestFile& file,
                                uint64_t offset,
                                absl::StatusOr<FixedCursor>& out,
                                std::atomic<bool>* done = nullptr) {
  return std::thread([&mman, &file, offset, &out, done] {
    out = mman.MakeCursor(file.path(), offset, 100);
    if (done != nullptr) done->store(true);
  });
}

// Three files (x_ and y_ of 8 pages, z_ of 4) and a check that a test
// leaves no descriptor open.
class EngineSeamTest : public ::testing::Test {
 protected:
  EngineSeamTest()
      : x_(TestFile::Random("x", 8 * kPage, 1)),
        y_(TestFile::Random("y", 8 * kPage, 2)),
        z_(TestFile::Random("z", 4 * kPage, 3)),
        fds_(CountOpenFds()) {}
  ~EngineSeamTest() override { EXPECT_EQ(CountOpenFds(), fds_); }

  // Maps window 0 of `file` and leaves it cached, unused.
  static void Cache(MemmapManager& mman, const TestFile& file) {
    ASSERT_OK(mman.MakeCursor(file.path(), 0, 16));
  }

  TestFile x_;
  TestFile y_;
  TestFile z_;
  const size_t fds_;
};

}  // namespace testing
}  // namespace smmap

#endif  // SMMAP_TESTS_BLOCKING_SEAM_H_
