// Fuzzes one manager driven by several threads at once. The input chooses
// the manager (greedy or tiling, a tiny page-multiple window, a tiny budget,
// soft or hard limits, max_open_files 1..3), a few in-memory files that do
// not change, and one operation stream per thread (2..4 threads): fixed
// cursors made, followed, read and released, sliding cursors made, read in
// every way and dropped, Collect(). The threads start together; the input
// fixes what each one does, the scheduler how they interleave.
//
// Checked: every byte any cursor shows equals the file's bytes; in hard mode
// mapped_memory_size() is never above max_memory_size, and ResourceExhausted
// comes only when the bytes cursors could have pinned during the call
// exceed the budget (see PinBound); no other error for valid requests; once
// every cursor is gone and the manager collected, no region, mapped byte or
// descriptor is left, and the process's descriptors and its mappings of the
// files are back to where they started.
//
// Only the public API (smmap/smmap.h) is used.

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "fuzz/memfd_files.h"
#include "fuzz/pin_bound.h"
#include "smmap/smmap.h"

namespace {

using ::smmap::fuzz::MemFile;
using ::smmap::fuzz::PatternBytes;
using ::smmap::fuzz::PinBound;

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
constexpr int kMaxThreads = 4;
constexpr int kMaxStepsPerThread = 48;
constexpr size_t kMaxFixed = 3;    // fixed cursors a thread holds at once
constexpr size_t kMaxSliding = 2;  // sliding cursors a thread holds at once

// Reads choices from fuzzer bytes; zeros once they run out.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool exhausted() const { return pos_ >= size_; }
  size_t remaining() const { return size_ - pos_; }

  // A value in [lo, hi], from as many bytes as the range needs.
  uint64_t Uniform(uint64_t lo, uint64_t hi) {
    if (hi <= lo) return lo;
    const uint64_t range = hi - lo;
    uint64_t value = 0;
    for (uint64_t r = range; r != 0; r >>= 8) value = (value << 8) | Byte();
    return lo + (range == UINT64_MAX ? value : value % (range + 1));
  }
  bool Bool() { return (Byte() & 1) != 0; }

  // The next `n` bytes (or fewer, at the end) as an input of their own.
  Input Take(size_t n) {
    n = std::min(n, remaining());
    Input part(data_ + pos_, n);
    pos_ += n;
    return part;
  }

 private:
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }

  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

uint64_t RoundUpToPage(uint64_t n) { return (n + kPage - 1) / kPage * kPage; }

// What all threads share: read-only after set-up, but for the manager and
// the bound.
struct Shared {
  smmap::MemmapManager* mman = nullptr;
  bool greedy = false;
  bool hard = false;
  uint64_t window = 0;  // tiling: window_size
  uint64_t budget = 0;
  std::vector<std::unique_ptr<MemFile>> files;
  std::unique_ptr<PinBound> bound;

  // A file as the manager knows it: by path or by descriptor (two entries).
  size_t Key(size_t file, bool by_fd) const { return 2 * file + by_fd; }
  // What one cursor on `file` may pin.
  uint64_t RegionBytes(size_t file) const {
    const uint64_t size = RoundUpToPage(files[file]->bytes().size());
    return greedy ? size : std::min(size, window);
  }
};

std::string Str(absl::Span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// A cursor of one thread, with what it holds in the bound.
template <typename Cursor>
struct Held {
  Cursor cursor;
  size_t file;
  size_t key;
  uint64_t bytes;
  bool counted;  // PinBound::Hold counted `bytes`
};

class Worker {
 public:
  Worker(Shared* shared, Input input) : s_(*shared), in_(input) {}

  void Run() {
    for (int step = 0; step < kMaxStepsPerThread && !in_.exhausted(); ++step) {
      switch (in_.Uniform(0, 7)) {
        case 0:
          MakeFixed();
          break;
        case 1:
          NextFixed();
          break;
        case 2:
          ReadFixed();
          break;
        case 3:
          ReleaseFixed();
          break;
        case 4:
          MakeSliding();
          break;
        case 5:
        case 6:
          ReadSliding();
          break;
        default:
          if (in_.Bool()) {
            s_.mman->Collect();
          } else if (!sliding_.empty()) {
            DropSliding(in_.Uniform(0, sliding_.size() - 1));
          }
          break;
      }
      CheckBudget();
    }
    while (!fixed_.empty()) DropFixed(0, in_.Bool());
    while (!sliding_.empty()) DropSliding(0);
  }

 private:
  const std::vector<uint8_t>& Bytes(size_t file) const {
    return s_.files[file]->bytes();
  }
  // File bytes [ofs, ofs + n) as a string.
  std::string Range(size_t file, uint64_t ofs, uint64_t n) const {
    const std::vector<uint8_t>& b = Bytes(file);
    return std::string(b.begin() + static_cast<std::ptrdiff_t>(ofs),
                       b.begin() + static_cast<std::ptrdiff_t>(ofs + n));
  }

  void CheckBudget() const {
    if (!s_.hard) return;
    const uint64_t mapped = s_.mman->mapped_memory_size();
    SMMAP_FUZZ_CHECK(
        mapped <= s_.budget,
        absl::StrCat("hard budget exceeded: ", mapped, " > ", s_.budget));
  }

  // A failed call that began when released() was `before`, for a region of
  // `bytes` that its Hold() counted or not: only a ResourceExhausted that
  // the bound allows may happen.
  void CheckRefusal(const absl::Status& status, uint64_t before, uint64_t bytes,
                    bool counted, const std::string& what) const {
    const uint64_t pinned = s_.bound->RefusalBound(before, bytes, counted);
    SMMAP_FUZZ_CHECK(
        absl::IsResourceExhausted(status) && s_.hard && pinned > s_.budget,
        absl::StrCat(what, ": ", status.ToString(), " (hard: ", s_.hard,
                     ", at most ", pinned, " bytes pinned, budget ", s_.budget,
                     ")"));
  }

  // A new fixed cursor's geometry and bytes, for a request of `want` bytes
  // (0: as many as possible) at `ofs`.
  void CheckFixed(const smmap::FixedCursor& c, size_t file, uint64_t ofs,
                  uint64_t want) const {
    const uint64_t file_size = Bytes(file).size();
    const uint64_t left = file_size - ofs;
    const uint64_t most = want == 0 ? left : std::min(want, left);
    SMMAP_FUZZ_CHECK(
        !c.closed() && c.ofs() == ofs && c.file_size() == file_size,
        absl::StrCat("cursor at ", c.ofs(), " for ", ofs));
    // Served whole unless it is longer than half a window (tiling); an
    // empty file gives an empty cursor.
    const bool whole =
        s_.greedy || file_size == 0 || (want != 0 && want <= s_.window / 2);
    SMMAP_FUZZ_CHECK(
        whole ? c.size() == most : (c.size() > 0 && c.size() <= most),
        absl::StrCat("cursor of ", c.size(), " bytes at ", ofs, " for ", want,
                     " of a file of ", file_size));
    SMMAP_FUZZ_CHECK(Str(c.buffer()) == Range(file, ofs, c.size()),
                     absl::StrCat("bytes of the cursor at ", ofs));
  }

  // The expected outcome of a request at `ofs`: an empty file gives an
  // empty cursor at 0; beyond the end is OutOfRange.
  static bool Inside(uint64_t ofs, uint64_t file_size) {
    return ofs < file_size || (ofs == 0 && file_size == 0);
  }

  void Keep(smmap::FixedCursor cursor, size_t file, size_t key, uint64_t bytes,
            bool counted) {
    if (fixed_.size() == kMaxFixed) DropFixed(0, /*strict=*/true);
    fixed_.push_back({std::move(cursor), file, key, bytes, counted});
  }

  void MakeFixed() {
    const size_t file = in_.Uniform(0, s_.files.size() - 1);
    const bool by_fd = in_.Bool();
    const uint64_t file_size = Bytes(file).size();
    const uint64_t ofs = in_.Uniform(0, file_size + 1);
    const uint64_t longest = s_.greedy ? file_size + kPage : 2 * s_.window;
    const uint64_t want = in_.Bool() ? 0 : in_.Uniform(1, longest);
    const size_t key = s_.Key(file, by_fd);
    const uint64_t bytes = s_.RegionBytes(file);
    const uint64_t before = s_.bound->released();
    const bool counted = s_.bound->Hold(key, bytes);
    absl::StatusOr<smmap::FixedCursor> c =
        by_fd ? s_.mman->MakeCursor(s_.files[file]->fd(), ofs, want)
              : s_.mman->MakeCursor(s_.files[file]->path(), ofs, want);
    if (!Inside(ofs, file_size)) {
      SMMAP_FUZZ_CHECK(absl::IsOutOfRange(c.status()),
                       absl::StrCat("MakeCursor(", ofs, ") of a file of ",
                                    file_size, ": ", c.status().ToString()));
    } else if (!c.ok()) {
      CheckRefusal(c.status(), before, bytes, counted,
                   absl::StrCat("MakeCursor(", ofs, ")"));
    }
    if (!c.ok()) {
      s_.bound->Drop(key, bytes);
      return;
    }
    CheckFixed(*c, file, ofs, want);
    Keep(*std::move(c), file, key, bytes, counted);
  }

  void NextFixed() {
    if (fixed_.empty()) return;
    const Held<smmap::FixedCursor>& h =
        fixed_[in_.Uniform(0, fixed_.size() - 1)];
    const uint64_t file_size = Bytes(h.file).size();
    const uint64_t ofs = h.cursor.ofs_end();
    const uint64_t want = h.cursor.size();
    const size_t file = h.file;
    const size_t key = h.key;
    const uint64_t bytes = h.bytes;
    const uint64_t before = s_.bound->released();
    const bool counted = s_.bound->Hold(key, bytes);
    absl::StatusOr<smmap::FixedCursor> c = h.cursor.NextCursor();
    if (ofs >= file_size) {
      SMMAP_FUZZ_CHECK(
          absl::IsOutOfRange(c.status()),
          absl::StrCat("NextCursor() at the end: ", c.status().ToString()));
    } else if (!c.ok()) {
      CheckRefusal(c.status(), before, bytes, counted,
                   absl::StrCat("NextCursor(", ofs, ")"));
    }
    if (!c.ok()) {
      s_.bound->Drop(key, bytes);
      return;
    }
    CheckFixed(*c, file, ofs, want);
    // May drop the one at the front.
    Keep(*std::move(c), file, key, bytes, counted);
  }

  void ReadFixed() {
    if (fixed_.empty()) return;
    const Held<smmap::FixedCursor>& h =
        fixed_[in_.Uniform(0, fixed_.size() - 1)];
    if (h.cursor.size() == 0) return;
    const uint64_t at = in_.Uniform(0, h.cursor.size() - 1);
    const uint64_t n = in_.Uniform(0, h.cursor.size() - at);
    std::vector<uint8_t> dst(n);
    const absl::Status status = h.cursor.ReadGuarded(at, absl::MakeSpan(dst));
    SMMAP_FUZZ_CHECK(status.ok(), status.ToString());
    SMMAP_FUZZ_CHECK(Str(dst) == Range(h.file, h.cursor.ofs() + at, n),
                     absl::StrCat("ReadGuarded(", at, ", ", n, ")"));
    SMMAP_FUZZ_CHECK(Str(h.cursor.buffer()) ==
                         Range(h.file, h.cursor.ofs(), h.cursor.size()),
                     "a held cursor's bytes changed");
  }

  void ReleaseFixed() {
    if (fixed_.empty()) return;
    DropFixed(in_.Uniform(0, fixed_.size() - 1), in_.Bool());
  }

  // Releases (strict) or closes a held fixed cursor.
  void DropFixed(size_t i, bool strict) {
    Held<smmap::FixedCursor>& h = fixed_[i];
    if (strict) {
      const absl::Status status = h.cursor.Release();
      SMMAP_FUZZ_CHECK(status.ok(), status.ToString());
      SMMAP_FUZZ_CHECK(absl::IsFailedPrecondition(h.cursor.Release()),
                       "a second Release()");
    } else {
      h.cursor.Close();
    }
    SMMAP_FUZZ_CHECK(h.cursor.closed() && h.cursor.buffer().empty(),
                     "a released cursor shows bytes");
    s_.bound->Drop(h.key, h.bytes);
    fixed_.erase(fixed_.begin() + static_cast<std::ptrdiff_t>(i));
  }

  void MakeSliding() {
    const size_t file = in_.Uniform(0, s_.files.size() - 1);
    const bool by_fd = in_.Bool();
    const uint64_t file_size = Bytes(file).size();
    const uint64_t ofs = in_.Uniform(0, file_size + 1);
    const uint64_t len = in_.Bool() ? 0 : in_.Uniform(0, file_size + 1);
    const size_t key = s_.Key(file, by_fd);
    const uint64_t bytes = s_.RegionBytes(file);
    const bool counted = s_.bound->Hold(key, bytes);  // as long as it lives
    absl::StatusOr<smmap::SlidingCursor> c =
        by_fd ? s_.mman->MakeSlidingCursor(s_.files[file]->fd(), ofs, len)
              : s_.mman->MakeSlidingCursor(s_.files[file]->path(), ofs, len);
    if (!Inside(ofs, file_size)) {
      SMMAP_FUZZ_CHECK(absl::IsOutOfRange(c.status()), c.status().ToString());
      s_.bound->Drop(key, bytes);
      return;
    }
    SMMAP_FUZZ_CHECK(c.ok(), c.status().ToString());  // it maps nothing yet
    const uint64_t end = len == 0 ? file_size : std::min(file_size, ofs + len);
    SMMAP_FUZZ_CHECK(c->ofs() == ofs && c->size() == end - ofs,
                     absl::StrCat("sliding cursor ", c->ofs(), "+", c->size()));
    if (sliding_.size() == kMaxSliding) DropSliding(0);
    sliding_.push_back({*std::move(c), file, key, bytes, counted});
  }

  void DropSliding(size_t i) {
    const size_t key = sliding_[i].key;
    const uint64_t bytes = sliding_[i].bytes;
    sliding_.erase(sliding_.begin() + static_cast<std::ptrdiff_t>(i));
    s_.bound->Drop(key, bytes);  // after the destructor let its region go
  }

  // One read of a held sliding cursor. A refused region (hard budget) is
  // judged by the bound; the cursor is then dropped, since operator[]'s
  // status() keeps the first error.
  void ReadSliding() {
    if (sliding_.empty()) return;
    const size_t which = in_.Uniform(0, sliding_.size() - 1);
    Held<smmap::SlidingCursor>& h = sliding_[which];
    smmap::SlidingCursor& c = h.cursor;
    const uint64_t n = c.size();
    const std::string all = Range(h.file, c.ofs(), n);
    const uint64_t before = s_.bound->released();
    absl::Status status;
    std::string what;
    switch (in_.Uniform(0, 5)) {
      case 0: {  // At(), negative indices too
        const int64_t i = static_cast<int64_t>(in_.Uniform(0, 2 * n + 1)) -
                          static_cast<int64_t>(n);
        absl::StatusOr<uint8_t> got = c.At(i);
        what = absl::StrCat("At(", i, ")");
        const bool inside = i < static_cast<int64_t>(n);
        if (!inside) {
          SMMAP_FUZZ_CHECK(absl::IsOutOfRange(got.status()), what);
          return;
        }
        status = got.status();
        if (got.ok()) {
          const size_t index =
              static_cast<size_t>(i < 0 ? i + static_cast<int64_t>(n) : i);
          SMMAP_FUZZ_CHECK(static_cast<char>(*got) == all[index], what);
        }
        break;
      }
      case 1: {  // operator[]
        if (n == 0) return;
        const uint64_t i = in_.Uniform(0, n - 1);
        const uint8_t got = c[i];
        what = absl::StrCat("[", i, "]");
        status = c.status();
        if (status.ok()) {
          SMMAP_FUZZ_CHECK(static_cast<char>(got) == all[i], what);
        }
        break;
      }
      case 2: {  // Slice() inside the cursor
        const uint64_t b = in_.Uniform(0, n);
        const uint64_t e = in_.Uniform(b, n);
        absl::StatusOr<smmap::Bytes> got =
            c.Slice(static_cast<int64_t>(b), static_cast<int64_t>(e));
        what = absl::StrCat("Slice(", b, ", ", e, ")");
        status = got.status();
        if (got.ok()) {
          SMMAP_FUZZ_CHECK(
              std::string(got->string_view()) == all.substr(b, e - b), what);
        }
        break;
      }
      case 3: {  // Read() or ReadGuarded()
        const uint64_t at = in_.Uniform(0, n);
        const uint64_t count = in_.Uniform(0, std::min(n - at, 3 * kPage));
        std::vector<uint8_t> dst(count);
        const bool guarded = in_.Bool();
        status = guarded ? c.ReadGuarded(at, absl::MakeSpan(dst))
                         : c.Read(at, absl::MakeSpan(dst));
        what = absl::StrCat(guarded ? "ReadGuarded(" : "Read(", at, ", ", count,
                            ")");
        if (status.ok()) {
          SMMAP_FUZZ_CHECK(Str(dst) == all.substr(at, count), what);
        }
        break;
      }
      case 4: {  // ForEachChunk()
        const uint64_t at = in_.Uniform(0, n);
        const uint64_t count = in_.Uniform(0, n - at);
        std::string got;
        status = c.ForEachChunk(at, count, [&](absl::Span<const uint8_t> s) {
          SMMAP_FUZZ_CHECK(!s.empty(), "empty chunk");
          got += Str(s);
        });
        what = absl::StrCat("ForEachChunk(", at, ", ", count, ")");
        if (status.ok()) SMMAP_FUZZ_CHECK(got == all.substr(at, count), what);
        break;
      }
      default: {  // Chunk(), then maybe let go of the region
        if (n == 0) return;
        const uint64_t at = in_.Uniform(0, n - 1);
        absl::StatusOr<absl::Span<const uint8_t>> chunk = c.Chunk(at);
        what = absl::StrCat("Chunk(", at, ")");
        status = chunk.status();
        if (chunk.ok()) {
          SMMAP_FUZZ_CHECK(
              !chunk->empty() && Str(*chunk) == all.substr(at, chunk->size()),
              what);
        }
        if (in_.Bool()) c.ReleaseRegion();
        break;
      }
    }
    if (!status.ok()) {
      CheckRefusal(status, before, h.bytes, h.counted, what);
      DropSliding(which);
    }
  }

  Shared& s_;
  Input in_;
  std::deque<Held<smmap::FixedCursor>> fixed_;
  std::deque<Held<smmap::SlidingCursor>> sliding_;
};

size_t CountOpenFds() {
  size_t n = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  SMMAP_FUZZ_CHECK(dir != nullptr, "opendir(/proc/self/fd)");
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++n;
  }
  ::closedir(dir);
  return n;
}

// Mappings of the fuzzer's files ("/memfd:smmap-fuzz (deleted)"): only the
// manager maps them. (The process's other mappings come and go with the
// allocators and thread stacks.)
size_t CountFileMappings() {
  FILE* maps = std::fopen("/proc/self/maps", "r");
  SMMAP_FUZZ_CHECK(maps != nullptr, "fopen(/proc/self/maps)");
  size_t n = 0;
  char line[4096];
  while (std::fgets(line, sizeof(line), maps) != nullptr) {
    if (std::strstr(line, "/memfd:smmap-fuzz") != nullptr) ++n;
  }
  std::fclose(maps);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const size_t fds_before = CountOpenFds();
  const size_t mappings_before = CountFileMappings();
  Input in(data, size);

  Shared s;
  s.greedy = in.Bool();
  s.hard = in.Bool();
  smmap::ManagerOptions options;
  options.hard_limits = s.hard;
  options.max_open_files = in.Uniform(1, 3);
  if (s.greedy) {
    // Files of up to 4 pages and 64 bytes; some do not fit a hard budget.
    s.budget = kPage * in.Uniform(s.hard ? 1 : 0, 12);
  } else {
    s.window = 2 * kPage * in.Uniform(1, 3);
    options.window_size = s.window;
    s.budget = s.window * in.Uniform(s.hard ? 1 : 0, 3);
  }
  options.max_memory_size = s.budget;
  const size_t num_files = in.Uniform(1, 3);
  for (size_t i = 0; i < num_files; ++i) {
    const uint64_t file_size = in.Uniform(0, 4) * kPage + in.Uniform(0, 64);
    s.files.push_back(
        std::make_unique<MemFile>(PatternBytes(file_size, in.Uniform(0, 255))));
  }
  s.bound = std::make_unique<PinBound>(s.greedy, 2 * num_files);
  const int num_threads = static_cast<int>(in.Uniform(2, kMaxThreads));
  const bool close_at_end = in.Bool();

  std::unique_ptr<smmap::MemmapManager> mman;
  if (s.greedy) {
    absl::StatusOr<std::unique_ptr<smmap::GreedyMemmapManager>> made =
        smmap::GreedyMemmapManager::Create(options);
    SMMAP_FUZZ_CHECK(made.ok(), made.status().ToString());
    mman = *std::move(made);
  } else {
    absl::StatusOr<std::unique_ptr<smmap::TilingMemmapManager>> made =
        smmap::TilingMemmapManager::Create(options);
    SMMAP_FUZZ_CHECK(made.ok(), made.status().ToString());
    mman = *std::move(made);
  }
  s.mman = mman.get();

  // Each thread gets an equal share of the rest of the input.
  const size_t share = in.remaining() / static_cast<size_t>(num_threads);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < num_threads; ++t) {
    workers.push_back(std::make_unique<Worker>(&s, in.Take(share)));
  }
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 1; t < num_threads; ++t) {
    threads.emplace_back([&go, w = workers[static_cast<size_t>(t)].get()] {
      while (!go.load(std::memory_order_acquire)) std::this_thread::yield();
      w->Run();
    });
  }
  go.store(true, std::memory_order_release);
  workers[0]->Run();
  for (std::thread& t : threads) t.join();

  // Every cursor is gone.
  SMMAP_FUZZ_CHECK(mman->num_open_cursors() == 0, "cursors left");
  SMMAP_FUZZ_CHECK(mman->num_used_regions() == 0, "used regions left");
  SMMAP_FUZZ_CHECK(!s.hard || mman->mapped_memory_size() <= s.budget,
                   "hard budget exceeded");
  SMMAP_FUZZ_CHECK(mman->num_open_files() <= *options.max_open_files,
                   absl::StrCat(mman->num_open_files(), " files open"));
  if (close_at_end) {
    mman->Close();
  } else {
    mman->Collect();
  }
  SMMAP_FUZZ_CHECK(mman->num_open_regions() == 0,
                   absl::StrCat(mman->num_open_regions(), " regions left"));
  SMMAP_FUZZ_CHECK(
      mman->mapped_memory_size() == 0,
      absl::StrCat(mman->mapped_memory_size(), " bytes left mapped"));
  SMMAP_FUZZ_CHECK(mman->num_open_files() == 0,
                   absl::StrCat(mman->num_open_files(), " descriptors left"));
  SMMAP_FUZZ_CHECK(CountFileMappings() == mappings_before,
                   absl::StrCat(CountFileMappings(),
                                " mappings of the files "
                                "left, not ",
                                mappings_before));
  mman.reset();
  s.files.clear();
  SMMAP_FUZZ_CHECK(
      CountOpenFds() == fds_before,
      absl::StrCat(CountOpenFds(), " descriptors open, not ", fds_before));
  return 0;
}
