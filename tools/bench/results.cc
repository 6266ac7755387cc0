#include "tools/bench/results.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"

namespace smmap {
namespace bench {
namespace {

// A run's name without the parts its settings add: "scan/read/131072/
// min_time:0.200/repeats:3/real_time" -> "scan/read/131072". The number of
// threads stays ("threads/random4k_fixed/threads:2").
std::string FigureName(const std::string& run_name) {
  std::vector<absl::string_view> kept;
  for (absl::string_view part : absl::StrSplit(run_name, '/')) {
    if (part == "real_time" || absl::StartsWith(part, "min_time:") ||
        absl::StartsWith(part, "repeats:")) {
      continue;
    }
    kept.push_back(part);
  }
  return absl::StrJoin(kept, "/");
}

}  // namespace

double Median(std::vector<double> values) {
  if (values.empty()) return NAN;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

double Figures::Get(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? NAN : it->second;
}

Collector::Collector(Figures& figures, std::ostream* rows) : figures_(figures) {
  if (rows != nullptr) {
    rows_ = std::make_unique<benchmark::ConsoleReporter>(
        benchmark::ConsoleReporter::OO_Tabular);
    rows_->SetOutputStream(rows);
    rows_->SetErrorStream(rows);
  }
}

bool Collector::ReportContext(const Context& context) {
  return rows_ == nullptr || rows_->ReportContext(context);
}

void Collector::ReportRuns(const std::vector<Run>& runs) {
  if (rows_ != nullptr) rows_->ReportRuns(runs);
  for (const Run& run : runs) {
    const std::string name = FigureName(run.run_name.str());
    if (run.error_occurred) {
      const std::string failure = name + ": " + run.error_message;
      if (std::find(failures_.begin(), failures_.end(), failure) ==
          failures_.end()) {
        failures_.push_back(failure);
      }
      continue;
    }
    // The median of repetitions, or a run that was not repeated.
    const bool median =
        run.run_type == Run::RT_Aggregate && run.aggregate_name == "median";
    if (!median && (run.run_type == Run::RT_Aggregate || run.repetitions > 1)) {
      continue;
    }
    const double ns = run.GetAdjustedRealTime() *
                      benchmark::GetTimeUnitMultiplier(benchmark::kNanosecond) /
                      benchmark::GetTimeUnitMultiplier(run.time_unit);
    figures_.Set(name + ".ns", ns);
    for (const auto& [key, counter] : run.counters) {
      figures_.Set(name + "." + key, counter.value);
    }
  }
}

void Collector::Finalize() {
  if (rows_ != nullptr) rows_->Finalize();
}

}  // namespace bench
}  // namespace smmap
