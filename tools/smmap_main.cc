// The smmap command-line tool: scan, cat and benchmark files through smmap.
//
//   smmap scan FILE                 checksum, throughput and statistics
//   smmap cat FILE [OFFSET [LENGTH]]
//   smmap bench [FILE]              the library against raw baselines
//
// Run `smmap --help` for the options.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "smmap/smmap.h"
#include "tools/bench/scan.h"
#include "tools/bench/suite.h"
#include "tools/size_flags.h"

namespace smmap {
namespace tools {
namespace {

constexpr char kUsage[] =
    R"(Usage: smmap COMMAND [OPTIONS] [ARGS]

Read files through smmap's memory-map managers.

Commands:
  scan FILE                   Read the whole file through a sliding cursor;
                              print a checksum (XOR of little-endian 64-bit
                              words), the throughput and the manager's
                              statistics. A progress bar goes to stderr when
                              it is a terminal and the scan is long.
  cat FILE [OFFSET [LENGTH]]  Write LENGTH bytes from OFFSET (default: all
                              from 0) to stdout; the same bytes as
                              `tail -c +OFFSET+1 FILE | head -c LENGTH`.
  bench [FILE]                Benchmark the library against raw whole-file
                              mmap, a raw window loop, read() and pread() on
                              FILE (default: a 256 MiB file made in a
                              temporary directory), in a large-folio and a
                              small-folio page cache, and print ratios
                              against the targets of docs/performance.md.

Options (all commands):
  --mode=greedy|tiling        Manager kind (default: tiling).
  --window=SIZE               Tiling: region size (default 1G); greedy: the
                              largest file (default 0, no limit).
  --budget=SIZE               Budget of mapped bytes (default 8G).
  --max-files=N               Budget of open files (default: a quarter of
                              RLIMIT_NOFILE, at most 4096).
  --hard                      Fail instead of exceeding the budget.
  --help                      Show this help.
Options (bench):
  --size=SIZE                 Size of the default file (default 256M).
  --cache=large,small         Page-cache states to measure (default both).
  --quick                     Fewer repetitions: a rough table, fast.

SIZE takes K, M, G or T suffixes (binary): 64K, 1M, 2G.
Exit status: 0 on success, 1 on errors, 2 on bad usage.
)";

struct Flags {
  std::string mode = "tiling";
  std::optional<uint64_t> window;
  std::optional<uint64_t> budget;
  std::optional<uint64_t> max_files;
  bool hard = false;
  // bench
  uint64_t bench_size = 256 << 20;
  std::string cache = "large,small";
  bool quick = false;
};

// A usage error: message to stderr, exit 2.
int Usage(const std::string& message) {
  std::fprintf(stderr, "smmap: %s\nTry 'smmap --help'.\n", message.c_str());
  return 2;
}

// A runtime error: one line naming the file and the reason, exit 1.
int Error(absl::string_view command, absl::string_view file,
          const absl::Status& status) {
  std::fprintf(stderr, "smmap %s: %s: %s (%s)\n", std::string(command).c_str(),
               std::string(file).c_str(), std::string(status.message()).c_str(),
               absl::StatusCodeToString(status.code()).c_str());
  return 1;
}

bench::UserScan ManagerChoice(const Flags& flags) {
  bench::UserScan choice;
  choice.greedy = flags.mode == "greedy";
  choice.options.window_size = flags.window;
  choice.options.max_memory_size = flags.budget;
  choice.options.max_open_files = flags.max_files;
  choice.options.hard_limits = flags.hard;
  return choice;
}

absl::StatusOr<std::unique_ptr<MemmapManager>> MakeManager(const Flags& flags) {
  return bench::MakeManager(ManagerChoice(flags));
}

// Writes all of `bytes` to stdout.
bool WriteAll(absl::Span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

int Cat(const Flags& flags, const std::vector<std::string>& args) {
  if (args.empty() || args.size() > 3) {
    return Usage("cat takes FILE [OFFSET [LENGTH]]");
  }
  const std::string& path = args[0];
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  if (args.size() >= 2 && !absl::SimpleAtoi(args[1], &offset)) {
    return Usage(absl::StrCat("cat: OFFSET is not a number: ", args[1]));
  }
  if (args.size() == 3) {
    uint64_t n;
    if (!absl::SimpleAtoi(args[2], &n)) {
      return Usage(absl::StrCat("cat: LENGTH is not a number: ", args[2]));
    }
    length = n;
  }
  absl::StatusOr<std::unique_ptr<MemmapManager>> mman = MakeManager(flags);
  if (!mman.ok()) return Usage(std::string(mman.status().message()));
  if (length == 0) return 0;  // head -c 0
  // As tail -c +N: an offset at or past the end prints nothing. The file is
  // opened (and its size learnt) by a cursor at offset 0 first, so that a
  // missing file is still an error.
  absl::StatusOr<SlidingCursor> whole = (*mman)->MakeSlidingCursor(path);
  if (!whole.ok()) return Error("cat", path, whole.status());
  if (offset >= whole->size()) return 0;
  const uint64_t end = length.has_value() && *length < whole->size() - offset
                           ? offset + *length
                           : whole->size();
  bool written = true;
  absl::Status status = whole->ForEachChunk(
      offset, end - offset, [&written](absl::Span<const uint8_t> chunk) {
        if (written) written = WriteAll(chunk);
      });
  if (!status.ok()) return Error("cat", path, status);
  if (!written) {
    return Error("cat", "<stdout>", absl::ErrnoToStatus(errno, "write"));
  }
  return 0;
}

void Progress(uint64_t done, uint64_t total, double seconds) {
  constexpr int kWidth = 30;
  const double fraction =
      total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const int filled = static_cast<int>(fraction * kWidth);
  std::fprintf(stderr, "\r[%s%s] %3d%% %s / %s %.2f GB/s ",
               std::string(static_cast<size_t>(filled), '#').c_str(),
               std::string(static_cast<size_t>(kWidth - filled), ' ').c_str(),
               static_cast<int>(fraction * 100), FormatSize(done).c_str(),
               FormatSize(total).c_str(),
               seconds > 0 ? static_cast<double>(done) / seconds / 1e9 : 0.0);
}

int Scan(const Flags& flags, const std::vector<std::string>& args) {
  if (args.size() != 1) return Usage("scan takes one FILE");
  const std::string& path = args[0];
  absl::StatusOr<std::unique_ptr<MemmapManager>> mman = MakeManager(flags);
  if (!mman.ok()) return Usage(std::string(mman.status().message()));
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  absl::StatusOr<SlidingCursor> cursor = (*mman)->MakeSlidingCursor(path);
  if (!cursor.ok()) return Error("scan", path, cursor.status());
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  uint64_t checksum = 0;
  uint64_t done = 0;
  double last_report = 0;
  bool reported = false;
  absl::Status status = cursor->ForEachChunk(
      0, cursor->size(), [&](absl::Span<const uint8_t> chunk) {
        // Report every 64 MiB or so, at most 10 times a second, once the
        // scan has taken half a second.
        constexpr size_t kStep = 64 << 20;
        for (size_t i = 0; i < chunk.size(); i += kStep) {
          const size_t n = std::min(kStep, chunk.size() - i);
          checksum ^= bench::XorScan(chunk.data() + i, n, done);
          done += n;
          if (tty) {
            const double now = elapsed();
            if (now > 0.5 && now - last_report > 0.1) {
              Progress(done, cursor->size(), now);
              last_report = now;
              reported = true;
            }
          }
        }
      });
  const double seconds = elapsed();
  if (reported) {
    Progress(done, cursor->size(), seconds);
    std::fprintf(stderr, "\n");
  }
  if (!status.ok()) return Error("scan", path, status);
  const ManagerStats stats = (*mman)->stats();
  std::printf("file:       %s\n", path.c_str());
  std::printf("size:       %llu bytes (%s)\n",
              static_cast<unsigned long long>(cursor->size()),
              FormatSize(cursor->size()).c_str());
  std::printf("checksum:   %016llx\n",
              static_cast<unsigned long long>(checksum));
  std::printf("time:       %.3f s (%.2f GB/s)\n", seconds,
              seconds > 0 ? static_cast<double>(done) / seconds / 1e9 : 0.0);
  std::printf(
      "manager:    %s, window %s, budget %s, max files %llu, %s limits\n",
      flags.mode.c_str(),
      (*mman)->window_size() == 0 ? "whole files"
                                  : FormatSize((*mman)->window_size()).c_str(),
      FormatSize((*mman)->max_memory_size()).c_str(),
      static_cast<unsigned long long>((*mman)->max_open_files()),
      (*mman)->hard_limits() ? "hard" : "soft");
  std::printf(
      "regions:    %llu mapped, %llu unmapped, %llu evicted, peak %llu (%s)\n",
      static_cast<unsigned long long>(stats.regions_mapped),
      static_cast<unsigned long long>(stats.regions_unmapped),
      static_cast<unsigned long long>(stats.lru_evictions),
      static_cast<unsigned long long>(stats.peak_regions),
      FormatSize(stats.peak_mapped_bytes).c_str());
  std::printf("cursors:    %llu hits, %llu misses\n",
              static_cast<unsigned long long>(stats.cursor_hits),
              static_cast<unsigned long long>(stats.cursor_misses));
  std::printf("files:      %llu opened, %llu closed\n",
              static_cast<unsigned long long>(stats.files_opened),
              static_cast<unsigned long long>(stats.files_closed));
  return 0;
}

int Bench(const Flags& flags, const std::vector<std::string>& args,
          bool user_options) {
  if (args.size() > 1) return Usage("bench takes at most one FILE");
  std::string dir;
  std::vector<std::string> suite_args = {"smmap bench"};
  if (args.size() == 1) {
    suite_args.push_back("--file=" + args[0]);
  } else {
    char pattern[] = "/var/tmp/smmap-bench-XXXXXX";
    if (::mkdtemp(pattern) == nullptr) {
      return Error("bench", pattern, absl::ErrnoToStatus(errno, "mkdtemp"));
    }
    dir = pattern;
    suite_args.push_back("--dir=" + dir);
    suite_args.push_back(absl::StrCat("--size=", flags.bench_size));
  }
  suite_args.push_back("--cache=" + flags.cache);
  suite_args.push_back("--benchmark_report_aggregates_only=true");
  suite_args.push_back(flags.quick ? "--benchmark_repetitions=1"
                                   : "--benchmark_repetitions=3");
  suite_args.push_back(flags.quick ? "--benchmark_min_time=0.05"
                                   : "--benchmark_min_time=0.2");
  if (flags.quick) {
    suite_args.push_back("--no_t6");
    suite_args.push_back("--no_t9");
  }
  std::vector<char*> argv;
  for (std::string& a : suite_args) argv.push_back(a.data());
  const bench::UserScan user = ManagerChoice(flags);
  const int rc = bench::RunSuite(static_cast<int>(argv.size()), argv.data(),
                                 user_options ? &user : nullptr);
  if (!dir.empty()) {
    const std::string file =
        absl::StrCat(dir, "/smmap-bench-", flags.bench_size, ".bin");
    ::unlink(file.c_str());
    ::rmdir(dir.c_str());
  }
  return rc;
}

int Main(int argc, char** argv) {
  Flags flags;
  std::string command;
  std::vector<std::string> args;
  bool user_options = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    auto size_flag = [&](absl::string_view name,
                         std::optional<uint64_t>* out) -> int {
      absl::StatusOr<uint64_t> value = ParseSize(arg.substr(name.size()));
      if (!value.ok()) {
        return Usage(absl::StrCat(name.substr(0, name.size() - 1), ": ",
                                  value.status().message()));
      }
      *out = *value;
      user_options = true;
      return 0;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (absl::StartsWith(arg, "--mode=")) {
      flags.mode = std::string(arg.substr(7));
      if (flags.mode != "greedy" && flags.mode != "tiling") {
        return Usage("--mode takes greedy or tiling");
      }
      user_options = true;
    } else if (absl::StartsWith(arg, "--window=")) {
      if (int rc = size_flag("--window=", &flags.window)) return rc;
    } else if (absl::StartsWith(arg, "--budget=")) {
      if (int rc = size_flag("--budget=", &flags.budget)) return rc;
    } else if (absl::StartsWith(arg, "--max-files=")) {
      uint64_t n;
      if (!absl::SimpleAtoi(arg.substr(12), &n)) {
        return Usage(
            absl::StrCat("--max-files takes a number, not ", arg.substr(12)));
      }
      flags.max_files = n;
      user_options = true;
    } else if (arg == "--hard") {
      flags.hard = true;
      user_options = true;
    } else if (absl::StartsWith(arg, "--size=")) {
      absl::StatusOr<uint64_t> value = ParseSize(arg.substr(7));
      if (!value.ok() || *value < (16 << 20)) {
        return Usage("--size takes a size of at least 16M");
      }
      flags.bench_size = *value;
    } else if (absl::StartsWith(arg, "--cache=")) {
      flags.cache = std::string(arg.substr(8));
      if (flags.cache != "large" && flags.cache != "small" &&
          flags.cache != "large,small" && flags.cache != "small,large") {
        return Usage("--cache takes large, small or large,small");
      }
    } else if (arg == "--quick") {
      flags.quick = true;
    } else if (absl::StartsWith(arg, "-") && arg != "-") {
      return Usage(absl::StrCat("unknown option: ", arg));
    } else if (command.empty()) {
      command = std::string(arg);
    } else {
      args.emplace_back(arg);
    }
  }
  if (command == "scan") return Scan(flags, args);
  if (command == "cat") return Cat(flags, args);
  if (command == "bench") return Bench(flags, args, user_options);
  if (command.empty()) return Usage("no command (scan, cat or bench)");
  return Usage(absl::StrCat("unknown command: ", command));
}

}  // namespace
}  // namespace tools
}  // namespace smmap

int main(int argc, char** argv) { return smmap::tools::Main(argc, argv); }
