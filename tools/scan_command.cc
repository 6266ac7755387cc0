// smmap scan FILE: the file's checksum through a sliding cursor, the
// throughput and the manager's statistics; a progress bar on a terminal.

#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "smmap/smmap.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/common/manager_choice.h"
#include "tools/common/scan.h"
#include "tools/common/size_flags.h"

namespace smmap {
namespace tools {
namespace {

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

unsigned long long U(uint64_t n) { return static_cast<unsigned long long>(n); }

}  // namespace

int ScanCommand(const Config& config) {
  if (config.args.size() != 1) return UsageError("scan takes one FILE");
  const std::string& path = config.args[0];
  absl::StatusOr<std::unique_ptr<MemmapManager>> mman =
      MakeManager(config.manager);
  if (!mman.ok()) return UsageError(mman.status().message());
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  absl::StatusOr<SlidingCursor> cursor = (*mman)->MakeSlidingCursor(path);
  if (!cursor.ok()) return RuntimeError("scan", path, cursor.status());
  // On a terminal, report at most 10 times a second once the scan has
  // taken half a second.
  const uint64_t size = cursor->size();
  double last_report = 0;
  bool reported = false;
  ScanProgress progress;
  if (::isatty(STDERR_FILENO) == 1) {
    progress = [&](uint64_t done) {
      const double now = elapsed();
      if (now > 0.5 && now - last_report > 0.1) {
        Progress(done, size, now);
        last_report = now;
        reported = true;
      }
    };
  }
  absl::StatusOr<uint64_t> checksum = ScanRange(*cursor, 0, size, progress);
  const double seconds = elapsed();
  if (reported) {
    Progress(checksum.ok() ? size : 0, size, seconds);
    std::fprintf(stderr, "\n");
  }
  if (!checksum.ok()) return RuntimeError("scan", path, checksum.status());
  const ManagerStats stats = (*mman)->stats();
  std::printf("file:       %s\n", path.c_str());
  std::printf("size:       %llu bytes (%s)\n", U(size),
              FormatSize(size).c_str());
  std::printf("checksum:   %016llx\n", U(*checksum));
  std::printf("time:       %.3f s (%.2f GB/s)\n", seconds,
              seconds > 0 ? static_cast<double>(size) / seconds / 1e9 : 0.0);
  std::printf("manager:    %s\n",
              DescribeManager(**mman, config.manager.greedy).c_str());
  std::printf(
      "regions:    %llu mapped, %llu unmapped, %llu evicted, peak %llu (%s)\n",
      U(stats.regions_mapped), U(stats.regions_unmapped),
      U(stats.lru_evictions), U(stats.peak_regions),
      FormatSize(stats.peak_mapped_bytes).c_str());
  std::printf("cursors:    %llu hits, %llu misses\n", U(stats.cursor_hits),
              U(stats.cursor_misses));
  std::printf("files:      %llu opened, %llu closed\n", U(stats.files_opened),
              U(stats.files_closed));
  return 0;
}

}  // namespace tools
}  // namespace smmap
