#include "smmap/guarded_copy.h"

#include <setjmp.h>
#include <signal.h>
#include <ucontext.h>

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
  greg_t& ip = uc->uc_mcontext.gregs[REG_RIP];
  if (ip == reinterpret_cast<greg_t>(smmap_copy_bytes_fault)) {
    ip = reinterpret_cast<greg_t>(smmap_copy_bytes_fixup);
    return;
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
  if (frame != nullptr && address >= frame->begin && address < frame->end) {
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
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_sigaction = OnSigbus;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &g_previous);
  });
}

// The copy is invisible to the sanitizers' instrumentation: tell them.
void AnnounceAccesses(const uint8_t* src, uint8_t* dst, size_t n) {
#if defined(SMMAP_ASAN)
  // An overflow of `dst` is reported as an ordinary bad write.
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
