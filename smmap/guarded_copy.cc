#include "smmap/guarded_copy.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <mutex>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMMAP_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define SMMAP_TSAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) && !defined(SMMAP_ASAN)
#define SMMAP_ASAN 1
#endif

#if defined(SMMAP_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(SMMAP_TSAN)
extern "C" void __tsan_read_range(void* addr, unsigned long size);
extern "C" void __tsan_write_range(void* addr, unsigned long size);
#endif

namespace smmap {
namespace {

// SIGBUS's disposition before smmap's handler: saved before the handler is
// installed, never written afterwards.
struct sigaction g_previous;
// Set once a previous SA_RESETHAND handler has run: from then on the
// previous disposition is the default one, as the kernel would have made it.
std::atomic<bool> g_previous_spent{false};
static_assert(std::atomic<bool>::is_always_lock_free,
              "read in a signal handler");

bool HasFlag(const struct sigaction& action, unsigned flag) {
  return (static_cast<unsigned>(action.sa_flags) & flag) != 0;
}

// Terminates the process as SIGBUS's default action does (core dump),
// from inside the handler: restores the default, unblocks SIGBUS (the
// handler may run with it blocked) and raises it again.
void RaiseUnderDefault(int sig) {
  struct sigaction dfl;
  std::memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  sigset_t unblock;
  sigemptyset(&unblock);
  sigaddset(&unblock, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &unblock, nullptr);
  ::raise(sig);
}

// A SIGBUS that is not smmap's: does what the previous disposition would
// have done. All of it is async-signal-safe.
void ActAsPrevious(int sig, siginfo_t* info, void* context) {
  // A fault (si_code > 0) cannot be ignored: the kernel kills the process
  // for one under SIG_IGN. A sent signal (kill, raise, ...) can.
  const bool fault = info != nullptr && info->si_code > 0;
  const struct sigaction& previous = g_previous;
  if (previous.sa_handler == SIG_IGN) {
    if (!fault) return;
    RaiseUnderDefault(sig);
    return;
  }
  if (previous.sa_handler == SIG_DFL ||
      (HasFlag(previous, SA_RESETHAND) &&
       g_previous_spent.exchange(true, std::memory_order_relaxed))) {
    // Raised again rather than returning to run a faulting instruction
    // again: if the fault did not recur, the process would go on with the
    // default disposition, unguarded.
    RaiseUnderDefault(sig);
    return;
  }
  // The previous handler, run as the kernel would have run it: with its
  // sa_mask blocked, and the signal too unless SA_NODEFER.
  sigset_t block = previous.sa_mask;
  if (!HasFlag(previous, SA_NODEFER)) sigaddset(&block, sig);
  sigset_t saved;
  ::pthread_sigmask(SIG_BLOCK, &block, &saved);
  if (HasFlag(previous, SA_SIGINFO)) {
    previous.sa_sigaction(sig, info, context);
  } else {
    previous.sa_handler(sig);
  }
  ::pthread_sigmask(SIG_SETMASK, &saved, nullptr);
}

void ChainToPrevious(int sig, siginfo_t* info, void* context) {
  const int saved_errno = errno;  // for the interrupted code
  ActAsPrevious(sig, info, context);
  errno = saved_errno;
}

#if defined(__x86_64__)

// x86-64: the copy is one `rep movsb`, which the CPU restarts byte-exactly:
// when a byte cannot be read, the instruction faults with %rcx holding the
// bytes left. The handler recognises the instruction by its address and
// resumes at a fix-up that returns how many bytes were copied (the method
// of the kernel's exception tables). No stack is unwound, so sanitizers and
// unwinders see an ordinary return.
extern "C" size_t SmmapCopyBytes(uint8_t* dst, const uint8_t* src, size_t n);
extern "C" const char smmap_copy_bytes_fault[];
extern "C" const char smmap_copy_bytes_fixup[];
asm(R"(
    .text
    .p2align 4
    .globl SmmapCopyBytes
    .hidden SmmapCopyBytes
    .type SmmapCopyBytes, @function
SmmapCopyBytes:
    movq %rdx, %rcx
    .globl smmap_copy_bytes_fault
    .hidden smmap_copy_bytes_fault
smmap_copy_bytes_fault:
    rep movsb
    movq %rdx, %rax
    ret
    .globl smmap_copy_bytes_fixup
    .hidden smmap_copy_bytes_fixup
smmap_copy_bytes_fixup:
    movq %rdx, %rax
    subq %rcx, %rax
    ret
    .size SmmapCopyBytes, .-SmmapCopyBytes
)");

void OnSigbus(int sig, siginfo_t* info, void* context) {
  auto* uc = static_cast<ucontext_t*>(context);
  greg_t* regs = uc->uc_mcontext.gregs;
  // Ours only if it is a real fault (si_code > 0; kill(), raise() and the
  // like give si_code <= 0) of the guarded instruction on its source range.
  // At the fault %rsi points at the next source byte, %rcx counts the bytes
  // left and %rdx the bytes asked for.
  if (info->si_code > 0 &&
      regs[REG_RIP] == reinterpret_cast<greg_t>(smmap_copy_bytes_fault)) {
    const auto next = static_cast<uintptr_t>(regs[REG_RSI]);
    const auto left = static_cast<uintptr_t>(regs[REG_RCX]);
    const auto total = static_cast<uintptr_t>(regs[REG_RDX]);
    const uintptr_t begin = next - (total - left);
    const auto address = reinterpret_cast<uintptr_t>(info->si_addr);
    if (address >= begin && address - begin < total) {
      regs[REG_RIP] = reinterpret_cast<greg_t>(smmap_copy_bytes_fixup);
      return;
    }
  }
  ChainToPrevious(sig, info, context);
}

// The bytes copied before a fault, or n.
size_t CopyWithFixup(const uint8_t* src, uint8_t* dst, size_t n) {
  return SmmapCopyBytes(dst, src, n);
}

#else  // Elsewhere: a recovery point per copy, and siglongjmp.

struct GuardFrame {
  sigjmp_buf env;
  uintptr_t begin;
  uintptr_t end;
  volatile uintptr_t fault_address;
};

// Initial-exec TLS: reading it in a signal handler allocates nothing.
__attribute__((tls_model(
    "initial-exec"))) thread_local GuardFrame* g_active_frame = nullptr;

void OnSigbus(int sig, siginfo_t* info, void* context) {
  GuardFrame* frame = g_active_frame;
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  if (frame != nullptr && info->si_code > 0 && address >= frame->begin &&
      address < frame->end) {
    frame->fault_address = address;
    siglongjmp(frame->env, 1);
  }
  ChainToPrevious(sig, info, context);
}

__attribute__((noinline)) void CopyBytes(const volatile uint8_t* src,
                                         uint8_t* dst, size_t n) {
  for (size_t i = 0; i < n; ++i) dst[i] = src[i];
}

size_t CopyWithFixup(const uint8_t* src, uint8_t* dst, size_t n) {
  GuardFrame frame;
  frame.begin = reinterpret_cast<uintptr_t>(src);
  frame.end = frame.begin + n;
  frame.fault_address = 0;
  GuardFrame* const saved = g_active_frame;
  // The mask is saved: whoever calls the handler may block signals around
  // it, and jumping out must not leave them blocked.
  if (sigsetjmp(frame.env, /*savemask=*/1) == 0) {
    g_active_frame = &frame;
    CopyBytes(src, dst, n);
    g_active_frame = saved;
    return n;
  }
  g_active_frame = saved;
  return static_cast<size_t>(frame.fault_address - frame.begin);
}

#endif

void InstallHandler() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Save the previous action first: once the handler is installed, a
    // SIGBUS on another thread may need it at any moment.
    ::sigaction(SIGBUS, nullptr, &g_previous);
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_sigaction = OnSigbus;
    // SA_RESTART as before: sent signals interrupt system calls as they did.
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER |
                      (g_previous.sa_flags & SA_RESTART);
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGBUS, &action, nullptr);
  });
}

// The copy is invisible to the sanitizers' instrumentation: tell them.
void AnnounceAccesses(const uint8_t* src, uint8_t* dst, size_t n) {
#if defined(SMMAP_ASAN)
  // An overflow of either buffer is reported as an ordinary bad read or
  // write of its first poisoned byte. Mapped memory is never poisoned (its
  // shadow is clean, as for any instrumented read of a cursor's buffer), so
  // checking the source is sound.
  if (const void* bad =
          __asan_region_is_poisoned(const_cast<uint8_t*>(src), n)) {
    (void)*static_cast<const volatile uint8_t*>(bad);
  }
  if (void* bad = __asan_region_is_poisoned(dst, n)) {
    *static_cast<volatile uint8_t*>(bad) = 0;
  }
#endif
#if defined(SMMAP_TSAN)
  __tsan_read_range(const_cast<uint8_t*>(src), n);
  __tsan_write_range(dst, n);
#endif
  (void)src;
  (void)dst;
  (void)n;
}

}  // namespace

absl::Status GuardedCopy(absl::Span<const uint8_t> src, uint8_t* dst,
                         size_t* fault_offset) {
  if (src.empty()) return absl::OkStatus();
  InstallHandler();
  AnnounceAccesses(src.data(), dst, src.size());
  const size_t copied = CopyWithFixup(src.data(), dst, src.size());
  if (copied == src.size()) return absl::OkStatus();
  if (fault_offset != nullptr) *fault_offset = copied;
  return absl::DataLossError(absl::StrCat(
      "Reading mapped bytes raised SIGBUS at byte ", copied, " of ", src.size(),
      ": the file was truncated while mapped"));
}

}  // namespace smmap
