#include "tools/bench/suite.h"

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "tools/bench/bench_file.h"
#include "tools/bench/churn.h"
#include "tools/bench/contention.h"
#include "tools/bench/json_report.h"
#include "tools/bench/library_benchmarks.h"
#include "tools/bench/page_cache.h"
#include "tools/bench/python_comparison.h"
#include "tools/bench/raw_baselines.h"
#include "tools/bench/results.h"
#include "tools/bench/targets.h"
#include "tools/bench/threads_vs_processes.h"
#include "tools/common/size_flags.h"

namespace smmap {
namespace bench {
namespace {

int Error(const absl::Status& status) {
  std::fprintf(stderr, "smmap bench: %s\n", status.ToString().c_str());
  return 1;
}

// The sweeps' points: windows of 64 KiB to 1 GiB, budgets of 1/4096 of
// the file to all of it.
const std::vector<uint64_t> kSweepWindows = {64 * kKiB,  256 * kKiB, 1 * kMiB,
                                             4 * kMiB,   16 * kMiB,  64 * kMiB,
                                             256 * kMiB, 1024 * kMiB};
const std::vector<uint64_t> kChurnDivisors = {4096, 1024, 256, 64, 16, 4, 2, 1};

}  // namespace

std::vector<std::string> RegisterSuite(const SuiteConfig& config,
                                       const BenchFile& file,
                                       SharedMapping& mapping,
                                       SharedManager& manager) {
  Registrar registrar(config.repetitions, config.min_time_s, config.filter);
  RegisterRawBaselines(registrar, file, mapping);
  RegisterLibraryBenchmarks(registrar, file, manager, config.user);
  RegisterChurn(registrar, file);
  if (config.sweeps) {
    RegisterRawWindowSweep(registrar, file, kSweepWindows);
    RegisterSlidingWindowSweep(registrar, file, kSweepWindows);
    RegisterChurnCurve(registrar, file, kChurnDivisors);
  }
  return registrar.names();
}

namespace {

// Where the rows go: stdout (verbose), the configured file, or a new file
// in $TMPDIR (default /tmp). Sets `path` to the file's name ("" for
// stdout).
absl::Status OpenRows(const SuiteConfig& config, std::ofstream& file,
                      std::string& path) {
  if (config.verbose) return absl::OkStatus();
  path = config.rows_path;
  if (path.empty()) {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string name =
        absl::StrCat(tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp",
                     "/smmap-bench-rows-XXXXXX.txt");
    const int fd = ::mkstemps(name.data(), 4);
    if (fd < 0)
      return absl::ErrnoToStatus(errno, absl::StrCat("mkstemps ", name));
    ::close(fd);
    path = name;
  }
  file.open(path, std::ios::trunc);
  if (!file) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  return absl::OkStatus();
}

// Everything measured in one page-cache state.
absl::Status MeasureState(const SuiteConfig& config, const BenchFile& file,
                          const std::vector<std::string>& names,
                          CacheState state, std::ostream* rows,
                          SharedMapping& mapping, SharedManager& manager,
                          StateReport& report) {
  if (absl::Status s = SetCacheState(file.path, state); !s.ok()) return s;
  absl::StatusOr<double> resident = ResidentFraction(file.path);
  report.state = state;
  report.resident = resident.ok() ? *resident : -1;
  std::printf("\nPage cache: %s (%.0f%% resident), measuring...\n",
              std::string(CacheStateName(state)).c_str(),
              report.resident * 100);
  std::fflush(stdout);
  if (rows != nullptr) {
    *rows << "\n== " << CacheStateName(state) << " page cache\n";
  }
  Figures& figures = report.figures;
  figures.Set("churn.window_bytes", static_cast<double>(kChurnWindow));
  Collector collector(figures, rows);
  if (!names.empty()) benchmark::RunSpecifiedBenchmarks(&collector);
  if (rows != nullptr) rows->flush();
  // Nothing of the file may stay mapped across states.
  mapping.Reset();
  manager.Reset();
  for (const std::string& failure : collector.failures()) {
    std::printf("  failed: %s\n", failure.c_str());
  }
  if (state == CacheState::kLargeFolio) {
    figures.Set("t8.bookkeeping_bytes_per_region",
                BookkeepingBytesPerRegion(file));
    if (config.t6) {
      MeasureThreadsAgainstProcesses(file, /*passes=*/3, /*trials=*/5, figures);
    }
    if (config.t10) {
      MeasureContention(file, /*phase_seconds=*/1.0, /*trials=*/3, figures);
    }
    if (config.t9) {
      if (absl::Status s = MeasurePython(file, figures); !s.ok()) {
        std::printf("  T9 not measured: %s\n",
                    std::string(s.message()).c_str());
      }
    }
  }
  report.targets = EvaluateTargets(figures, state);
  PrintTargets(report.targets, state, stdout);
  return absl::OkStatus();
}

}  // namespace

int RunSuite(const SuiteConfig& config) {
  absl::StatusOr<BenchFile> file = BenchFile::Open(config.path);
  if (!file.ok()) return Error(file.status());
  SharedMapping mapping(*file);
  SharedManager manager(*file);
  // The registered benchmarks point at this frame's file, mapping and
  // manager: none may outlive it.
  benchmark::ClearRegisteredBenchmarks();
  absl::Cleanup clear = [] { benchmark::ClearRegisteredBenchmarks(); };
  const std::vector<std::string> names =
      RegisterSuite(config, *file, mapping, manager);
  if (config.list) {  // multi-threaded ones run as NAME/threads:N
    for (const std::string& name : names) std::printf("%s\n", name.c_str());
    return 0;
  }
  if (!config.json_path.empty()) {  // fail now, not after the measurements
    std::ofstream probe(config.json_path, std::ios::app);
    if (!probe) {
      return Error(
          absl::ErrnoToStatus(errno, absl::StrCat("open ", config.json_path)));
    }
  }
  std::ofstream rows_file;
  std::string rows_path;
  if (absl::Status s = OpenRows(config, rows_file, rows_path); !s.ok()) {
    return Error(s);
  }
  std::ostream* rows = config.verbose ? &std::cout : &rows_file;
  RunReport report;
  report.machine = MachineDescription();
  report.file = file->path;
  report.file_size = file->size;
  report.repetitions = config.repetitions;
  report.min_time_s = config.min_time_s;
  report.filter = config.filter;
  report.sweeps = config.sweeps;
  std::printf("smmap bench: %s (%s)\nMachine: %s\n", file->path.c_str(),
              tools::FormatSize(file->size).c_str(), report.machine.c_str());
  if (!rows_path.empty()) {
    std::printf("Rows of every benchmark: %s\n", rows_path.c_str());
  }
  for (CacheState state : config.states) {
    StateReport& r = report.states.emplace_back();
    absl::Status s =
        MeasureState(config, *file, names, state, rows, mapping, manager, r);
    if (!s.ok()) return Error(s);
  }
  if (!config.json_path.empty()) {
    if (absl::Status s = WriteJson(report, config.json_path); !s.ok()) {
      return Error(s);
    }
    std::printf("\nEvery figure: %s\n", config.json_path.c_str());
  }
  if (!rows_path.empty()) {
    std::printf("Rows of every benchmark: %s\n", rows_path.c_str());
  }
  return 0;
}

}  // namespace bench
}  // namespace smmap
