// The concurrency fuzzer's bound on pinned bytes (concurrency_fuzzer.cc),
// on its own so that its rules can be tested.
//
// Thread-safe.

#ifndef SMMAP_FUZZ_PIN_BOUND_H_
#define SMMAP_FUZZ_PIN_BOUND_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace smmap {
namespace fuzz {

// An upper bound on the bytes the cursors of all threads may have pinned at
// any moment of a call, to judge a hard-mode ResourceExhausted. A thread
// adds what a cursor may pin (one region: the window, or the whole file for
// the greedy manager, whose cursors on one file share its region) to
// `added` before asking for it, and to `released` after letting it go. The
// bytes pinned at any moment after `released` was read are at most `added`
// now minus that reading. The manager refuses a region only if, with every
// unused region evicted, the pinned bytes and the new region exceed the
// budget; a cursor's own region is counted before the call, so a refusal is
// allowed only when that bound exceeds the budget. For the greedy manager a
// cursor's region is counted by the first holder of its key only; a second
// holder may see the first one's count of holders before its bytes (the
// two are separate atomics), so a holder that did not count its region
// adds it to the bound itself (looser by one region when the first one's
// bytes were seen after all). Relaxed atomics: the
// bound needs no ordering beyond the manager's own, and they give TSan no
// happens-before edge that could hide a race in the manager.
class PinBound {
 public:
  PinBound(bool greedy, size_t num_keys)
      : greedy_(greedy), holders_(num_keys) {}

  // Whether this holder counted `bytes` (false: another holder of the
  // greedy manager's region of `key` did, or is about to).
  bool Hold(size_t key, uint64_t bytes) {
    if (!greedy_ || holders_[key].fetch_add(1, kRelaxed) == 0) {
      added_.fetch_add(bytes, kRelaxed);
      return true;
    }
    return false;
  }
  void Drop(size_t key, uint64_t bytes) {
    if (!greedy_ || holders_[key].fetch_sub(1, kRelaxed) == 1) {
      released_.fetch_add(bytes, kRelaxed);
    }
  }
  uint64_t released() const { return released_.load(kRelaxed); }
  // The most that can have been pinned since released() gave `before`.
  uint64_t PinnedSince(uint64_t before) const {
    return added_.load(kRelaxed) - before;
  }
  // The bound a refusal of a call that began when released() gave `before`
  // is judged by, for a region of `bytes` that the call's Hold() counted or
  // not.
  uint64_t RefusalBound(uint64_t before, uint64_t bytes, bool counted) const {
    return PinnedSince(before) + (counted ? 0 : bytes);
  }

 private:
  static constexpr std::memory_order kRelaxed = std::memory_order_relaxed;
  const bool greedy_;
  std::vector<std::atomic<uint64_t>> holders_;  // greedy: cursors per key
  std::atomic<uint64_t> added_{0};
  std::atomic<uint64_t> released_{0};
};

}  // namespace fuzz
}  // namespace smmap

#endif  // SMMAP_FUZZ_PIN_BOUND_H_
