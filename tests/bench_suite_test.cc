// The benchmark suite's bookkeeping (tools/bench): every target reads
// figures that the suite produces, runs become figures under the names the
// targets use (medians of repetitions), and targets are judged as the
// table says. Measures nothing.

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "benchmark/benchmark.h"
#include "gtest/gtest.h"
#include "tools/bench/bench_file.h"
#include "tools/bench/library_benchmarks.h"
#include "tools/bench/raw_baselines.h"
#include "tools/bench/results.h"
#include "tools/bench/suite.h"
#include "tools/bench/targets.h"

namespace smmap {
namespace bench {
namespace {

// A sparse file of 64 MiB: registration looks at its size only.
std::string SparseFile() {
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR")
                                             : "/tmp") +
      "/bench-suite-test.bin";
  const int fd = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
  EXPECT_GE(fd, 0);
  EXPECT_EQ(::ftruncate(fd, 64 << 20), 0);
  ::close(fd);
  return path;
}

// The figures that measurements other than benchmarks set (suite.cc,
// threads_vs_processes.h, contention.h, python_comparison.h).
const std::set<std::string> kSideFigures = {
    "churn.window_bytes",
    "t8.bookkeeping_bytes_per_region",
    "t6/default.threads_s",
    "t6/default.processes_s",
    "t6/churn.threads_s",
    "t6/churn.processes_s",
    "python.cursor_ns",
    "python.scan_bytes_per_second",
    "t10.hits_alone_per_s",
    "t10.hits_beside_manager_per_s",
    "t10.hits_beside_raw_per_s",
    "t11.manager_misses_1_per_s",
    "t11.manager_misses_2_per_s",
    "t11.raw_misses_1_per_s",
    "t11.raw_misses_2_per_s",
    "t11.manager_scaling",
    "t11.raw_scaling",
};

// A benchmark figure: NAME.ns, NAME.bytes_per_second or NAME.COUNTER of a
// registered NAME.
bool IsBenchmarkFigure(const std::string& figure,
                       const std::set<std::string>& names) {
  const size_t dot = figure.rfind('.');
  return dot != std::string::npos && names.count(figure.substr(0, dot)) > 0;
}

// The names of the benchmarks `config` registers on a sparse file; none
// stays registered.
std::vector<std::string> RegisteredNames(const SuiteConfig& config) {
  absl::StatusOr<BenchFile> file = BenchFile::Open(SparseFile());
  EXPECT_TRUE(file.ok()) << file.status();
  if (!file.ok()) return {};
  SharedMapping mapping(*file);
  SharedManager manager(*file);
  std::vector<std::string> names =
      RegisterSuite(config, *file, mapping, manager);
  benchmark::ClearRegisteredBenchmarks();
  return names;
}

TEST(BenchSuiteTest, EveryTargetReadsFiguresTheSuiteProduces) {
  SuiteConfig config;
  config.user = tools::ManagerChoice();  // scan/sliding_user too
  const std::vector<std::string> registered = RegisteredNames(config);
  const std::set<std::string> names(registered.begin(), registered.end());
  ASSERT_GT(names.size(), 20u);
  for (const Target& t : AllTargets()) {
    for (const char* figure : {t.a, t.b}) {
      if (t.op == Target::Op::kValue && figure == t.b) continue;
      EXPECT_TRUE(IsBenchmarkFigure(figure, names) ||
                  kSideFigures.count(figure) > 0)
          << t.id << " " << t.measure << " reads " << figure
          << ", which nothing produces";
    }
  }
}

TEST(BenchSuiteTest, SweepsAreRegisteredOnlyWhenAsked) {
  SuiteConfig config;
  std::vector<std::string> names = RegisteredNames(config);
  ASSERT_FALSE(names.empty());
  for (const std::string& n : names)
    EXPECT_FALSE(absl::StartsWith(n, "sweep/"));
  config.sweeps = true;
  config.filter = "^sweep/window/sliding/";
  names = RegisteredNames(config);
  EXPECT_EQ(names.size(), 8u);  // 64 KiB to 1 GiB
  for (const std::string& n : names) {
    EXPECT_TRUE(absl::StartsWith(n, "sweep/window/sliding/")) << n;
  }
}

benchmark::BenchmarkReporter::Run MakeRun(const std::string& aggregate,
                                          double ms, double bytes_per_s) {
  benchmark::BenchmarkReporter::Run run;
  run.run_name.function_name = "scan/read/131072";
  run.run_name.min_time = "min_time:0.200";
  run.run_name.repetitions = "repeats:3";
  run.run_name.time_type = "real_time";
  run.run_type = aggregate.empty()
                     ? benchmark::BenchmarkReporter::Run::RT_Iteration
                     : benchmark::BenchmarkReporter::Run::RT_Aggregate;
  run.aggregate_name = aggregate;
  run.repetitions = 3;
  run.time_unit = benchmark::kMillisecond;
  run.iterations = 1;
  run.real_accumulated_time = ms / 1e3;  // seconds, over 1 iteration
  run.counters["bytes_per_second"] = benchmark::Counter(bytes_per_s);
  return run;
}

TEST(BenchSuiteTest, CollectorKeepsTheMedianUnderTheTargetsName) {
  Figures figures;
  Collector collector(figures, /*rows=*/nullptr);
  collector.ReportRuns({MakeRun("", 90, 1e9), MakeRun("mean", 100, 2e9),
                        MakeRun("median", 80, 3e9), MakeRun("stddev", 5, 4e9)});
  EXPECT_DOUBLE_EQ(figures.Get("scan/read/131072.ns"), 80e6);
  EXPECT_DOUBLE_EQ(figures.Get("scan/read/131072.bytes_per_second"), 3e9);
  EXPECT_TRUE(std::isnan(figures.Get("scan/read/131072/real_time.ns")));
  benchmark::BenchmarkReporter::Run failed = MakeRun("", 1, 1);
  failed.error_occurred = true;
  failed.error_message = "mmap failed";
  collector.ReportRuns({failed, failed});
  EXPECT_EQ(collector.failures(),
            std::vector<std::string>{"scan/read/131072: mmap failed"});
}

TEST(BenchSuiteTest, TargetsAreJudgedByTheirThresholds) {
  Figures figures;
  figures.Set("random4k/paired.pread_ns", 1300);
  figures.Set("random4k/paired.fixed_cursor_ns", 1000);  // 1.3x: met exactly
  figures.Set("random4k/paired.raw_mmap_ns", 800);       // 0.8x: missed
  std::vector<Evaluated> rows =
      EvaluateTargets(figures, CacheState::kSmallFolio);
  int judged = 0;
  for (const Evaluated& row : rows) {
    const std::string measure = row.target->measure;
    if (measure == "random 4 KiB: pread time / fixed cursor time, paired") {
      EXPECT_DOUBLE_EQ(row.value, 1.3);
      EXPECT_STREQ(row.verdict, "ok");
      ++judged;
    } else if (measure ==
               "random 4 KiB: raw mmap time / fixed cursor time, paired") {
      EXPECT_STREQ(row.verdict, "MISSED");
      ++judged;
    } else if (absl::StrContains(row.target->id, "(")) {
      ADD_FAILURE() << "information row without figures: " << measure;
    } else if (measure.rfind("random 4 KiB: raw mmap time / sliding", 0) == 0) {
      EXPECT_STREQ(row.verdict, "n/a");
    }
    // Large-folio only rows are not in a small-folio table.
    EXPECT_NE(std::string(row.target->id), "T1");
  }
  EXPECT_EQ(judged, 2);
}

}  // namespace
}  // namespace bench
}  // namespace smmap
