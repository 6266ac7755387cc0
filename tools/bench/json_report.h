// A suite run as JSON, for plotting (tools/bench/plot.py) and for comparing
// runs across commits:
//
//   {"machine": "...", "file": "...", "file_size": N, "date": "...",
//    "settings": {"repetitions": N, "min_time_s": X, "filter": "...",
//                 "sweeps": false},
//    "states": [{"state": "large-folio", "resident": 1.0,
//                "figures": {"scan/read/131072.ns": 1.2e8, ...},
//                "targets": [{"id": "T1", "measure": "...", "value": 0.92,
//                             "threshold": 0.9, "higher_is_better": true,
//                             "unit": "x", "verdict": "ok",
//                             "from": "12.3 GB/s / 13.3 GB/s"}, ...]},
//               ...]}
//
// A figure the run did not measure is left out; a target without a value
// has "value": null. Bytes of 0x80 and above pass through: a path that is
// not UTF-8 makes JSON that strict readers refuse.
//
// Thread-compatible.

#ifndef SMMAP_TOOLS_BENCH_JSON_REPORT_H_
#define SMMAP_TOOLS_BENCH_JSON_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/bench/page_cache.h"
#include "tools/bench/results.h"
#include "tools/bench/targets.h"

namespace smmap {
namespace bench {

struct StateReport {
  CacheState state;
  double resident;  // fraction of the file's pages in the page cache
  Figures figures;
  std::vector<Evaluated> targets;
};

struct RunReport {
  std::string machine;
  std::string file;
  uint64_t file_size = 0;
  int repetitions = 0;
  double min_time_s = 0;
  std::string filter;
  bool sweeps = false;
  std::vector<StateReport> states;
};

// Writes `report` to `path`; the errno of a failed write, with the path.
absl::Status WriteJson(const RunReport& report, const std::string& path);

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_JSON_REPORT_H_
