// An annotated mutex for smmap's internal state.
//
// A thin wrapper over std::mutex carrying Abseil's thread-safety annotations,
// so that clang's -Wthread-safety checks every guarded member (the pattern of
// LevelDB's port::Mutex). smmap does not use absl::Mutex: abseil 20220623
// makes TSan report a race inside absl::Mutex itself (DESIGN.md section 2),
// which would break our users' TSan gates.
//
// Thread-safe.

#ifndef SMMAP_INTERNAL_MUTEX_H_
#define SMMAP_INTERNAL_MUTEX_H_

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace smmap {
namespace internal {

class ABSL_LOCKABLE Mutex final {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  // Spins briefly before sleeping: smmap's critical sections last tens of
  // nanoseconds, far less than a futex sleep and wake-up.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      CpuRelax();
    }
    mu_.lock();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }
  // Documents (to the analysis, not at run time) that the caller holds it.
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  static constexpr int kSpins = 64;

  static void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  std::mutex mu_;
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
