// System calls that fail: injected through the os.h seam (open, fstat, mmap,
// munmap, close, madvise failing with ENOMEM, EMFILE, EACCES, EIO at chosen
// calls), and real limits (RLIMIT_NOFILE, RLIMIT_AS) in child processes.
// Each failure must give a Status, leave the counters right and leak
// nothing; ENOMEM and EMFILE make the manager give back what it caches and
// retry once.

#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/internal/os.h"
#include "smmap/smmap.h"
#include "tests/scripted_faults.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::internal::os::Syscall;
using ::smmap::testing::CountOpenFds;
using ::smmap::testing::kPage;
using ::smmap::testing::ScriptedFaults;
using ::smmap::testing::TestFile;
using ::testing::HasSubstr;

// Lines of /proc/self/maps: the process's mappings.
size_t CountMappings() {
  std::ifstream maps("/proc/self/maps");
  size_t n = 0;
  for (std::string line; std::getline(maps, line);) ++n;
  return n;
}

std::unique_ptr<TilingMemmapManager> Tiling(uint64_t budget_windows,
                                            uint64_t max_files = 4) {
  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = budget_windows * 2 * kPage;
  options.max_open_files = max_files;
  return std::move(*TilingMemmapManager::Create(options));
}

class FaultInjectionTest : public ::testing::Test {
 protected:
  FaultInjectionTest()
      : file_(TestFile::Random("faults", 8 * kPage, 1)),
        other_(TestFile::Random("faults", 4 * kPage, 2)),
        fds_(CountOpenFds()) {}
  ~FaultInjectionTest() override { EXPECT_EQ(CountOpenFds(), fds_); }

  // Maps window 0 of file_ and releases it, cached and unused; returns the
  // address of its first byte (nullptr if that failed).
  const uint8_t* CacheWindow0(MemmapManager& mman) {
    absl::StatusOr<FixedCursor> c = mman.MakeCursor(file_.path(), 0, 8);
    EXPECT_OK(c);
    return c.ok() ? c->buffer().data() : nullptr;
  }

  TestFile file_;
  TestFile other_;
  const size_t fds_;
};

TEST_F(FaultInjectionTest, OpenFailsWithPermissionDenied) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  faults.Fail(Syscall::kOpen, EACCES);
  EXPECT_THAT(
      mman->MakeCursor(file_.path()),
      StatusIs(absl::StatusCode::kPermissionDenied,
               HasSubstr("open(" + file_.path() + "): Permission denied")));
  EXPECT_EQ(mman->num_files(), 0u);
  EXPECT_EQ(mman->num_open_files(), 0u);
  EXPECT_EQ(mman->stats().files_opened, 0u);
  EXPECT_OK(mman->MakeCursor(file_.path()));  // the next call is fine
}

TEST_F(FaultInjectionTest, OpenOutOfDescriptorsClosesCachedOnesAndRetries) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  ASSERT_OK(mman->MakeCursor(other_.path()));  // caches a descriptor
  EXPECT_EQ(mman->num_open_files(), 1u);
  faults.Fail(Syscall::kOpen, EMFILE);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file_.path(), 10, 10));
  EXPECT_EQ(std::string(c.buffer().begin(), c.buffer().end()),
            file_.Range(10, 10));
  EXPECT_EQ(faults.calls(Syscall::kOpen), 3);  // other, failed, retried
  EXPECT_EQ(mman->stats().files_closed, 1u);   // other's cached descriptor
  EXPECT_EQ(mman->num_open_files(), 1u);
}

TEST_F(FaultInjectionTest, OpenOutOfDescriptorsTwiceIsResourceExhausted) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  ASSERT_OK(mman->MakeCursor(other_.path()));
  faults.Fail(Syscall::kOpen, EMFILE, 1, 2);
  EXPECT_THAT(
      mman->MakeCursor(file_.path()),
      StatusIs(absl::StatusCode::kResourceExhausted,
               HasSubstr("open(" + file_.path() +
                         "): Too many open files; the process is out of "
                         "file descriptors (RLIMIT_NOFILE)")));
  EXPECT_EQ(mman->num_open_files(), 0u);
  EXPECT_EQ(mman->num_files(), 1u);  // other: its region stays mapped
}

TEST_F(FaultInjectionTest, FstatFailsOnOpen) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  faults.Fail(Syscall::kFstat, EIO);
  const absl::Status status = mman->MakeCursor(file_.path()).status();
  EXPECT_EQ(status.code(), absl::ErrnoToStatusCode(EIO));
  EXPECT_THAT(status.message(),
              HasSubstr("fstat(" + file_.path() + "): Input/output error"));
  EXPECT_EQ(mman->num_files(), 0u);  // and the descriptor was closed
}

TEST_F(FaultInjectionTest, SizeQueryFailsBeforeMapping) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  ASSERT_OK(mman->MakeCursor(file_.path(), 0, 1));  // cached file, window 0
  // Its descriptor is cached: the manager asks it for its size only.
  faults.Fail(Syscall::kLseek, EIO);
  const absl::Status status =
      mman->MakeCursor(file_.path(), 5 * kPage, 1).status();
  EXPECT_EQ(faults.fired(), 1);
  EXPECT_EQ(faults.calls(Syscall::kFstat), 1);  // when it was opened
  EXPECT_EQ(status.code(), absl::ErrnoToStatusCode(EIO));
  EXPECT_THAT(status.message(),
              HasSubstr("lseek(" + file_.path() + "): Input/output error"));
  EXPECT_EQ(mman->num_open_regions(), 1u);
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  EXPECT_EQ(mman->stats().regions_mapped, 1u);
  EXPECT_OK(mman->MakeCursor(file_.path(), 5 * kPage, 1));
}

TEST_F(FaultInjectionTest, MmapOutOfMemoryCollectsAndRetries) {
  ScriptedFaults faults;
  auto mman = Tiling(100);
  for (uint64_t page : {0, 2, 4}) {
    ASSERT_OK(mman->MakeCursor(file_.path(), page * kPage, 1));  // 3 unused
  }
  ASSERT_EQ(mman->num_open_regions(), 3u);
  faults.Fail(Syscall::kMmap, ENOMEM);
  ASSERT_OK_AND_ASSIGN(FixedCursor c,
                       mman->MakeCursor(file_.path(), 6 * kPage, 8));
  EXPECT_EQ(std::string(c.buffer().begin(), c.buffer().end()),
            file_.Range(6 * kPage, 8));
  const ManagerStats stats = mman->stats();
  EXPECT_EQ(stats.map_failures, 1u);
  EXPECT_EQ(stats.lru_evictions, 3u);  // everything unused, then the retry
  EXPECT_EQ(mman->num_open_regions(), 1u);
  EXPECT_EQ(mman->mapped_memory_size(), 2 * kPage);
}

TEST_F(FaultInjectionTest, MmapOutOfMemoryTwiceIsResourceExhausted) {
  ScriptedFaults faults;
  auto mman = Tiling(100);
  ASSERT_OK(mman->MakeCursor(file_.path(), 0, 1));
  const size_t mappings = CountMappings();
  faults.Fail(Syscall::kMmap, ENOMEM, 1, 2);
  EXPECT_THAT(mman->MakeCursor(file_.path(), 6 * kPage, 8),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr(absl::StrCat(
                           "mmap(", file_.path(), ", offset=", 6 * kPage,
                           ", length=", 2 * kPage,
                           "): Cannot allocate memory; unused "
                           "regions were unmapped and the call "
                           "retried once (check vm.max_map_count"))));
  EXPECT_EQ(mman->stats().map_failures, 2u);
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  EXPECT_LT(CountMappings(), mappings);  // the collected region is gone
}

TEST_F(FaultInjectionTest, MmapOutOfMemoryWithNothingToCollectFailsAtOnce) {
  ScriptedFaults faults;
  auto mman = Tiling(100);
  ASSERT_OK_AND_ASSIGN(FixedCursor held, mman->MakeCursor(file_.path(), 0, 1));
  faults.Fail(Syscall::kMmap, ENOMEM);
  EXPECT_THAT(mman->MakeCursor(file_.path(), 6 * kPage, 8),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("Cannot allocate memory; no region was "
                                 "unused, nothing to retry")));
  EXPECT_EQ(faults.calls(Syscall::kMmap), 2);  // no retry: nothing was unused
  EXPECT_EQ(held.buffer()[0], file_.bytes()[0]);
}

TEST_F(FaultInjectionTest, MmapEagainIsResourceExhausted) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  faults.Fail(Syscall::kMmap, EAGAIN);
  EXPECT_THAT(mman->MakeCursor(file_.path()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("Resource temporarily unavailable")));
}

TEST_F(FaultInjectionTest, MunmapFailingAfterTheManagerIsGone) {
  // The last cursor frees the manager's state; the failure it meets while
  // unmapping must not touch that state (ASan checks).
  ScriptedFaults faults;
  auto mman = Tiling(4);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file_.path(), 0, 1));
  mman.reset();
  faults.Fail(Syscall::kMunmap, EINVAL, 1, 2);
  c.Close();
  c = FixedCursor();
}

TEST_F(FaultInjectionTest, MmapPermissionDenied) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  faults.Fail(Syscall::kMmap, EACCES);
  EXPECT_THAT(mman->MakeSlidingCursor(file_.path())->At(0),
              StatusIs(absl::StatusCode::kPermissionDenied,
                       HasSubstr("mmap(" + file_.path())));
  EXPECT_EQ(mman->num_open_regions(), 0u);
}

// A miss that evicts a region of its own length maps over it: one mmap
// (MAP_FIXED), no munmap, the same address, the new bytes.
TEST_F(FaultInjectionTest, MissMapsOverTheRegionItEvicts) {
  ScriptedFaults faults;
  auto mman = Tiling(1);
  const size_t mappings = CountMappings();
  const uint8_t* first = CacheWindow0(*mman);
  ASSERT_NE(first, nullptr);
  const int mmaps = faults.calls(Syscall::kMmap);
  ASSERT_OK_AND_ASSIGN(FixedCursor c,
                       mman->MakeCursor(file_.path(), 4 * kPage, 8));
  EXPECT_EQ(c.buffer().data(), first);
  EXPECT_EQ(std::string(c.buffer().begin(), c.buffer().end()),
            file_.Range(4 * kPage, 8));
  EXPECT_EQ(faults.calls(Syscall::kMmap), mmaps + 1);
  EXPECT_EQ(faults.calls(Syscall::kMunmap), 0);
  EXPECT_EQ(CountMappings(), mappings + 1);
  const ManagerStats stats = mman->stats();
  EXPECT_EQ(stats.regions_mapped, 2u);
  EXPECT_EQ(stats.regions_unmapped, 1u);
  EXPECT_EQ(stats.lru_evictions, 1u);
  EXPECT_EQ(mman->mapped_memory_size(), 2 * kPage);
}

// Not over a region of another length: the file's last window is shorter.
TEST_F(FaultInjectionTest, MissUnmapsARegionOfAnotherLength) {
  ScriptedFaults faults;
  const TestFile odd = TestFile::Random("faults", 5 * kPage, 3);
  auto mman = Tiling(1);
  ASSERT_OK(mman->MakeCursor(odd.path(), 0, 8));
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(odd.path(), 4 * kPage));
  EXPECT_EQ(std::string(c.buffer().begin(), c.buffer().end()),
            odd.Range(4 * kPage, kPage));
  EXPECT_EQ(faults.calls(Syscall::kMunmap), 1);
  EXPECT_EQ(mman->mapped_memory_size(), kPage);
}

// The mmap over the evicted region fails: the error is the mmap's, the old
// region is unmapped all the same, the budget is whole again, and the next
// miss maps afresh.
TEST_F(FaultInjectionTest, MapOverFailingUnmapsTheEvictedRegion) {
  ScriptedFaults faults;
  auto mman = Tiling(1);
  const size_t mappings = CountMappings();
  ASSERT_OK(mman->MakeCursor(file_.path(), 0, 8));
  faults.Fail(Syscall::kMmap, ENOMEM);
  EXPECT_THAT(
      mman->MakeCursor(file_.path(), 4 * kPage, 8),
      StatusIs(absl::StatusCode::kResourceExhausted,
               HasSubstr(absl::StrCat(
                   "mmap(", file_.path(), ", offset=", 4 * kPage,
                   ", length=", 2 * kPage,
                   "): Cannot allocate memory; no region was unused"))));
  EXPECT_EQ(faults.calls(Syscall::kMunmap), 1);
  EXPECT_EQ(CountMappings(), mappings);
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  ASSERT_OK_AND_ASSIGN(FixedCursor c,
                       mman->MakeCursor(file_.path(), 6 * kPage, 8));
  EXPECT_EQ(std::string(c.buffer().begin(), c.buffer().end()),
            file_.Range(6 * kPage, 8));
  EXPECT_EQ(mman->mapped_memory_size(), 2 * kPage);
}

TEST_F(FaultInjectionTest, MapOverWhoseUnmapFailsGivesTheRangeUp) {
  // As a region whose munmap fails twice: counted, and no longer charged.
  ScriptedFaults faults;
  auto mman = Tiling(1);
  const size_t mappings = CountMappings();
  const uint8_t* old = CacheWindow0(*mman);
  ASSERT_NE(old, nullptr);
  faults.Fail(Syscall::kMmap, ENOMEM);
  faults.Fail(Syscall::kMunmap, EINVAL, 1, 2);
  EXPECT_THAT(mman->MakeCursor(file_.path(), 4 * kPage, 8).status(),
              StatusIs(absl::StatusCode::kResourceExhausted));
  EXPECT_EQ(faults.fired(), 3);
  EXPECT_EQ(mman->stats().unmap_failures, 1u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(CountMappings(), mappings + 1);  // left mapped, as reported
  ASSERT_EQ(::munmap(const_cast<uint8_t*>(old), 2 * kPage), 0);
}

TEST(MapOverFailureTest, OnlyErrorsBeforeTheRangeIsTouchedKeepIt) {
  // The errors mmap() finds before it unmaps anything leave the old
  // mapping to unmap; an error from the file system's own mmap may leave
  // the range to another thread (os::MmapOver()).
  for (int err :
       {EBADF, EACCES, ENODEV, EINVAL, EOVERFLOW, EPERM, ENOMEM, EAGAIN}) {
    EXPECT_TRUE(internal::os::FailureKeepsOldMapping(err)) << err;
  }
  for (int err : {EIO, ESTALE, ENOEXEC, EOPNOTSUPP, EINTR}) {
    EXPECT_FALSE(internal::os::FailureKeepsOldMapping(err)) << err;
  }
}

TEST_F(FaultInjectionTest, MunmapFailingOnceIsRetried) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  const size_t mappings = CountMappings();
  ASSERT_OK(mman->MakeCursor(file_.path(), 0, 1));
  EXPECT_EQ(CountMappings(), mappings + 1);
  faults.Fail(Syscall::kMunmap, EINVAL);
  EXPECT_EQ(mman->Collect(), 1u);
  EXPECT_EQ(CountMappings(), mappings);
  EXPECT_EQ(mman->stats().unmap_failures, 0u);
}

TEST_F(FaultInjectionTest, MunmapFailingTwiceIsCounted) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  ASSERT_OK(mman->MakeCursor(file_.path(), 0, 1));
  faults.Fail(Syscall::kMunmap, EINVAL, 1, 2);
  EXPECT_EQ(mman->Collect(), 1u);
  EXPECT_EQ(mman->stats().unmap_failures, 1u);
  EXPECT_EQ(mman->num_open_regions(), 0u);
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  // (The two pages stay mapped: munmap refused them; nothing else can be
  // done, and nothing else leaks.)
}

TEST_F(FaultInjectionTest, CloseFailingStillReleasesTheDescriptor) {
  ScriptedFaults faults;
  auto mman = Tiling(4);
  ASSERT_OK(mman->MakeCursor(file_.path(), 0, 1));
  faults.Fail(Syscall::kClose, EIO);
  mman->Collect();
  EXPECT_EQ(mman->num_open_files(), 0u);
  // The fixture checks the descriptor count.
}

TEST_F(FaultInjectionTest, MadviseFailureIsOnlyAHint) {
  ScriptedFaults faults;
  ManagerOptions options;
  options.advice = AccessAdvice::kSequential;
  auto mman = std::move(*TilingMemmapManager::Create(options));
  faults.Fail(Syscall::kMadvise, EINVAL);
  ASSERT_OK_AND_ASSIGN(FixedCursor c, mman->MakeCursor(file_.path(), 1, 3));
  EXPECT_EQ(std::string(c.buffer().begin(), c.buffer().end()),
            file_.Range(1, 3));
  EXPECT_EQ(faults.calls(Syscall::kMadvise), 1);
}

// The code a failing `call` with `err` gives, where nothing absorbs it.
absl::StatusCode ExpectedCode(int err) {
  switch (err) {
    case ENOMEM:
    case EMFILE:
      return absl::StatusCode::kResourceExhausted;
    case EACCES:
      return absl::StatusCode::kPermissionDenied;
    default:
      return absl::ErrnoToStatusCode(err);  // EIO: kUnknown
  }
}

TEST_F(FaultInjectionTest, EveryCallFailingInTurn) {
  // For each system call and each of its first calls in a small scenario:
  // make that one call fail, run the scenario, and check that the fault
  // fired when the scenario reached that call, that exactly the step making
  // the call failed with the code and message of that call and errno (or
  // succeeded where the manager absorbs the failure: munmap is retried,
  // close releases the descriptor anyway, an mmap ENOMEM is retried after
  // unmapping what is unused), that every other step read the right bytes,
  // and that the manager ends clean.
  struct Step {
    const TestFile* file;
    uint64_t page;
  };
  const std::vector<Step> steps = {
      {&file_, 0}, {&other_, 3}, {&file_, 6}, {&file_, 1}};
  const std::vector<Syscall> calls = {
      Syscall::kStat, Syscall::kOpen,   Syscall::kFstat, Syscall::kLseek,
      Syscall::kMmap, Syscall::kMunmap, Syscall::kClose};
  // How many of each call the scenario makes when nothing fails.
  std::map<Syscall, int> clean_calls;
  {
    ScriptedFaults faults;
    {
      auto mman = Tiling(/*budget_windows=*/2, /*max_files=*/1);
      for (const Step& step : steps) {
        ASSERT_OK(mman->MakeCursor(step.file->path(), step.page * kPage, 16));
      }
    }
    for (Syscall call : calls) clean_calls[call] = faults.calls(call);
  }
  // Each of these calls is failed in turn below, and one more that the
  // scenario never makes.
  EXPECT_EQ(clean_calls[Syscall::kStat], 2);  // once per path
  EXPECT_EQ(clean_calls[Syscall::kOpen], 3);  // one descriptor at a time
  EXPECT_EQ(clean_calls[Syscall::kMmap], 4);
  // Once per open; the last step's file keeps its descriptor, which is
  // asked its size.
  EXPECT_EQ(clean_calls[Syscall::kFstat], 3);
  EXPECT_EQ(clean_calls[Syscall::kLseek], 1);
  // Fewer than mappings: a miss that evicts a region of its own length
  // maps over it.
  EXPECT_GE(clean_calls[Syscall::kMunmap], 3);
  EXPECT_GE(clean_calls[Syscall::kClose], 3);

  int fired_total = 0;
  for (Syscall call : calls) {
    for (int nth = 1; nth <= clean_calls[call] + 1; ++nth) {
      for (int err : {ENOMEM, EMFILE, EACCES, EIO}) {
        SCOPED_TRACE(absl::StrCat(internal::os::SyscallName(call), " #", nth,
                                  " errno ", err));
        ScriptedFaults faults;
        int failed_steps = 0;
        {
          auto mman = Tiling(/*budget_windows=*/2, /*max_files=*/1);
          faults.Fail(call, err, nth, nth);
          for (size_t i = 0; i < steps.size(); ++i) {
            const TestFile& f = *steps[i].file;
            const uint64_t offset = steps[i].page * kPage;
            const int before = faults.calls(call);
            const bool had_unused = mman->num_open_regions() > 0;
            {
              absl::StatusOr<FixedCursor> c =
                  mman->MakeCursor(f.path(), offset, 16);
              const bool made_the_call =
                  before < nth && nth <= faults.calls(call);
              const bool absorbed =
                  call == Syscall::kMunmap || call == Syscall::kClose ||
                  (call == Syscall::kMmap && err == ENOMEM && had_unused);
              if (made_the_call && !absorbed) {
                ++failed_steps;
                EXPECT_THAT(c, StatusIs(ExpectedCode(err),
                                        HasSubstr(absl::StrCat(
                                            internal::os::SyscallName(call),
                                            "(", f.path()))));
                if (call == Syscall::kOpen && err == EMFILE) {
                  // max_files 1: the idle descriptor was closed before.
                  EXPECT_THAT(c.status().message(),
                              HasSubstr("and the manager held none it "
                                        "could close"));
                }
                if (call == Syscall::kMmap && err == ENOMEM) {
                  EXPECT_THAT(c.status().message(),
                              HasSubstr("no region was unused, nothing to "
                                        "retry"));
                }
              } else {
                ASSERT_OK(c);
                ASSERT_EQ(std::string(c->buffer().begin(), c->buffer().end()),
                          f.Range(offset, 16));
              }
            }
            EXPECT_EQ(mman->num_open_cursors(), 0u);
            EXPECT_EQ(mman->num_used_regions(), 0u);
            EXPECT_LE(mman->mapped_memory_size(), 4 * kPage);
          }
          EXPECT_EQ(mman->stats().unmap_failures, 0u);  // munmap retried
          mman->Collect();
          EXPECT_EQ(mman->num_open_regions(), 0u);
          EXPECT_EQ(mman->num_open_files(), 0u);
        }
        // The fault fired if and only if the scenario reached that call
        // (a failed step may make later ones repeat a call, never skip
        // one the clean run made).
        EXPECT_EQ(faults.fired(), nth <= clean_calls[call] ? 1 : 0)
            << "calls made: " << faults.calls(call);
        EXPECT_LE(failed_steps, faults.fired());
        fired_total += faults.fired();
        EXPECT_EQ(CountOpenFds(), fds_);
      }
    }
  }
  int want_fired = 0;
  for (Syscall call : calls) want_fired += 4 * clean_calls[call];
  EXPECT_EQ(fired_total, want_fired);
}

// --- Real limits, in child processes
// -------------------------------------------

// Runs `fn` in a child; returns its exit code (0 = all expectations held).
int InChild(const std::function<int()>& fn) {
  const pid_t child = ::fork();
  if (child == 0) ::_exit(fn());
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 100 + WTERMSIG(status);
}

TEST(RealLimitsTest, LoweredOpenFileLimit) {
  std::vector<TestFile> files;
  for (int i = 0; i < 12; ++i)
    files.push_back(TestFile::Random("nofile", 2 * kPage, 30 + i));
  const int rc = InChild([&files] {
    // Room for 3 more descriptors than are open now.
    struct rlimit limit;
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = CountOpenFds() + 3;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) return 1;
    ManagerOptions options;
    options.max_open_files = 1000;  // more than the process may open
    auto mman = std::move(*TilingMemmapManager::Create(options));
    for (int round = 0; round < 2; ++round) {
      for (const TestFile& f : files) {
        absl::StatusOr<FixedCursor> c = mman->MakeCursor(f.path(), 100, 10);
        if (!c.ok()) return 2;  // EMFILE must be absorbed: close and retry
        if (std::string(c->buffer().begin(), c->buffer().end()) !=
            f.Range(100, 10)) {
          return 3;
        }
      }
    }
    if (mman->num_open_files() > 3) return 4;
    if (mman->stats().files_closed == 0) return 5;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}

#if !defined(ADDRESS_SANITIZER) && !defined(THREAD_SANITIZER)
// (Sanitizers reserve terabytes of address space: RLIMIT_AS cannot be used
// with them.)
TEST(RealLimitsTest, LoweredAddressSpaceLimit) {
  TestFile file = TestFile::Random("as", 64 << 20, 50);
  const int rc = InChild([&file] {
    ManagerOptions options;
    options.window_size = 16 << 20;
    auto mman = std::move(*TilingMemmapManager::Create(options));
    // Two windows cached, unused.
    if (!mman->MakeCursor(file.path(), 0, 1).ok()) return 1;
    if (!mman->MakeCursor(file.path(), 32 << 20, 1).ok()) return 2;
    // Then room for less than one more window.
    struct rlimit limit;
    std::ifstream status("/proc/self/statm");
    uint64_t pages = 0;
    status >> pages;
    limit.rlim_cur = limit.rlim_max =
        pages * static_cast<uint64_t>(kPage) + (8 << 20);
    if (::setrlimit(RLIMIT_AS, &limit) != 0) return 3;
    // Mapping needs room: the manager unmaps the cached windows and retries.
    absl::StatusOr<FixedCursor> a = mman->MakeCursor(file.path(), 16 << 20, 1);
    if (!a.ok()) return 4;
    absl::StatusOr<FixedCursor> b = mman->MakeCursor(file.path(), 48 << 20, 1);
    if (!b.ok()) return 5;  // fits in what the collected windows gave back
    // With both held there is no room at all: ResourceExhausted, no crash.
    absl::StatusOr<FixedCursor> c = mman->MakeCursor(file.path(), 8 << 20, 1);
    if (c.ok() || !absl::IsResourceExhausted(c.status())) return 6;
    if (mman->stats().map_failures == 0) return 7;
    return 0;
  });
  EXPECT_EQ(rc, 0);
}
#endif

}  // namespace
}  // namespace smmap
