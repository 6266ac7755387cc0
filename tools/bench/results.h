// What a suite run measured, as named figures, and the Google Benchmark
// reporter that collects them.
//
// A figure's name ends with its unit: "scan/read/131072.ns" (wall time per
// iteration), "scan/read/131072.bytes_per_second", "churn/paired.raw_ns"
// (a benchmark's counter), "t6/default.threads_s". Benchmark figures are
// medians over repetitions (or the only run).
//
// Thread-compatible.

#ifndef SMMAP_TOOLS_BENCH_RESULTS_H_
#define SMMAP_TOOLS_BENCH_RESULTS_H_

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"

namespace smmap {
namespace bench {

// The median of `values` (the upper one of an even count); NaN if empty.
double Median(std::vector<double> values);

class Figures {
 public:
  void Set(const std::string& name, double value) { values_[name] = value; }
  // NaN if the run did not measure it (a --filter left it out, or it
  // failed).
  double Get(const std::string& name) const;
  const std::map<std::string, double>& all() const { return values_; }

 private:
  std::map<std::string, double> values_;
};

// Collects every run's figures into `figures`, and passes the runs on to
// Google Benchmark's console reporter writing to `rows` (may be null: no
// rows). Failed runs give no figures and are named, once each, in
// failures().
class Collector : public benchmark::BenchmarkReporter {
 public:
  Collector(Figures& figures, std::ostream* rows);

  bool ReportContext(const Context& context) override;
  void ReportRuns(const std::vector<Run>& runs) override;
  void Finalize() override;

  const std::vector<std::string>& failures() const { return failures_; }

 private:
  Figures& figures_;
  std::unique_ptr<benchmark::ConsoleReporter> rows_;
  std::vector<std::string> failures_;
};

}  // namespace bench
}  // namespace smmap

#endif  // SMMAP_TOOLS_BENCH_RESULTS_H_
