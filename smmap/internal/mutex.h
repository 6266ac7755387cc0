// An annotated mutex and condition variable for smmap's internal state.
//
// A thin wrapper over std::mutex carrying Abseil's thread-safety annotations,
// so that clang's -Wthread-safety checks every guarded member (the pattern of
// LevelDB's port::Mutex). smmap does not use absl::Mutex: abseil 20220623
// makes TSan report a race inside absl::Mutex itself (docs/design.md section
// 2), which would break our users' TSan gates.
//
// Thread-safe.

#ifndef SMMAP_INTERNAL_MUTEX_H_
#define SMMAP_INTERNAL_MUTEX_H_

#include <condition_variable>
#include <mutex>

#include "absl/base/thread_annotations.h"

namespace smmap {
namespace internal {

class ABSL_LOCKABLE Mutex final {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Spins before sleeping: smmap's critical sections last tens of
  // nanoseconds and never include a system call, far less than a sleep and
  // wake-up, which costs the waiter tens of microseconds on a virtual
  // machine (and the thread that wakes it a futex call).
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      CpuRelax();
    }
    mu_.lock();
  }
  // Never blocks: true if the lock was free and is now held.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    return mu_.try_lock();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Documents (to the analysis, not at run time) that the caller holds it.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  // About 20-60 us in all, by how long the CPU's pause instruction takes:
  // the order of a sleep and wake-up. (64 spins let one thread's misses put
  // another thread's hits to sleep: 12397 futex calls in a T10 run of
  // docs/performance.md, against 899, and T10 0.75-0.85x against
  // 0.84-0.89x, six alternating runs each on a 2-vCPU guest.)
  static constexpr int kSpins = 1024;

  static void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  friend class CondVar;
  std::mutex mu_;
};

// A condition variable used with Mutex (the pattern of LevelDB's
// port::CondVar). Waiting is for rare slow paths only.
class CondVar final {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  // Releases `mu`, waits for a SignalAll() (or a spurious wake-up), and
  // takes `mu` again before returning. Callers re-check their condition.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();  // still held, now by the caller again
  }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// Holds `mu` for the lifetime of the guard.
class ABSL_SCOPED_LOCKABLE MutexLock final {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  Mutex* const mu_;
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_MUTEX_H_
