// Fuzzes what callers and the system can throw at a manager: offsets and
// sizes near 0, the file size, 2^32, 2^63 and 2^64; invalid, closed and
// foreign descriptors; missing paths, directories, empty and NUL-containing
// paths; inconsistent options; closed managers, released and moved-from
// cursors; and files (its own, in memory) that grow, shrink and change
// between calls. Never a crash or a hang.
//
// The oracle: every call has its exact expected outcome, derived from the
// fuzzer's own record of the file (its size and bytes now) and of what each
// manager was told (its options, whether it is closed, the sizes it may have
// learned of each file name): the status code, and for errors the parts of
// the message that carry the file's name and the numbers; for cursors their
// offset, size and file_size(); and every byte read (cursors made now, held
// ones, sliding reads) must be the file's current byte.
//
// The public contract leaves two things open, and the oracle accepts exactly
// the outcomes each can give, no more:
//  - Whether a request is served by a region cached earlier. A cache hit
//    makes no system call, so it does not learn the file's current size
//    (file_size() is the size the manager knew, and a greedy manager's
//    window limit or a hard budget is not looked at again); a miss
//    re-examines the file first. Which regions are still cached depends on
//    eviction order, so a hit is accepted wherever a region of that file
//    name may be cached, with the size the manager may know.
//  - Under hard limits, whether the regions that cursors hold leave room for
//    a new one: ResourceExhausted is accepted only when the held cursors
//    could fill the budget (an upper bound of their regions' pages).
// The size a manager knows of a name is tracked as the set of sizes it may
// know (it learns the current size whenever it re-examines the file, and an
// unused name may be forgotten and examined anew), narrowed after each call
// by the outcomes that matched.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "fuzz/memfd_files.h"
#include "smmap/manager.h"
#include "tests/model_driver.h"

namespace {

using ::smmap::fuzz::MemFile;
using ::smmap::fuzz::PatternBytes;
using ::smmap::testing::ByteChoices;

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
constexpr int kMaxSteps = 120;
constexpr uint64_t kMaxOffset = (uint64_t{1} << 63) - 1;
constexpr uint64_t kMiB = uint64_t{1} << 20;
// A descriptor number that can never be open (above any RLIMIT_NOFILE the
// kernel allows): a closed descriptor whose number no later open() reuses.
constexpr int kClosedFd = INT_MAX;

uint64_t RoundUp(uint64_t value, uint64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

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

// One acceptable outcome of a call.
struct Outcome {
  absl::StatusCode code = absl::StatusCode::kOk;
  std::vector<std::string> parts;  // errors: substrings of the message
  // OK cursors: their size and file_size().
  uint64_t size = 0;
  uint64_t file_size = 0;
  // Whether the call may have changed what the manager knows of the name,
  // and if so, the size it knows afterwards.
  bool touches = false;
  uint64_t known_after = 0;

  std::string ToString() const {
    if (code == absl::StatusCode::kOk) {
      return absl::StrCat("OK(size ", size, ", file_size ", file_size, ")");
    }
    return absl::StrCat(absl::StatusCodeToString(code), "[",
                        absl::StrJoin(parts, " | "), "]");
  }
};

Outcome Error(absl::StatusCode code, std::vector<std::string> parts) {
  Outcome o;
  o.code = code;
  o.parts = std::move(parts);
  return o;
}

bool MessageHas(const absl::Status& s, const Outcome& o) {
  const absl::string_view message = s.message();
  for (const std::string& part : o.parts) {
    if (message.find(part) == absl::string_view::npos) return false;
  }
  return true;
}

// What the fuzzer knows of one file name in one manager.
struct NameRecord {
  // Sizes the manager may know of the file besides its current one (which
  // it may always know: it learns it by re-examining, or by forgetting the
  // name and examining it anew).
  std::set<uint64_t> known;
  // Whether a region of this name may be mapped (a cache hit possible).
  bool may_have_regions = false;
};

// What the fuzzer knows of one manager.
struct ManagerRecord {
  bool greedy = false;
  bool hard = false;
  uint64_t window = 0;  // effective window_size()
  uint64_t stride = 0;  // tiling: window / 2; 0 when files are mapped whole
  uint64_t budget = 0;
  bool closed = false;
  std::map<std::string, NameRecord> names;

  uint64_t Index(uint64_t ofs) const { return stride == 0 ? 0 : ofs / stride; }
  uint64_t Begin(uint64_t index) const { return index * stride; }
  uint64_t End(uint64_t index, uint64_t file_size) const {
    if (stride == 0) return file_size;
    return std::min(index * stride + window, file_size);
  }
};

uint64_t RequestEnd(uint64_t file_size, uint64_t ofs, uint64_t size) {
  return size == 0 || ofs + size > file_size ? file_size : ofs + size;
}

// The files a call can name.
enum class Target {
  kFd,        // the memfd, by descriptor
  kPath,      // the memfd, by /proc/self/fd/<fd>
  kNegative,  // -1
  kClosedFd,  // a descriptor that is not open
  kMissing,   // a path to nothing
  kDir,       // a directory
  kEmpty,     // ""
  kNul,       // a path with a NUL
};

class Harness {
 public:
  explicit Harness(ByteChoices& c) : c_(c) {
    file_.emplace(PatternBytes(c.Uniform(0, 4) * kPage + c.Uniform(0, 9), 1));
    max_size_ = size();
    NewManager();
  }

  void Run() {
    for (int step = 0; step < kMaxSteps && !c_.Exhausted(); ++step) Step();
  }

 private:
  struct Held {
    smmap::FixedCursor cursor;
    std::shared_ptr<ManagerRecord> mgr;
    std::string name;  // as in messages: the path or "fd <n>"
  };

  uint64_t size() const { return file_->bytes().size(); }

  std::string FdName() const { return absl::StrCat("fd ", file_->fd()); }

  // --- Checking ------------------------------------------------------------

  // Dies unless `s` (and, for OK, `ok_matches`) fits one of `expected`;
  // returns those it fits.
  template <typename OkMatches>
  std::vector<Outcome> Expect(const absl::Status& s,
                              const std::vector<Outcome>& expected,
                              const std::string& what, OkMatches ok_matches,
                              const std::string& got_ok = "") {
    std::vector<Outcome> matched;
    for (const Outcome& o : expected) {
      if (o.code != s.code()) continue;
      if (s.ok() ? ok_matches(o) : MessageHas(s, o)) matched.push_back(o);
    }
    if (matched.empty()) {
      std::vector<std::string> wanted;
      for (const Outcome& o : expected) wanted.push_back(o.ToString());
      smmap::fuzz::Die(
          __FILE__, __LINE__, "outcome expected",
          absl::StrCat(what, " (file size ", size(), "): got ", s.ToString(),
                       s.ok() ? absl::StrCat(" (", got_ok, ")") : "",
                       "; expected one of: ", absl::StrJoin(wanted, "; ")));
    }
    return matched;
  }

  static void Learn(NameRecord* record, const std::vector<Outcome>& matched) {
    if (record == nullptr || !matched.front().touches) return;
    record->known.clear();
    for (const Outcome& o : matched) record->known.insert(o.known_after);
  }

  // Compares bytes [ofs, ofs + seen.size()) with the file's current bytes.
  void CheckBytes(uint64_t ofs, absl::Span<const uint8_t> seen,
                  const std::string& what) {
    SMMAP_FUZZ_CHECK(ofs <= size() && seen.size() <= size() - ofs,
                     absl::StrCat(what, ": bytes [", ofs, ", +", seen.size(),
                                  ") beyond the file's ", size()));
    SMMAP_FUZZ_CHECK(
        std::equal(seen.begin(), seen.end(),
                   file_->bytes().begin() + static_cast<std::ptrdiff_t>(ofs)),
        absl::StrCat(what, ": bytes differ at ", ofs));
  }

  // --- Predictions ---------------------------------------------------------

  // An upper bound of the bytes the regions held by cursors of `mgr` pin
  // (each cursor holds at most one region of at most a window, or of the
  // whole file).
  uint64_t PinnedUpperBound(const ManagerRecord* mgr,
                            bool count_sliding) const {
    const uint64_t per_region =
        mgr->stride != 0 ? mgr->window : RoundUp(max_size_, kPage);
    uint64_t n = 0;
    for (const Held& h : cursors_) {
      if (h.mgr.get() == mgr && !h.cursor.closed() && h.cursor.size() > 0) ++n;
    }
    if (count_sliding && sliding_mgr_.get() == mgr && sliding_may_hold_) ++n;
    return n * per_region;
  }

  // The errors every call checks before looking at the file, in order.
  std::optional<Outcome> PreChecks(const ManagerRecord& mgr, Target target,
                                   const std::string& name, uint64_t ofs,
                                   uint64_t n, const std::string& op) const {
    if (ofs > kMaxOffset) {
      return Error(absl::StatusCode::kInvalidArgument,
                   {absl::StrCat("offset(", ofs, ") is beyond the largest"),
                    absl::StrCat("for file: ", name)});
    }
    if (n > kMaxOffset) {
      return Error(absl::StatusCode::kInvalidArgument,
                   {absl::StrCat("size(", n, ") is beyond the largest"),
                    absl::StrCat("for file: ", name)});
    }
    if (n > kMaxOffset - ofs) {
      return Error(absl::StatusCode::kInvalidArgument,
                   {absl::StrCat("offset(", ofs, ") + size(", n, ") overflows"),
                    absl::StrCat("for file: ", name)});
    }
    switch (target) {
      case Target::kNegative:
        return Error(absl::StatusCode::kInvalidArgument,
                     {"Invalid file descriptor: -1"});
      case Target::kEmpty:
        return Error(absl::StatusCode::kInvalidArgument, {"Empty path"});
      case Target::kNul:
        return Error(absl::StatusCode::kInvalidArgument,
                     {"Path contains a NUL character"});
      default:
        break;
    }
    if (mgr.closed) {
      return Error(absl::StatusCode::kFailedPrecondition,
                   {absl::StrCat(op, " on a closed manager for file: ", name)});
    }
    switch (target) {
      case Target::kClosedFd:
        return Error(absl::ErrnoToStatusCode(EBADF),
                     {absl::StrCat("fstat(fd ", kClosedFd, ")")});
      case Target::kMissing:
        return Error(absl::StatusCode::kNotFound,
                     {absl::StrCat("stat(", name, ")")});
      case Target::kDir:
        return Error(absl::StatusCode::kInvalidArgument,
                     {absl::StrCat("Not a regular file (directory): ", name)});
      default:
        return std::nullopt;
    }
  }

  Outcome OffsetBeyond(uint64_t ofs, const std::string& name) const {
    Outcome o = Error(absl::StatusCode::kOutOfRange,
                      {absl::StrCat("Offset(", ofs, ") beyond file-size(",
                                    size(), ") for file: ", name)});
    o.touches = true;
    o.known_after = size();
    return o;
  }

  // The outcomes of mapping the region for `ofs` with the file's current
  // size known (after a re-examination), `ok` being the success.
  void MapOutcomes(const ManagerRecord& mgr, const std::string& name,
                   uint64_t ofs, uint64_t pinned, const Outcome& ok,
                   std::vector<Outcome>* out) const {
    const uint64_t s = size();
    if (mgr.greedy && mgr.window != 0 && s > mgr.window) {
      Outcome o = Error(
          absl::StatusCode::kOutOfRange,
          {absl::StrCat("File-size exceeds window-size limit: file-size(", s,
                        ") > window-size(", mgr.window, ") for file: ", name)});
      o.touches = true;
      o.known_after = s;
      out->push_back(o);
      return;
    }
    const uint64_t index = mgr.Index(ofs);
    const uint64_t charged =
        RoundUp(mgr.End(index, s) - mgr.Begin(index), kPage);
    if (mgr.hard && charged > mgr.budget) {
      Outcome o =
          Error(absl::StatusCode::kResourceExhausted,
                {absl::StrCat("Mapping ", charged, " bytes of ", name,
                              " exceeds max_memory_size(", mgr.budget, ")")});
      o.touches = true;
      o.known_after = s;
      out->push_back(o);
      return;
    }
    if (mgr.hard && charged + pinned > mgr.budget) {
      Outcome o = Error(
          absl::StatusCode::kResourceExhausted,
          {absl::StrCat("Mapping ", charged, " bytes of ", name,
                        " would exceed max_memory_size(", mgr.budget, ")")});
      o.touches = true;
      o.known_after = s;
      out->push_back(o);
    }
    out->push_back(ok);
  }

  // The sizes of the file that `mgr` may know under `name`: those it may
  // have learnt before, and the file's size now. `*may_have_regions` (if
  // given): whether it may have regions of the file cached.
  std::set<uint64_t> KnownSizes(const ManagerRecord& mgr,
                                const std::string& name,
                                bool* may_have_regions = nullptr) const {
    std::set<uint64_t> sizes;
    bool regions = false;
    if (auto it = mgr.names.find(name); it != mgr.names.end()) {
      sizes = it->second.known;
      regions = it->second.may_have_regions;
    }
    if (may_have_regions != nullptr) *may_have_regions = regions;
    sizes.insert(size());
    return sizes;
  }

  // MakeCursor(name, ofs, n) on `mgr`: the engine's rules for when a size is
  // re-examined, applied to each size the manager may know.
  std::vector<Outcome> PredictFixed(const ManagerRecord& mgr, Target target,
                                    const std::string& name, uint64_t ofs,
                                    uint64_t n) const {
    if (std::optional<Outcome> e =
            PreChecks(mgr, target, name, ofs, n, "MakeCursor")) {
      return {*e};
    }
    const uint64_t s = size();
    bool regions = false;
    const std::set<uint64_t> candidates = KnownSizes(mgr, name, &regions);
    const uint64_t pinned = PinnedUpperBound(&mgr, /*count_sliding=*/true);
    const uint64_t index = mgr.Index(ofs);
    auto ok = [&](uint64_t k) {
      Outcome o;
      o.size = std::min(RequestEnd(k, ofs, n), mgr.End(index, k)) - ofs;
      o.file_size = k;
      o.touches = true;
      o.known_after = k;
      return o;
    };
    auto empty = [] {  // the empty cursor of an empty file
      Outcome o;
      o.touches = true;
      o.known_after = 0;
      return o;
    };
    std::vector<Outcome> out;
    for (const uint64_t k : candidates) {
      // Served from the cache without a look at the file: only a request
      // inside what the manager knows, not reaching its end. Regions never
      // reach beyond the file's current size (the fuzzer drops and collects
      // every region when the file shrinks), so no hit with k > s.
      const bool inside =
          ofs < k && std::min(RequestEnd(k, ofs, n), mgr.End(index, k)) < k;
      if (inside && regions && k <= s) out.push_back(ok(k));
      if (!inside) {
        // At or beyond the known end: re-examined first.
        if (!(ofs < s || (ofs == 0 && s == 0))) {
          out.push_back(OffsetBeyond(ofs, name));
          continue;
        }
        if (s == 0) {
          out.push_back(empty());
          continue;
        }
      } else if (ofs >= s) {
        // A miss re-examines the file before mapping: beyond its end now,
        // or the empty cursor of a file found empty.
        out.push_back(ofs == 0 && s == 0 ? empty() : OffsetBeyond(ofs, name));
        continue;
      }
      if (regions) out.push_back(ok(s));  // a hit after the re-examination
      MapOutcomes(mgr, name, ofs, pinned, ok(s), &out);
    }
    return out;
  }

  std::vector<Outcome> PredictSliding(const ManagerRecord& mgr, Target target,
                                      const std::string& name, uint64_t ofs,
                                      uint64_t n) const {
    if (std::optional<Outcome> e =
            PreChecks(mgr, target, name, ofs, n, "MakeSlidingCursor")) {
      return {*e};
    }
    const uint64_t s = size();
    std::vector<Outcome> out;
    for (uint64_t k : KnownSizes(mgr, name)) {
      // Maps nothing; re-examines the file only for a range beyond or
      // reaching the end it knows.
      if (ofs >= k || RequestEnd(k, ofs, n) >= k) {
        if (!(ofs < s || (ofs == 0 && s == 0))) {
          out.push_back(OffsetBeyond(ofs, name));
          continue;
        }
        k = s;
      }
      if (mgr.greedy && mgr.window != 0 && k > mgr.window) {
        Outcome o =
            Error(absl::StatusCode::kOutOfRange,
                  {absl::StrCat(
                      "File-size exceeds window-size limit: file-size(", k,
                      ") > window-size(", mgr.window, ") for file: ", name)});
        o.touches = true;
        o.known_after = k;
        out.push_back(o);
        continue;
      }
      Outcome o;
      o.size = RequestEnd(k, ofs, n) - ofs;
      o.file_size = k;
      o.touches = true;
      o.known_after = k;
      out.push_back(o);
    }
    return out;
  }

  // sliding_.At(i) for an index inside the cursor: the byte at file offset
  // `abs`.
  std::vector<Outcome> PredictSlidingRead(uint64_t abs) const {
    const ManagerRecord& mgr = *sliding_mgr_;
    const uint64_t s = size();
    auto it = mgr.names.find(sliding_name_);
    std::set<uint64_t> candidates;
    bool regions = false;
    if (it != mgr.names.end()) {
      candidates = it->second.known;
      regions = it->second.may_have_regions;
    }
    candidates.insert(s);
    // The cursor lets go of its own region before it looks for another.
    const uint64_t pinned = PinnedUpperBound(&mgr, /*count_sliding=*/false);
    std::vector<Outcome> out;
    auto ok = [&](uint64_t k) {
      Outcome o;
      o.touches = true;
      o.known_after = k;
      return o;
    };
    for (const uint64_t k : candidates) {
      // In the current region, or a hit: no look at the file.
      if (abs < s && (sliding_may_hold_ || (abs < k && regions && k <= s))) {
        out.push_back(ok(k));
      }
      if (abs >= s) {
        Outcome o = Error(
            absl::StatusCode::kDataLoss,
            {absl::StrCat("File shrank to ", s, " bytes, below offset ", abs,
                          " of the sliding cursor on [", sliding_.ofs(), ", ",
                          sliding_.ofs_end(), ") made when it had ",
                          sliding_.file_size(), " bytes: ", sliding_name_)});
        o.touches = true;
        o.known_after = s;
        out.push_back(o);
        continue;
      }
      if (regions) out.push_back(ok(s));
      MapOutcomes(mgr, sliding_name_, abs, pinned, ok(s), &out);
    }
    return out;
  }

  // --- Operations ----------------------------------------------------------

  void NewManager() {
    smmap::ManagerOptions options;
    if (c_.Bool()) options.window_size = PickNumber(c_, 8 * kPage);
    if (c_.Bool()) options.max_memory_size = PickNumber(c_, 8 * kPage);
    if (c_.Bool()) options.max_open_files = c_.Uniform(0, 3);
    options.hard_limits = c_.Bool();
    const bool greedy = c_.Bool();
    // ResolveOptions' rules (smmap/options.h, smmap/internal/config.cc).
    auto record = std::make_shared<ManagerRecord>();
    record->greedy = greedy;
    record->hard = options.hard_limits;
    uint64_t window =
        options.window_size.value_or(greedy ? 0 : uint64_t{1} << 30);
    record->budget = options.max_memory_size.value_or(uint64_t{8} << 30);
    std::optional<Outcome> error;
    if (window > (uint64_t{1} << 62)) {
      error = Error(
          absl::StatusCode::kInvalidArgument,
          {absl::StrCat("window_size(", window, ") is larger than 2^62")});
    } else {
      if (!greedy && window != 0) {
        uint64_t unit = 2 * kPage;
        if (window >= 4 * kMiB) unit = std::max(unit, 4 * kMiB);
        window = RoundUp(window, unit);
        record->stride = window / 2;
      }
      record->window = window;
      if (record->hard && record->budget == 0) {
        error = Error(absl::StatusCode::kInvalidArgument,
                      {"max_memory_size(0) with hard_limits"});
      } else if (record->hard && !greedy && window > record->budget) {
        error = Error(absl::StatusCode::kInvalidArgument,
                      {absl::StrCat("max_memory_size(", record->budget,
                                    ") with hard_limits is smaller than "
                                    "window_size(",
                                    window, ")")});
      }
    }
    std::vector<Outcome> expected;
    expected.push_back(error.value_or(Outcome()));
    absl::Status status;
    if (greedy) {
      auto made = smmap::GreedyMemmapManager::Create(options);
      status = made.status();
      if (made.ok()) mman_ = std::move(*made);
    } else {
      auto made = smmap::TilingMemmapManager::Create(options);
      status = made.status();
      if (made.ok()) mman_ = std::move(*made);
    }
    Expect(status, expected,
           absl::StrCat(greedy ? "greedy" : "tiling", " Create(window ",
                        options.window_size.value_or(0), ", budget ",
                        options.max_memory_size.value_or(0), ", hard ",
                        options.hard_limits, ")"),
           [](const Outcome&) { return true; });
    if (status.ok()) {
      SMMAP_FUZZ_CHECK(mman_->window_size() == record->window, "window_size");
      SMMAP_FUZZ_CHECK(mman_->max_memory_size() == record->budget,
                       "max_memory_size");
      SMMAP_FUZZ_CHECK(mman_->hard_limits() == record->hard, "hard_limits");
      if (options.max_open_files.has_value()) {
        SMMAP_FUZZ_CHECK(mman_->max_open_files() == *options.max_open_files,
                         "max_open_files");
      }
    } else {
      // The default tiling manager: 1 GiB windows, 8 GiB soft budget.
      mman_ = std::make_unique<smmap::TilingMemmapManager>();
      record = std::make_shared<ManagerRecord>();
      record->window = uint64_t{1} << 30;
      record->stride = record->window / 2;
      record->budget = uint64_t{8} << 30;
    }
    mgr_ = std::move(record);
  }

  smmap::FileRef PickFile(std::string* storage, Target* target,
                          std::string* name) {
    switch (c_.Uniform(0, 9)) {
      case 0:
        *target = Target::kFd;
        *name = FdName();
        return file_->fd();
      case 1:
        *target = Target::kNegative;
        *name = "fd -1";
        return -1;
      case 2:
        *target = Target::kClosedFd;
        *name = absl::StrCat("fd ", kClosedFd);
        return kClosedFd;
      case 3:
        *target = Target::kMissing;
        *storage = "/proc/self/fd/999999";
        break;
      case 4:
        *target = Target::kDir;
        *storage = "/proc/self";
        break;
      case 5:
        *target = Target::kEmpty;
        *storage = "";
        break;
      case 6:
        *target = Target::kNul;
        *storage = std::string("/proc/self/fd/0\0x", 17);
        break;
      default:
        *target = Target::kPath;
        *storage = file_->path();
        break;
    }
    *name = *storage;
    return absl::string_view(*storage);
  }

  // Checks a fixed cursor made by a call `expected` predicted, and its
  // bytes; records what the manager learned.
  void CheckFixed(const absl::StatusOr<smmap::FixedCursor>& got,
                  const std::vector<Outcome>& expected, ManagerRecord* mgr,
                  const std::string& name, uint64_t ofs,
                  const std::string& what) {
    const std::vector<Outcome> matched = Expect(
        got.status(), expected, what,
        [&](const Outcome& o) {
          return got->ofs() == ofs && got->size() == o.size &&
                 got->file_size() == o.file_size && !got->closed() &&
                 got->buffer().size() == o.size;
        },
        got.ok() ? absl::StrCat("ofs ", got->ofs(), ", size ", got->size(),
                                ", file_size ", got->file_size())
                 : "");
    auto it = mgr->names.find(name);
    if (matched.front().touches) {
      NameRecord& record = mgr->names[name];
      Learn(&record, matched);
      if (got.ok() && got->size() > 0) record.may_have_regions = true;
    } else if (it != mgr->names.end()) {
      Learn(&it->second, matched);
    }
    if (got.ok()) CheckBytes(got->ofs(), got->buffer(), what);
  }

  // After Collect() or Close(): only the regions cursors hold stay mapped.
  void ForgetUnusedRegions(ManagerRecord* mgr) {
    for (auto& [name, record] : mgr->names) {
      bool held = sliding_mgr_.get() == mgr && sliding_name_ == name &&
                  sliding_may_hold_;
      for (const Held& h : cursors_) {
        held |= h.mgr.get() == mgr && h.name == name && !h.cursor.closed() &&
                h.cursor.size() > 0;
      }
      record.may_have_regions = held;
    }
  }

  void ResetSliding() {
    sliding_ = smmap::SlidingCursor();
    sliding_mgr_.reset();
    sliding_name_.clear();
    sliding_may_hold_ = false;
  }

  void Step() {
    std::string storage;
    Target target;
    std::string name;
    switch (c_.Uniform(0, 9)) {
      case 0:
      case 1:
      case 2: {  // MakeCursor with any arguments
        const smmap::FileRef file = PickFile(&storage, &target, &name);
        const uint64_t ofs = PickNumber(c_, size());
        const uint64_t n = c_.Bool() ? 0 : PickNumber(c_, size());
        const std::vector<Outcome> expected =
            PredictFixed(*mgr_, target, name, ofs, n);
        absl::StatusOr<smmap::FixedCursor> got =
            mman_->MakeCursor(file, ofs, n);
        CheckFixed(got, expected, mgr_.get(), name, ofs,
                   absl::StrCat("MakeCursor(", name, ", ", ofs, ", ", n, ")"));
        if (got.ok() && cursors_.size() < 4) {
          cursors_.push_back(Held{std::move(*got), mgr_, name});
        }
        break;
      }
      case 3: {  // MakeSlidingCursor
        const smmap::FileRef file = PickFile(&storage, &target, &name);
        const uint64_t ofs = PickNumber(c_, size());
        const uint64_t n = c_.Bool() ? 0 : PickNumber(c_, size());
        const std::vector<Outcome> expected =
            PredictSliding(*mgr_, target, name, ofs, n);
        absl::StatusOr<smmap::SlidingCursor> got =
            mman_->MakeSlidingCursor(file, ofs, n);
        const std::vector<Outcome> matched = Expect(
            got.status(), expected,
            absl::StrCat("MakeSlidingCursor(", name, ", ", ofs, ", ", n, ")"),
            [&](const Outcome& o) {
              return got->ofs() == ofs && got->size() == o.size &&
                     got->file_size() == o.file_size;
            },
            got.ok() ? absl::StrCat("ofs ", got->ofs(), ", size ", got->size(),
                                    ", file_size ", got->file_size())
                     : "");
        if (matched.front().touches) Learn(&mgr_->names[name], matched);
        if (got.ok()) {
          sliding_ = std::move(*got);
          sliding_mgr_ = mgr_;
          sliding_name_ = name;
          sliding_may_hold_ = false;
        }
        break;
      }
      case 4: {  // read the sliding cursor
        // Any 64-bit index, as At() reads it: negative ones count from the
        // end.
        const int64_t n = static_cast<int64_t>(sliding_.size());
        const int64_t index =
            static_cast<int64_t>(PickNumber(c_, sliding_.size()));
        const int64_t effective = index < 0 ? index + n : index;
        absl::StatusOr<uint8_t> byte = sliding_.At(index);
        const std::string what =
            absl::StrCat("At(", index, ") of [", sliding_.ofs(), ", ",
                         sliding_.ofs_end(), ")");
        if (effective < 0 || effective >= n) {
          Expect(
              byte.status(),
              {Error(absl::StatusCode::kOutOfRange,
                     {absl::StrCat("Index(", index, ") out of range"),
                      absl::StrCat("size(", n, ") for file: ",
                                   sliding_mgr_ == nullptr ? "<none>"
                                                           : sliding_name_)})},
              what, [](const Outcome&) { return false; });
          break;
        }
        const uint64_t abs = sliding_.ofs() + static_cast<uint64_t>(effective);
        const std::vector<Outcome> matched =
            Expect(byte.status(), PredictSlidingRead(abs), what,
                   [](const Outcome&) { return true; });
        Learn(&sliding_mgr_->names[sliding_name_], matched);
        if (byte.ok()) {
          SMMAP_FUZZ_CHECK(abs < size() && *byte == file_->bytes()[abs],
                           absl::StrCat(what, ": wrong byte at ", abs));
          sliding_may_hold_ = true;
          sliding_mgr_->names[sliding_name_].may_have_regions = true;
        }
        break;
      }
      case 5: {  // cursor operations, including on closed and moved-from ones
        if (cursors_.empty()) break;
        const size_t k = c_.Uniform(0, cursors_.size() - 1);
        Held& held = cursors_[k];
        smmap::FixedCursor& cursor = held.cursor;
        switch (c_.Uniform(0, 4)) {
          case 0: {
            const bool was_open = !cursor.closed();
            const absl::Status status = cursor.Release();
            Outcome closed = Error(
                absl::StatusCode::kFailedPrecondition,
                {absl::StrCat("Release() of a cursor that is already closed "
                              "(offset ",
                              cursor.ofs(), ", size ", cursor.size(),
                              ", file: ", held.name, ")")});
            Expect(status, {was_open ? Outcome() : closed}, "Release",
                   [](const Outcome&) { return true; });
            SMMAP_FUZZ_CHECK(cursor.closed() && cursor.buffer().empty(),
                             "released cursor still open");
            break;
          }
          case 1:
            cursor.Close();
            SMMAP_FUZZ_CHECK(cursor.closed() && cursor.buffer().empty(),
                             "closed cursor still open");
            break;
          case 2: {
            smmap::FixedCursor moved = std::move(cursor);
            const Outcome unbound =
                Error(absl::StatusCode::kFailedPrecondition,
                      {"MakeCursor() on a cursor bound to no manager"});
            Expect(cursor.MakeCursor(0).status(), {unbound},
                   "moved-from MakeCursor",
                   [](const Outcome&) { return false; });
            Expect(cursor.NextCursor().status(), {unbound},
                   "moved-from NextCursor",
                   [](const Outcome&) { return false; });
            SMMAP_FUZZ_CHECK(cursor.closed() && cursor.buffer().empty() &&
                                 cursor.name().empty(),
                             "moved-from cursor");
            cursor = std::move(moved);
            break;
          }
          case 3: {  // NextCursor(size), or MakeCursor(ofs, size) on it
            const bool next = c_.Bool();
            const uint64_t ofs =
                next ? cursor.ofs_end() : PickNumber(c_, size());
            const uint64_t n = PickNumber(c_, size());
            std::vector<Outcome> expected;
            if (next && cursor.size() == 0) {
              // Nothing follows the empty cursor of an empty file.
              expected.push_back(
                  Error(absl::StatusCode::kOutOfRange,
                        {absl::StrCat("Offset(", cursor.ofs_end(),
                                      ") beyond file-size(", cursor.file_size(),
                                      ") for file: ", held.name)}));
            } else {
              expected = PredictFixed(
                  *held.mgr,
                  held.name == FdName() ? Target::kFd : Target::kPath,
                  held.name, ofs, n);
            }
            absl::StatusOr<smmap::FixedCursor> got =
                next ? cursor.NextCursor(n) : cursor.MakeCursor(ofs, n);
            CheckFixed(got, expected, held.mgr.get(), held.name, ofs,
                       absl::StrCat(next ? "NextCursor(" : "cursor MakeCursor(",
                                    ofs, ", ", n, ") of ", held.name));
            break;
          }
          default:
            cursors_.erase(cursors_.begin() + static_cast<std::ptrdiff_t>(k));
            break;
        }
        break;
      }
      case 6: {  // the file changes: grows, shrinks, is rewritten
        const uint64_t new_size = c_.Uniform(0, 4) * kPage + c_.Uniform(0, 9);
        const bool shrinks = new_size < size();
        if (shrinks) {
          // Mapped bytes beyond the new end would raise SIGBUS (the
          // documented hazard, not a finding): let go of every cursor and
          // unmap every region first. Which cached regions a cache hit could
          // still serve after the shrink depends on eviction order; none
          // left makes every outcome after a shrink exact.
          cursors_.clear();
          sliding_.ReleaseRegion();
          sliding_may_hold_ = false;
          mman_->Collect();
          for (auto& [n, record] : mgr_->names) record.may_have_regions = false;
          if (sliding_mgr_ != nullptr) {
            for (auto& [n, record] : sliding_mgr_->names) {
              record.may_have_regions = false;
            }
          }
        }
        file_->Rewrite(PatternBytes(new_size, c_.Uniform(2, 200)));
        max_size_ = std::max(max_size_, new_size);
        break;
      }
      case 7:
        mman_->Collect();
        ForgetUnusedRegions(mgr_.get());
        break;
      case 8:
        if (c_.Bool()) {
          mman_->Close();
          mgr_->closed = true;
          ForgetUnusedRegions(mgr_.get());
          SMMAP_FUZZ_CHECK(mman_->closed(), "closed()");
          const std::string path = file_->path();
          CheckFixed(mman_->MakeCursor(path),
                     PredictFixed(*mgr_, Target::kPath, path, 0, 0), mgr_.get(),
                     path, 0, "MakeCursor on a closed manager");
          Expect(mman_->MakeSlidingCursor(path).status(),
                 PredictSliding(*mgr_, Target::kPath, path, 0, 0),
                 "MakeSlidingCursor on a closed manager",
                 [](const Outcome&) { return false; });
        } else {
          mman_.reset();
          mgr_->closed = true;  // its cursors outlive it, on a closed core
          NewManager();
        }
        break;
      default:
        cursors_.clear();
        ResetSliding();
        break;
    }
    // Cursors held across calls and file changes show the file's current
    // bytes (the file only grows or is rewritten under them).
    for (const Held& h : cursors_) {
      if (!h.cursor.closed()) {
        CheckBytes(h.cursor.ofs(), h.cursor.buffer(), "held cursor");
      }
    }
  }

  ByteChoices& c_;
  std::optional<MemFile> file_;
  uint64_t max_size_ = 0;
  std::unique_ptr<smmap::MemmapManager> mman_;
  std::shared_ptr<ManagerRecord> mgr_;
  std::vector<Held> cursors_;
  smmap::SlidingCursor sliding_;
  std::shared_ptr<ManagerRecord> sliding_mgr_;  // null: no cursor bound
  std::string sliding_name_;
  // Whether the sliding cursor may hold a region (after a read).
  bool sliding_may_hold_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteChoices choices(data, size);
  Harness harness(choices);
  harness.Run();
  return 0;
}
