// Fuzzes sliding cursors: a cursor on a fuzzed range of an in-memory file,
// read by indices (negative too), Python slices with any bounds, reads and
// chunk scans with any offsets and lengths, under a tiny window and budget.
// Every answer is compared with the file's bytes and with Python's rules;
// out-of-range requests must give OutOfRange, never a crash.

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
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
constexpr int kMaxSteps = 100;

// An index as a fuzzer would pick it: small, near the ends, or extreme.
int64_t PickIndex(ByteChoices& c, int64_t n) {
  switch (c.Uniform(0, 5)) {
    case 0:
      return static_cast<int64_t>(c.Uniform(0, static_cast<uint64_t>(n) + 2));
    case 1:
      return -static_cast<int64_t>(c.Uniform(0, static_cast<uint64_t>(n) + 2));
    case 2:
      return n - static_cast<int64_t>(c.Uniform(0, 3));
    case 3:
      return std::numeric_limits<int64_t>::min() +
             static_cast<int64_t>(c.Uniform(0, 2));
    case 4:
      return std::numeric_limits<int64_t>::max() -
             static_cast<int64_t>(c.Uniform(0, 2));
    default:
      return static_cast<int64_t>(c.Uniform(0, UINT64_MAX));
  }
}

// Python's s[begin:end].
std::string PySlice(const std::string& s, int64_t begin, int64_t end) {
  const int64_t n = static_cast<int64_t>(s.size());
  auto norm = [n](int64_t i) {
    if (i < 0) i = i < -n ? 0 : i + n;
    return std::min(i, n);
  };
  const int64_t b = norm(begin);
  const int64_t e = norm(end);
  return b >= e ? std::string()
                : s.substr(static_cast<size_t>(b), static_cast<size_t>(e - b));
}

std::string Str(absl::Span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteChoices c(data, size);
  const bool greedy = c.Bool();
  const uint64_t file_size = c.Uniform(0, 5) * kPage + c.Uniform(0, 64);
  MemFile file(PatternBytes(file_size, c.Uniform(0, 255)));
  smmap::ManagerOptions options;
  options.hard_limits = c.Bool();
  options.max_open_files = c.Uniform(0, 1);
  std::unique_ptr<smmap::MemmapManager> mman;
  if (greedy) {
    options.max_memory_size = 6 * kPage;  // one whole file
    mman = std::move(*smmap::GreedyMemmapManager::Create(options));
  } else {
    options.window_size = 2 * kPage * c.Uniform(1, 3);
    options.max_memory_size = *options.window_size;  // one region
    mman = std::move(*smmap::TilingMemmapManager::Create(options));
  }
  const uint64_t ofs = c.Uniform(0, file_size + 1);
  const uint64_t len = c.Bool() ? 0 : c.Uniform(0, file_size + 1);
  const bool by_fd = c.Bool();
  absl::StatusOr<smmap::SlidingCursor> made =
      by_fd ? mman->MakeSlidingCursor(file.fd(), ofs, len)
            : mman->MakeSlidingCursor(file.path(), ofs, len);
  if (ofs >= file_size && !(ofs == 0 && file_size == 0)) {
    SMMAP_FUZZ_CHECK(absl::IsOutOfRange(made.status()),
                     made.status().ToString());
    return 0;
  }
  SMMAP_FUZZ_CHECK(made.ok(), made.status().ToString());
  smmap::SlidingCursor& cursor = *made;
  const uint64_t end = len == 0 ? file_size : std::min(file_size, ofs + len);
  SMMAP_FUZZ_CHECK(cursor.ofs() == ofs && cursor.size() == end - ofs,
                   absl::StrCat(cursor.ofs(), " ", cursor.size()));
  const std::string all(
      file.bytes().begin() + static_cast<std::ptrdiff_t>(ofs),
      file.bytes().begin() + static_cast<std::ptrdiff_t>(end));
  const int64_t n = static_cast<int64_t>(all.size());

  for (int step = 0; step < kMaxSteps && !c.Exhausted(); ++step) {
    switch (c.Uniform(0, 5)) {
      case 0: {  // At()
        const int64_t i = PickIndex(c, n);
        absl::StatusOr<uint8_t> got = cursor.At(i);
        const bool inside = i >= -n && i < n;
        SMMAP_FUZZ_CHECK(got.ok() == inside,
                         absl::StrCat(i, " ", got.status().ToString()));
        if (inside) {
          SMMAP_FUZZ_CHECK(
              !got.ok() || static_cast<char>(*got) ==
                               all[static_cast<size_t>(i < 0 ? i + n : i)],
              absl::StrCat("At(", i, ")"));
        } else {
          SMMAP_FUZZ_CHECK(absl::IsOutOfRange(got.status()),
                           got.status().ToString());
        }
        break;
      }
      case 1: {  // operator[] on valid indices
        if (n == 0) break;
        const uint64_t i = c.Uniform(0, static_cast<uint64_t>(n) - 1);
        SMMAP_FUZZ_CHECK(static_cast<char>(cursor[i]) == all[i],
                         absl::StrCat("[", i, "]"));
        SMMAP_FUZZ_CHECK(cursor.status().ok(), cursor.status().ToString());
        break;
      }
      case 2: {  // Slice()
        const int64_t b = PickIndex(c, n);
        const bool open_end = c.Bool();
        const int64_t e = open_end ? n : PickIndex(c, n);
        absl::StatusOr<smmap::Bytes> got =
            open_end ? cursor.Slice(b) : cursor.Slice(b, e);
        SMMAP_FUZZ_CHECK(got.ok(), got.status().ToString());
        SMMAP_FUZZ_CHECK(std::string(got->string_view()) == PySlice(all, b, e),
                         absl::StrCat("Slice(", b, ", ", e, ")"));
        break;
      }
      case 3: {  // Read()
        const uint64_t at = c.Uniform(0, static_cast<uint64_t>(n) + 2);
        const uint64_t count = c.Uniform(0, 3 * kPage);
        std::vector<uint8_t> dst(count);
        absl::Status status = cursor.Read(at, absl::MakeSpan(dst));
        const bool inside = at <= static_cast<uint64_t>(n) &&
                            count <= static_cast<uint64_t>(n) - at;
        SMMAP_FUZZ_CHECK(status.ok() == inside, status.ToString());
        if (inside) {
          SMMAP_FUZZ_CHECK(Str(dst) == all.substr(at, count),
                           absl::StrCat("Read(", at, ")"));
        } else {
          SMMAP_FUZZ_CHECK(absl::IsOutOfRange(status), status.ToString());
        }
        break;
      }
      case 4: {  // ForEachChunk() with any offset and length
        const uint64_t at = c.Bool()
                                ? c.Uniform(0, static_cast<uint64_t>(n) + 2)
                                : c.Uniform(0, UINT64_MAX);
        const uint64_t count = c.Bool()
                                   ? c.Uniform(0, static_cast<uint64_t>(n) + 2)
                                   : c.Uniform(0, UINT64_MAX);
        std::string got;
        absl::Status status = cursor.ForEachChunk(
            at, count, [&](absl::Span<const uint8_t> chunk) {
              SMMAP_FUZZ_CHECK(!chunk.empty(), "empty chunk");
              got += Str(chunk);
            });
        const bool inside = at <= static_cast<uint64_t>(n) &&
                            count <= static_cast<uint64_t>(n) - at;
        SMMAP_FUZZ_CHECK(status.ok() == inside, status.ToString());
        if (inside)
          SMMAP_FUZZ_CHECK(got == all.substr(at, count), "chunks differ");
        break;
      }
      default: {  // Chunk(), and letting go of the region
        const uint64_t at = c.Uniform(0, static_cast<uint64_t>(n) + 1);
        absl::StatusOr<absl::Span<const uint8_t>> chunk = cursor.Chunk(at);
        SMMAP_FUZZ_CHECK(chunk.ok() == (at < static_cast<uint64_t>(n)),
                         chunk.status().ToString());
        if (chunk.ok()) {
          SMMAP_FUZZ_CHECK(
              !chunk->empty() && Str(*chunk) == all.substr(at, chunk->size()),
              absl::StrCat("Chunk(", at, ")"));
        }
        if (c.Bool()) cursor.ReleaseRegion();
        break;
      }
    }
    SMMAP_FUZZ_CHECK(mman->num_used_regions() <= 1,
                     "a sliding cursor pins one region");
  }
  return 0;
}
