// Soak test (on demand, not in the gate):
//
//   SMMAP_SOAK_SECONDS=180 bazel test --config=asan //tests:soak_test
//
// (default 120 s; the target inherits SMMAP_SOAK_SECONDS: env_inherit in
// tests/BUILD).
//
// Threads make, read and release cursors at random on one manager with tiny
// budgets, while another process keeps rewriting the files: replacing two
// of them by rename, and cutting and regrowing the third in place (read
// only through ReadGuarded(), so its SIGBUS becomes DataLoss). Every word of
// every file is (version << 48 | offset): a read is correct if each word
// names its own offset, and, for files replaced whole, if all its words
// come from one version. At the end, descriptors and mapped bytes are back
// to where they started.

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "smmap/smmap.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::testing::CountOpenFds;
using ::smmap::testing::kPage;
using ::smmap::testing::TempPath;
using ::smmap::testing::WriteFile;

const uint64_t kFileSize = 16 * kPage;

std::vector<uint8_t> Version(uint64_t version, uint64_t size) {
  std::vector<uint8_t> bytes(size);
  for (uint64_t o = 0; o + 8 <= size; o += 8) {
    const uint64_t word = (version << 48) | o;
    std::memcpy(bytes.data() + o, &word, 8);
  }
  return bytes;
}

// Whether `bytes`, read at file offset `ofs`, are words of the pattern;
// with `one_version`, all of the same version.
bool Consistent(const uint8_t* bytes, size_t n, uint64_t ofs,
                bool one_version) {
  int64_t seen = -1;
  for (uint64_t o = (ofs + 7) / 8 * 8; o + 8 <= ofs + n; o += 8) {
    uint64_t word;
    std::memcpy(&word, bytes + (o - ofs), 8);
    if ((word & ((uint64_t{1} << 48) - 1)) != o) return false;
    const int64_t version = static_cast<int64_t>(word >> 48);
    if (one_version && seen >= 0 && version != seen) return false;
    seen = version;
  }
  return true;
}

// The rewriting process: never returns.
[[noreturn]] void Rewriter(const std::vector<std::string>& paths) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive a failed test
  std::mt19937_64 rng(7);
  for (uint64_t version = 1;; ++version) {
    for (size_t i = 0; i < 2; ++i) {  // replaced whole, by rename
      const std::string tmp = paths[i] + ".new";
      WriteFile(tmp, Version(version & 0xffff, kFileSize));
      ::rename(tmp.c_str(), paths[i].c_str());
    }
    // Cut and regrown in place.
    const uint64_t cut = (rng() % 16) * kPage;
    if (::truncate(paths[2].c_str(), static_cast<off_t>(cut)) != 0) ::_exit(1);
    WriteFile(paths[2], Version(version & 0xffff, kFileSize));
    ::usleep(200);
  }
}

TEST(SoakTest, ThreadsAndARewritingProcess) {
  const char* env = std::getenv("SMMAP_SOAK_SECONDS");
  const int seconds = env != nullptr ? std::atoi(env) : 120;
  std::vector<std::string> paths;
  for (int i = 0; i < 3; ++i) {
    paths.push_back(TempPath("soak"));
    WriteFile(paths.back(), Version(0, kFileSize));
  }
  const size_t baseline = CountOpenFds();
  const pid_t rewriter = ::fork();
  if (rewriter == 0) Rewriter(paths);

  ManagerOptions options;
  options.window_size = 2 * kPage;
  options.max_memory_size = 4 * kPage;
  options.max_open_files = 1;
  auto mman = std::move(*TilingMemmapManager::Create(options));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> reads{0}, data_loss{0}, other_errors{0}, bad{0};
  auto worker = [&](uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<uint8_t> buffer(4 * kPage);
    while (!stop.load()) {
      const size_t f = rng() % 3;
      const bool in_place = f == 2;
      const uint64_t ofs = rng() % kFileSize;
      const uint64_t n = 1 + rng() % (2 * kPage);
      absl::Status status;
      bool ok_bytes = true;
      if (rng() % 2 == 0) {
        absl::StatusOr<FixedCursor> c = mman->MakeCursor(paths[f], ofs, n);
        status = c.status();
        if (c.ok()) {
          const size_t len = c->size();
          status = c->ReadGuarded(0, absl::MakeSpan(buffer).first(len));
          if (status.ok())
            ok_bytes = Consistent(buffer.data(), len, ofs, !in_place);
          if (!in_place && rng() % 2 == 0) {  // zero-copy: safe, never cut
            ok_bytes =
                ok_bytes && Consistent(c->buffer().data(), len, ofs, true);
          }
        }
      } else {
        absl::StatusOr<SlidingCursor> s = mman->MakeSlidingCursor(paths[f]);
        status = s.status();
        if (s.ok() && ofs < s->size()) {
          const size_t len = static_cast<size_t>(
              std::min<uint64_t>(3 * kPage, s->size() - ofs));
          status = s->ReadGuarded(ofs, absl::MakeSpan(buffer).first(len));
          if (status.ok())
            ok_bytes = Consistent(buffer.data(), len, ofs, !in_place);
        }
      }
      ++reads;
      if (!ok_bytes) ++bad;
      if (absl::IsDataLoss(status)) {
        ++data_loss;
      } else if (!status.ok()) {
        // A file caught between truncation and rewrite (OutOfRange), a
        // sliding cursor whose file was replaced (FailedPrecondition).
        if (!absl::IsOutOfRange(status) &&
            !absl::IsFailedPrecondition(status)) {
          std::fprintf(stderr, "unexpected: %s\n", status.ToString().c_str());
          ++bad;
        }
        ++other_errors;
      }
      if (rng() % 64 == 0) mman->Collect();
    }
  };
  std::vector<std::thread> threads;
  for (uint64_t t = 0; t < 4; ++t) threads.emplace_back(worker, 100 + t);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  stop = true;
  for (std::thread& t : threads) t.join();
  ::kill(rewriter, SIGKILL);
  ::waitpid(rewriter, nullptr, 0);

  std::printf(
      "soak: %d s, %llu reads, %llu DataLoss, %llu other errors, %llu bad\n",
      seconds, static_cast<unsigned long long>(reads.load()),
      static_cast<unsigned long long>(data_loss.load()),
      static_cast<unsigned long long>(other_errors.load()),
      static_cast<unsigned long long>(bad.load()));
  EXPECT_EQ(bad.load(), 0u);
  EXPECT_GT(reads.load(), 1000u);
  EXPECT_EQ(mman->num_open_cursors(), 0u);
  mman->Collect();
  EXPECT_EQ(mman->mapped_memory_size(), 0u);
  EXPECT_EQ(mman->num_open_regions(), 0u);
  mman.reset();
  EXPECT_EQ(CountOpenFds(), baseline);
  for (const std::string& p : paths) ::unlink(p.c_str());
}

}  // namespace
}  // namespace smmap
