// A fault injector for tests (smmap/internal/os.h): counts every system call
// the library makes, records the advice of every madvise(), and fails the
// calls a test scripts with the errno it chooses. Installed while it lives.
//
// Thread-safe.

#ifndef SMMAP_TESTS_SCRIPTED_FAULTS_H_
#define SMMAP_TESTS_SCRIPTED_FAULTS_H_

#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "smmap/internal/os.h"

namespace smmap {
namespace testing {

class ScriptedFaults final : public internal::os::FaultInjector {
 public:
  using Syscall = internal::os::Syscall;

  ScriptedFaults() { internal::os::SetFaultInjector(this); }
  ~ScriptedFaults() override { internal::os::SetFaultInjector(nullptr); }
  ScriptedFaults(const ScriptedFaults&) = delete;
  ScriptedFaults& operator=(const ScriptedFaults&) = delete;

  // From now on, calls number `first` to `last` of `call` (1-based,
  // counting from now) fail with `err`.
  void Fail(Syscall call, int err, int first, int last) {
    std::lock_guard<std::mutex> lock(mu_);
    const int base = calls_[call];
    for (int i = first; i <= last; ++i) script_[{call, base + i}] = err;
  }
  // The `nth` call of `call` from now fails with `err`.
  void Fail(Syscall call, int err, int nth = 1) { Fail(call, err, nth, nth); }
  int calls(Syscall call) {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[call];
  }
  // How many scripted failures were injected.
  int fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }
  // The advice of every madvise() call, in order.
  std::vector<int> advice() {
    std::lock_guard<std::mutex> lock(mu_);
    return advice_;
  }

  int BeforeMadvise(int advice) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      advice_.push_back(advice);
    }
    return BeforeCall(Syscall::kMadvise);
  }
  int BeforeCall(Syscall call) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = script_.find({call, ++calls_[call]});
    if (it == script_.end()) return 0;
    ++fired_;
    return it->second;
  }

 private:
  std::mutex mu_;
  std::map<Syscall, int> calls_;
  std::map<std::pair<Syscall, int>, int> script_;
  std::vector<int> advice_;
  int fired_ = 0;
};

}  // namespace testing
}  // namespace smmap

#endif  // SMMAP_TESTS_SCRIPTED_FAULTS_H_
