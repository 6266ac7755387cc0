#include "tools/bench/python_comparison.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace smmap {
namespace bench {
namespace {

// tools/bench/python_bench.py, as a raw string literal (a genrule wraps it).
constexpr char kScript[] =
#include "tools/bench/python_bench.py.inc"
    ;

}  // namespace

absl::Status MeasurePython(const BenchFile& file, Figures& figures) {
  if (std::system("/usr/bin/python3 -c 'import smmap' >/dev/null 2>&1") != 0) {
    return absl::UnavailableError(
        "python3 with the smmap module (Debian's python3-smmap) is not "
        "installed");
  }
  char script[] = "/tmp/smmap-python-bench-XXXXXX";
  const int fd = ::mkstemp(script);
  if (fd < 0) return absl::ErrnoToStatus(errno, "mkstemp");
  absl::Cleanup remove = [&script] { ::unlink(script); };
  const size_t length = sizeof(kScript) - 1;
  const bool written =
      ::write(fd, kScript, length) == static_cast<ssize_t>(length);
  ::close(fd);
  if (!written) return absl::ErrnoToStatus(errno, "write python script");
  const std::string command =
      absl::StrCat("/usr/bin/python3 ", script, " '", file.path, "'");
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::ErrnoToStatus(errno, "popen");
  char key[64];
  double value;
  int found = 0;
  while (std::fscanf(pipe, "%63s %lf", key, &value) == 2) {
    if (std::strcmp(key, "cursor_ns") == 0) {
      figures.Set("python.cursor_ns", value);
      ++found;
    } else if (std::strcmp(key, "scan_bytes_per_s") == 0) {
      figures.Set("python.scan_bytes_per_second", value);
      ++found;
    }
  }
  const int status = ::pclose(pipe);
  if (status != 0 || found != 2) {
    return absl::InternalError(absl::StrCat(command, ": exit status ", status,
                                            ", ", found, " of 2 figures"));
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace smmap
