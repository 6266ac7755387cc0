// linecount FILE...: lines, bytes and checksum of each file, read through
// smmap and checked against read(). Exits 1 on an error, 2 if the two ways
// disagree.

#include <cstdio>
#include <string>

#include "linecount/file_stats.h"
#include "smmap/manager.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE...\n", argv[0]);
    return 1;
  }
  smmap::TilingMemmapManager mman;  // 1 GiB windows: files of any size
  int rc = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string path = argv[i];
    absl::StatusOr<linecount::FileStats> mapped =
        linecount::StatsWithSmmap(mman, path);
    absl::StatusOr<linecount::FileStats> plain = linecount::StatsWithRead(path);
    if (!mapped.ok() || !plain.ok()) {
      const absl::Status& error =
          !mapped.ok() ? mapped.status() : plain.status();
      std::fprintf(stderr, "%s: %s\n", path.c_str(), error.ToString().c_str());
      rc = rc == 0 ? 1 : rc;
      continue;
    }
    if (*mapped != *plain) {
      std::fprintf(stderr, "%s: smmap says %s, read() says %s\n", path.c_str(),
                   linecount::ToString(*mapped).c_str(),
                   linecount::ToString(*plain).c_str());
      rc = 2;
      continue;
    }
    std::printf("%s: %s\n", path.c_str(), linecount::ToString(*mapped).c_str());
  }
  return rc;
}
