// The manager lock (smmap/internal/mutex.h): exclusion, TryLock, waiters
// that outlast its spin, and the condition variable. A lost wake-up hangs a
// test until Bazel's timeout fails it; a broken exclusion loses increments
// (and is a race TSan reports).

#include "smmap/internal/mutex.h"

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "gtest/gtest.h"

namespace smmap {
namespace internal {
namespace {

// TryLock() from a thread of its own; the lock is let go of if taken.
bool TryLockElsewhere(Mutex& mu) {
  bool taken = false;
  std::thread([&mu, &taken]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    taken = mu.TryLock();
    if (taken) mu.Unlock();
  }).join();
  return taken;
}

TEST(MutexTest, TryLockFailsWhileHeld) {
  Mutex mu;
  EXPECT_TRUE(TryLockElsewhere(mu));
  mu.Lock();
  EXPECT_FALSE(TryLockElsewhere(mu));
  mu.Unlock();
  EXPECT_TRUE(TryLockElsewhere(mu));
  if (mu.TryLock()) {
    mu.Unlock();
  } else {
    ADD_FAILURE() << "TryLock() of a free lock failed";
  }
}

TEST(MutexTest, ExcludesEveryOtherHolder) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 50000;
  Mutex mu;
  int64_t counter = 0;  // plain: only the lock orders the increments
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&mu, &counter, t]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
      for (int i = 0; i < kRounds; ++i) {
        if ((i + t) % 3 == 0 && mu.TryLock()) {
          ++counter;
          mu.Unlock();
          continue;
        }
        MutexLock lock(&mu);
        ++counter;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(counter, int64_t{kThreads} * kRounds);
}

TEST(MutexTest, WaitersOutlastingTheSpinAreAllLetIn) {
  constexpr int kWaiters = 3;
  Mutex mu;
  int entered = 0;
  std::atomic<int> started{0};
  mu.Lock();
  std::vector<std::thread> threads;
  for (int t = 0; t < kWaiters; ++t) {
    threads.emplace_back([&mu, &entered, &started] {
      started.fetch_add(1);
      MutexLock lock(&mu);
      ++entered;
    });
  }
  while (started.load() < kWaiters) std::this_thread::yield();
  // Held far longer than the spin (kSpins pauses): the waiters go to sleep,
  // and each must be woken in turn. (Not a timing assertion: a lost wake-up
  // hangs the test.)
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  mu.Unlock();
  for (std::thread& t : threads) t.join();
  MutexLock lock(&mu);
  EXPECT_EQ(entered, kWaiters);
}

TEST(MutexTest, CondVarWaitReleasesTheLockAndTakesItBack) {
  Mutex mu;
  CondVar cv;
  bool waiting = false;
  bool ready = false;
  bool seen = false;
  std::thread waiter([&] {
    MutexLock lock(&mu);
    waiting = true;
    while (!ready) cv.Wait(&mu);
    seen = true;  // under the lock again
  });
  // Seeing `waiting` needs the lock, which the waiter only lets go of in
  // Wait(): if Wait() kept it, this would never return.
  for (;;) {
    MutexLock lock(&mu);
    if (waiting) {
      ready = true;
      cv.SignalAll();
      break;
    }
  }
  waiter.join();
  MutexLock lock(&mu);
  EXPECT_TRUE(seen);
}

}  // namespace
}  // namespace internal
}  // namespace smmap
