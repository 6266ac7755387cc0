#include "smmap/guarded_copy.h"

#include <setjmp.h>
#include <signal.h>

#include <cstdint>
#include <cstring>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace smmap {
namespace {

// What the handler needs to recognise its own faults. Lives on the copying
// thread's stack; published through a thread-local pointer.
struct GuardFrame {
  sigjmp_buf env;
  uintptr_t begin;
  uintptr_t end;
  volatile uintptr_t fault_address;
};

// Initial-exec TLS: reading it in a signal handler allocates nothing. (A
// shared library holding smmap then uses static TLS space, which glibc
// reserves a little of for dlopen.)
__attribute__((tls_model(
    "initial-exec"))) thread_local GuardFrame* g_active_frame = nullptr;

struct sigaction g_previous;

void ChainToPrevious(int sig, siginfo_t* info, void* context) {
  if (g_previous.sa_flags & SA_SIGINFO) {
    if (g_previous.sa_sigaction != nullptr) {
      g_previous.sa_sigaction(sig, info, context);
      return;
    }
  } else if (g_previous.sa_handler != SIG_DFL &&
             g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  // Default action: restore it and return; the faulting instruction runs
  // again and the default action (a core dump) happens.
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  sigaction(SIGBUS, &dfl, nullptr);
}

void OnSigbus(int sig, siginfo_t* info, void* context) {
  GuardFrame* frame = g_active_frame;
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  if (frame != nullptr && address >= frame->begin && address < frame->end) {
    frame->fault_address = address;
    siglongjmp(frame->env, 1);
  }
  ChainToPrevious(sig, info, context);
}

void InstallHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &g_previous);
  });
}

// A copy loop that calls no library function (jumping out of memcpy would
// be as safe in practice, but this needs no argument). Returns normally or
// not at all.
__attribute__((noinline)) void CopyBytes(const volatile uint8_t* src,
                                         uint8_t* dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    __builtin_memcpy(&word, const_cast<const uint8_t*>(src) + i, 8);
    __builtin_memcpy(dst + i, &word, 8);
  }
  for (; i < n; ++i) dst[i] = src[i];
}

}  // namespace

absl::Status GuardedCopy(absl::Span<const uint8_t> src, uint8_t* dst,
                         size_t* fault_offset) {
  if (src.empty()) return absl::OkStatus();
  InstallHandler();
  GuardFrame frame;
  frame.begin = reinterpret_cast<uintptr_t>(src.data());
  frame.end = frame.begin + src.size();
  frame.fault_address = 0;
  GuardFrame* const saved = g_active_frame;  // a guarded copy may nest
  // Save the signal mask: whoever calls the handler (a sanitizer's own
  // handler, another library's) may have blocked signals around it, and
  // jumping out must not leave them blocked.
  if (sigsetjmp(frame.env, /*savemask=*/1) == 0) {
    g_active_frame = &frame;
    CopyBytes(src.data(), dst, src.size());
    g_active_frame = saved;
    return absl::OkStatus();
  }
  g_active_frame = saved;
  size_t offset = static_cast<size_t>(frame.fault_address - frame.begin);
  // The word that faulted may have started before the faulting address:
  // copy what precedes it again, guarded (the file may be shrinking still).
  size_t before = 0;
  if (offset > 0 && !GuardedCopy(src.first(offset), dst, &before).ok()) {
    offset = before;
  }
  if (fault_offset != nullptr) *fault_offset = offset;
  return absl::DataLossError(absl::StrCat(
      "Reading mapped bytes raised SIGBUS at byte ", offset, " of ", src.size(),
      ": the file was truncated while mapped"));
}

}  // namespace smmap
