// Fuzzes what callers and the system can throw at a manager: offsets and
// sizes near 0, the file size, 2^32, 2^63 and 2^64; invalid, closed and
// foreign descriptors; missing paths, directories, empty and NUL-containing
// paths; inconsistent options; closed managers, released and moved-from
// cursors; and files (its own, in memory) that grow, shrink and change
// between calls. Every call must return a Status with one of the documented
// codes, and every byte read (within the file's current size) must be the
// file's current byte. Never a crash or a hang.

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "fuzz/memfd_files.h"
#include "smmap/manager.h"
#include "tests/model_driver.h"

namespace {

using ::smmap::fuzz::MemFile;
using ::smmap::fuzz::PatternBytes;
using ::smmap::testing::ByteChoices;

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
constexpr int kMaxSteps = 120;

uint64_t PickNumber(ByteChoices& c, uint64_t file_size) {
  static const uint64_t kSpecial[] = {0,
                                      1,
                                      (uint64_t{1} << 31) - 1,
                                      uint64_t{1} << 32,
                                      (uint64_t{1} << 32) + 1,
                                      uint64_t{1} << 40,
                                      uint64_t{1} << 62,
                                      (uint64_t{1} << 63) - 1,
                                      uint64_t{1} << 63,
                                      UINT64_MAX,
                                      UINT64_MAX - 1};
  switch (c.Uniform(0, 4)) {
    case 0:
      return kSpecial[c.Uniform(0, sizeof(kSpecial) / sizeof(kSpecial[0]) - 1)];
    case 1:
      return file_size + c.Uniform(0, 2) - std::min<uint64_t>(file_size, 1);
    case 2:
      return c.Uniform(0, file_size + 1);
    case 3:
      return c.Uniform(0, 3 * kPage);
    default:
      return c.Uniform(0, UINT64_MAX);
  }
}

bool Documented(const absl::Status& s) {
  switch (s.code()) {
    case absl::StatusCode::kOk:
    case absl::StatusCode::kOutOfRange:
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kPermissionDenied:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDataLoss:
      return true;
    default:
      return false;
  }
}

class Harness {
 public:
  explicit Harness(ByteChoices& c) : c_(c) {
    file_.emplace(PatternBytes(c.Uniform(0, 4) * kPage + c.Uniform(0, 9), 1));
    // A descriptor number that is certainly closed.
    closed_fd_ = ::memfd_create("closed", MFD_CLOEXEC);
    ::close(closed_fd_);
    NewManager();
  }

  void Run() {
    for (int step = 0; step < kMaxSteps && !c_.Exhausted(); ++step) Step();
  }

 private:
  uint64_t size() const { return file_->bytes().size(); }

  void NewManager() {
    smmap::ManagerOptions options;
    if (c_.Bool()) options.window_size = PickNumber(c_, 8 * kPage);
    if (c_.Bool()) options.max_memory_size = PickNumber(c_, 8 * kPage);
    if (c_.Bool()) options.max_open_files = c_.Uniform(0, 3);
    options.hard_limits = c_.Bool();
    if (c_.Bool()) {
      auto made = smmap::GreedyMemmapManager::Create(options);
      Check(made.status(), "greedy Create");
      if (made.ok()) mman_ = std::move(*made);
    } else {
      auto made = smmap::TilingMemmapManager::Create(options);
      Check(made.status(), "tiling Create");
      if (made.ok()) mman_ = std::move(*made);
    }
    if (mman_ == nullptr)
      mman_ = std::make_unique<smmap::TilingMemmapManager>();
  }

  smmap::FileRef PickFile(std::string* storage) {
    switch (c_.Uniform(0, 9)) {
      case 0:
        return file_->fd();
      case 1:
        return -1;
      case 2:
        return closed_fd_;
      case 3:
        *storage = "/proc/self/fd/999999";
        return *storage;
      case 4:
        *storage = "/proc/self";
        return *storage;
      case 5:
        *storage = "";
        return *storage;
      case 6:
        *storage = std::string("/proc/self/fd/0\0x", 17);
        return absl::string_view(*storage);
      default:
        *storage = file_->path();
        return *storage;
    }
  }

  void Check(const absl::Status& s, const std::string& what) {
    SMMAP_FUZZ_CHECK(Documented(s), absl::StrCat(what, ": ", s.ToString()));
  }

  // Compares bytes [ofs, ofs + n) seen through a cursor with the file, if
  // they lie within the file's current size (beyond it, mapped bytes raise
  // SIGBUS: the documented hazard of files that shrink).
  void CheckBytes(uint64_t ofs, absl::Span<const uint8_t> seen) {
    if (ofs > size() || seen.size() > size() - ofs) return;
    SMMAP_FUZZ_CHECK(
        std::equal(seen.begin(), seen.end(),
                   file_->bytes().begin() + static_cast<std::ptrdiff_t>(ofs)),
        absl::StrCat("bytes differ at ", ofs));
  }

  void Step() {
    std::string storage;
    switch (c_.Uniform(0, 9)) {
      case 0:
      case 1:
      case 2: {  // MakeCursor with any arguments
        const smmap::FileRef file = PickFile(&storage);
        const uint64_t ofs = PickNumber(c_, size());
        const uint64_t n = c_.Bool() ? 0 : PickNumber(c_, size());
        absl::StatusOr<smmap::FixedCursor> got =
            mman_->MakeCursor(file, ofs, n);
        Check(got.status(), absl::StrCat("MakeCursor(", ofs, ", ", n, ")"));
        if (!got.ok()) break;
        SMMAP_FUZZ_CHECK(got->ofs() == ofs, "offset");
        SMMAP_FUZZ_CHECK(n == 0 || got->size() <= n, "size beyond the request");
        CheckBytes(got->ofs(), got->buffer());
        if (cursors_.size() < 4) cursors_.push_back(std::move(*got));
        break;
      }
      case 3: {  // MakeSlidingCursor and a few reads
        const smmap::FileRef file = PickFile(&storage);
        const uint64_t ofs = PickNumber(c_, size());
        const uint64_t n = c_.Bool() ? 0 : PickNumber(c_, size());
        absl::StatusOr<smmap::SlidingCursor> got =
            mman_->MakeSlidingCursor(file, ofs, n);
        Check(got.status(), "MakeSlidingCursor");
        if (got.ok()) sliding_ = std::move(*got);
        break;
      }
      case 4: {  // read the sliding cursor, within the file's current size
        // Any 64-bit index, as At() reads it: negative ones count from the
        // end.
        const int64_t n = static_cast<int64_t>(sliding_.size());
        const int64_t index =
            static_cast<int64_t>(PickNumber(c_, sliding_.size()));
        const int64_t effective = index < 0 ? index + n : index;
        if (effective < 0 || effective >= n) {
          const absl::Status status = sliding_.At(index).status();
          SMMAP_FUZZ_CHECK(absl::IsOutOfRange(status), status.ToString());
          break;
        }
        const uint64_t abs = sliding_.ofs() + static_cast<uint64_t>(effective);
        if (abs >= size()) {
          // The file shrank below the cursor's range. Cached regions
          // mapped before the shrink would raise SIGBUS (the documented
          // hazard): let go of every cursor and collect them, so the
          // manager must re-examine the file and report DataLoss.
          cursors_.clear();
          sliding_.ReleaseRegion();
          mman_->Collect();
          const absl::Status status = sliding_.At(index).status();
          SMMAP_FUZZ_CHECK(
              absl::IsDataLoss(status) || absl::IsFailedPrecondition(status),
              status.ToString());
          break;
        }
        absl::StatusOr<uint8_t> byte = sliding_.At(index);
        Check(byte.status(), "At");
        if (byte.ok()) {
          SMMAP_FUZZ_CHECK(*byte == file_->bytes()[abs],
                           absl::StrCat("At(", index, ")"));
        }
        break;
      }
      case 5: {  // cursor operations, including on closed and moved-from ones
        if (cursors_.empty()) break;
        const size_t k = c_.Uniform(0, cursors_.size() - 1);
        smmap::FixedCursor& cursor = cursors_[k];
        switch (c_.Uniform(0, 4)) {
          case 0:
            Check(cursor.Release(), "Release");
            break;
          case 1:
            cursor.Close();
            break;
          case 2: {
            smmap::FixedCursor moved = std::move(cursor);
            Check(cursor.MakeCursor(0).status(), "moved-from MakeCursor");
            cursor = std::move(moved);
            break;
          }
          case 3: {
            absl::StatusOr<smmap::FixedCursor> next =
                cursor.NextCursor(PickNumber(c_, size()));
            Check(next.status(), "NextCursor");
            if (next.ok()) CheckBytes(next->ofs(), next->buffer());
            break;
          }
          default:
            cursors_.erase(cursors_.begin() + static_cast<std::ptrdiff_t>(k));
            break;
        }
        break;
      }
      case 6: {  // the file changes: grows, shrinks, is rewritten
        // Cursors over bytes that would vanish are dropped first: reading
        // them would be the documented SIGBUS, not a finding.
        const uint64_t new_size = c_.Uniform(0, 4) * kPage + c_.Uniform(0, 9);
        if (new_size < size()) {
          cursors_.clear();
          sliding_.ReleaseRegion();
        }
        file_->Rewrite(PatternBytes(new_size, c_.Uniform(2, 200)));
        break;
      }
      case 7:
        mman_->Collect();
        break;
      case 8:
        if (c_.Bool()) {
          mman_->Close();
          Check(mman_->MakeCursor(file_->path()).status(), "closed manager");
        } else {
          mman_.reset();
          NewManager();
        }
        break;
      default:
        cursors_.clear();
        sliding_ = smmap::SlidingCursor();
        break;
    }
  }

  ByteChoices& c_;
  std::optional<MemFile> file_;
  int closed_fd_ = -1;
  std::unique_ptr<smmap::MemmapManager> mman_;
  std::vector<smmap::FixedCursor> cursors_;
  smmap::SlidingCursor sliding_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteChoices choices(data, size);
  Harness harness(choices);
  harness.Run();
  return 0;
}
