// T9: smmap against the Python library it rewrites (Debian's python3-smmap,
// upstream 5.0.0), on the same file. The Python side is the script
// tools/bench/python_bench.py, built into the binary.
//
// Thread-compatible (runs a child process).

#ifndef SMMAP_TOOLS_BENCH_PYTHON_COMPARISON_H_
#define SMMAP_TOOLS_BENCH_PYTHON_COMPARISON_H_

#include "absl/status/status.h"
#include "tools/bench/bench_file.h"
#include "tools/bench/results.h"

namespace smmap {
namespace bench {

// Runs the script under /usr/bin/python3 and sets python.cursor_ns and
// python.scan_bytes_per_second. Unavailable if python3 or its smmap module
// is missing, Internal if the script fails.
absl::Status MeasurePython(const BenchFile& file, Figures& figures);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_PYTHON_COMPARISON_H_
