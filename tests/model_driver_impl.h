// The reference model's insides (tests/model_driver.h), shared by its two
// halves: the checker of observations (tests/model_checker.cc) and the
// random operations that it checks (tests/model_driver.cc). Not for other
// users.
//
// Not thread-safe, as ModelDriver.

#ifndef SMMAP_TESTS_MODEL_DRIVER_IMPL_H_
#define SMMAP_TESTS_MODEL_DRIVER_IMPL_H_

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "smmap/internal/inspect.h"
#include "smmap/internal/os.h"
#include "smmap/manager.h"
#include "tests/model_driver.h"
#include "tests/test_files.h"

namespace smmap {
namespace testing {
namespace model_internal {

using ::smmap::internal::Inspector;
using ::smmap::internal::RegionView;
using ::smmap::internal::os::Syscall;

// What a mapping of `n` bytes costs: whole pages.
inline uint64_t Pages(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

// Whether two views show the same mapping of the same file.
inline bool SameRegion(const RegionView& a, const RegionView& b) {
  return a.data == b.data && a.ofs == b.ofs && a.end == b.end &&
         a.inode == b.inode && a.path == b.path && a.caller_fd == b.caller_fd;
}

// Counts every system call smmap makes, and which of its mmap calls map
// over a mapping (unmapping it); fails none.
class CallCounter final : public internal::os::FaultInjector {
 public:
  int BeforeCall(Syscall call) override {
    ++calls_[static_cast<int>(call)];
    return 0;
  }
  int BeforeMmapOver() override {
    ++map_overs_;
    return BeforeCall(Syscall::kMmap);
  }
  std::array<uint64_t, internal::os::kNumSyscalls> calls() const {
    return calls_;
  }
  uint64_t map_overs() const { return map_overs_; }

 private:
  std::array<uint64_t, internal::os::kNumSyscalls> calls_{};
  uint64_t map_overs_ = 0;
};

// The bytes of one file (inode) as the driver wrote them. Shared by the
// names of the file and by the cursors that read it; a file replaced on
// disk gets a new Version, and the cursors of the old one keep theirs.
struct Version {
  std::vector<uint8_t> bytes;
  uint64_t inode = 0;
};

inline uint64_t InodeOf(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

inline uint64_t InodeOf(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_ino) : 0;
}

// Writes all of `bytes` at `offset` of `fd`; false on error.
inline bool WriteAll(int fd, const uint8_t* bytes, size_t n, uint64_t offset) {
  for (size_t done = 0; done < n;) {
    const ssize_t w =
        ::pwrite(fd, bytes + done, n - done, static_cast<off_t>(offset + done));
    if (w <= 0) return false;
    done += static_cast<size_t>(w);
  }
  return true;
}

}  // namespace model_internal

class ModelDriver::Impl {
 public:
  using CallCounter = model_internal::CallCounter;
  using Version = model_internal::Version;
  using RegionView = internal::RegionView;
  using Syscall = internal::os::Syscall;

  Impl(const ModelParams& params, std::vector<DriverFile> files);
  ~Impl();
  std::string Run(Choices& choices, int steps);

 private:
  // What the driver knows of one of the manager's file entries.
  struct Entry {
    int file = 0;                      // index in files_ (the name)
    std::shared_ptr<Version> version;  // the file the manager found
    uint64_t known_size = 0;           // as of the manager's last look
    bool attached = true;              // new requests for the name find it
    bool fd_open = false;              // the manager's descriptor
    uint64_t fd_used = 0;              // clock_ when the descriptor was used
    int cursors = 0;                   // cursors bound to it
  };
  // A region of the manager, as observed.
  struct Region {
    int entry = 0;
    int file = -1;  // the name it was found under
    uint64_t inode = 0;
    uint64_t ofs = 0;  // [ofs, end) of the file
    uint64_t end = 0;
    const uint8_t* data = nullptr;
    uint64_t bytes = 0;    // mapped, in whole pages
    bool attached = true;  // listed by Inspector::Regions
  };
  struct Fixed {
    FixedCursor cursor;
    int file = 0;
    int entry = 0;
    std::optional<uint64_t> region;  // while open (not for empty files)
    std::shared_ptr<Version> version;
    bool bound = true;  // counts as a cursor of its entry
  };
  struct Sliding {
    SlidingCursor cursor;
    int file = 0;
    int entry = 0;
    std::optional<uint64_t> region;
    std::shared_ptr<Version> version;
  };
  // Everything observable of the manager at one moment.
  struct Observation {
    ManagerStats stats;
    std::array<uint64_t, internal::os::kNumSyscalls> calls{};
    // Of calls[kMmap]: each unmapped a region too (the model injects no
    // faults, so every map-over succeeds).
    uint64_t map_overs = 0;
    std::vector<RegionView> views;
    uint64_t mapped = 0;
    size_t regions = 0;
    size_t used = 0;
    size_t cursors = 0;
    size_t files = 0;
    size_t open_files = 0;
  };
  // How the views of an observation relate to the regions known before.
  struct Diff {
    std::vector<uint64_t> ids;  // per view; fresh views get new ids
    std::vector<uint64_t> fresh;
    std::vector<uint64_t> gone;  // attached before, not listed now
  };
  // What an operation may have done to the LRU order.
  struct LruRule {
    // Regions left unused by the operation, in release order (they go to
    // the back of the LRU).
    std::vector<uint64_t> released;
    // Or: the regions of this entry that the operation passed through went
    // to the back, in an order not observable (-1: none).
    int passed_entry = -1;
    uint64_t passed_begin = 0;  // the bytes it read of that entry's file
    uint64_t passed_end = 0;
    std::optional<uint64_t> previous;  // the region its cursor had
  };

  void Fail(const std::string& what);
  // Starts checking operation `what`.
  void BeginOp(std::string what);
  uint64_t Calls(const Observation& before, const Observation& now,
                 Syscall call) const {
    return now.calls[static_cast<int>(call)] -
           before.calls[static_cast<int>(call)];
  }
  // fstat and lseek calls: how often the manager looked at a file's size.
  uint64_t Looks(const Observation& before, const Observation& now) const {
    return Calls(before, now, Syscall::kFstat) +
           Calls(before, now, Syscall::kLseek);
  }
  Observation Observe() const;
  Diff Compare(const Observation& now);
  int Pins(uint64_t region) const;
  uint64_t PinnedBytes() const;
  // The bytes of the largest region that can hold file offset `ofs` of a
  // file of `size` bytes: windows start every window/2 bytes and are cut
  // at the end (options.h); greedy regions are whole files.
  uint64_t LargestRegion(uint64_t ofs, uint64_t size) const {
    if (p_.greedy) return model_internal::Pages(size);
    const uint64_t first =
        ofs / stride_ > 0 ? (ofs / stride_ - 1) * stride_ : 0;
    return model_internal::Pages(
        std::min(p_.window, size > first ? size - first : 0));
  }
  int NewEntry(int file);
  // Updates entry `*e` (or makes one) after an operation on file `f` whose
  // calls were `before`..`now`: what it learnt of the file. Returns false
  // (having failed the run) if the calls are not allowed.
  bool Examined(int f, std::optional<int>* e, const Observation& before,
                const Observation& now);
  // Checks the descriptors opened and closed by a load of entry `e`.
  void CheckDescriptors(int e, const Observation& before,
                        const Observation& now, size_t open_before);
  // The regions dropped since `before` that the budget (not a file change)
  // dropped must be a least-recently-used prefix of `lru`.
  bool CheckEvictions(const std::vector<uint64_t>& lru,
                      const std::set<uint64_t>& evicted);
  void Commit(const Observation& now, const Diff& diff, const LruRule& rule);
  void CheckCounters(const Observation& before, const Observation& now,
                     bool exact);
  bool HeldBytesOk(const std::shared_ptr<Version>& v, uint64_t ofs,
                   absl::Span<const uint8_t> shown) const;
  FileRef Name(int f) const {
    return files_[f].fd >= 0 ? FileRef(files_[f].fd) : FileRef(files_[f].path);
  }

  void Step(Choices& c);
  void MakeFixed(Choices& c);
  void ReleaseFixed(Choices& c, bool erase);
  // Checks the release of a cursor that held `region`.
  void Released(const Observation& before, const Observation& now,
                const std::vector<uint64_t>& lru0,
                std::optional<uint64_t> region);
  void MakeSliding(Choices& c);
  void ReadSliding(Choices& c);
  void DropSliding(Choices& c);
  void Collect();
  void ChangeFile(Choices& c);
  void Restart(Choices& c);
  void NewManager();

  ModelParams p_;
  uint64_t stride_;
  std::vector<DriverFile> files_;
  std::vector<std::shared_ptr<Version>> version_;  // per file, current
  std::vector<bool> replaceable_;                  // named by a path only
  CallCounter counter_;
  std::unique_ptr<MemmapManager> mman_;
  std::map<int, Entry> entries_;
  std::map<int, int> named_;  // file -> its attached entry
  int next_entry_ = 0;
  std::map<uint64_t, Region> regions_;
  uint64_t next_region_ = 0;
  std::vector<uint64_t> lru_;  // unused attached regions, LRU first
  uint64_t clock_ = 0;
  std::vector<Fixed> fixed_;
  std::vector<Sliding> sliding_;
  Observation last_;
  size_t baseline_fds_ = 0;
  int step_ = 0;
  std::string op_;  // the operation being checked, for messages
  // What the operation being checked did, as the checker saw it.
  uint64_t refused_ = 0;     // requests refused by a hard budget
  bool may_refuse_ = false;  // may also have had one refused inside
  uint64_t erased_ = 0;      // regions seen to go
  uint64_t fd_evicted_ = 0;  // descriptors closed to keep the budget
  std::string failure_;
};

#define DRIVER_CHECK(cond, ...)                     \
  do {                                              \
    if (!(cond)) {                                  \
      Fail(absl::StrCat(#cond, ": ", __VA_ARGS__)); \
      return;                                       \
    }                                               \
  } while (false)

#define DRIVER_CHECK_BOOL(cond, ...)                \
  do {                                              \
    if (!(cond)) {                                  \
      Fail(absl::StrCat(#cond, ": ", __VA_ARGS__)); \
      return false;                                 \
    }                                               \
  } while (false)

}  // namespace testing
}  // namespace smmap

#endif  // SMMAP_TESTS_MODEL_DRIVER_IMPL_H_
