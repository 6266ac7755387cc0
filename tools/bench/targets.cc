#include "tools/bench/targets.h"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/types/span.h"

namespace smmap {
namespace bench {
namespace {

using Op = Target::Op;
using States = Target::States;

constexpr bool kHigher = true;
constexpr bool kLower = false;

// clang-format off
const Target kTargets[] = {
    {"T1", "sliding scan (default options) / whole-file mmap scan", Op::kRatio,
     "scan/sliding/default.bytes_per_second",
     "scan/raw_mmap_whole.bytes_per_second", 0.90, kHigher, "x",
     States::kLargeFolio},
    {"(T1)", "sliding scan with your manager options / whole-file mmap",
     Op::kRatio, "scan/sliding_user.bytes_per_second",
     "scan/raw_mmap_whole.bytes_per_second", NAN, kHigher, "x"},
    {"T2", "sliding scan (default options) / read() 128 KiB", Op::kRatio,
     "scan/sliding/default.bytes_per_second",
     "scan/read/131072.bytes_per_second", 1.5, kHigher, "x",
     States::kLargeFolio},
    {"T2", "sliding scan (default options) / read() 128 KiB", Op::kRatio,
     "scan/sliding/default.bytes_per_second",
     "scan/read/131072.bytes_per_second", 1.0, kHigher, "x",
     States::kSmallFolio},
    {"T3", "fixed cursor create+release, 100 regions / 4 KiB pread",
     Op::kRatio, "cursor/fixed_cached/100.ns", "random4k/pread.ns", 0.05,
     kLower, "x"},
    {"T3", "fixed cursor, most regions (up to 60000) / 100 regions",
     Op::kRatio, "cursor/fixed_cached/most.ns", "cursor/fixed_cached/100.ns",
     2.0, kLower, "x"},
    {"T4", "random 4 KiB: raw mmap time / fixed cursor time, paired",
     Op::kRatio, "random4k/paired.raw_mmap_ns",
     "random4k/paired.fixed_cursor_ns", 0.9, kHigher, "x"},
    {"T4", "random 4 KiB: pread time / fixed cursor time, paired", Op::kRatio,
     "random4k/paired.pread_ns", "random4k/paired.fixed_cursor_ns", 1.3,
     kHigher, "x"},
    {"T4", "random 4 KiB: raw mmap time / sliding cursor time, paired",
     Op::kRatio, "random4k/paired.raw_mmap_ns",
     "random4k/paired.sliding_cursor_ns", 0.9, kHigher, "x"},
    {"T5", "2 threads / 1 thread, random 4 KiB, sliding cursors", Op::kRatio,
     "threads/random4k_sliding/threads:2.bytes_per_second",
     "threads/random4k_sliding/threads:1.bytes_per_second", 1.8, kHigher, "x"},
    {"T5", "2 threads / 1 thread, random 4 KiB, fixed cursors", Op::kRatio,
     "threads/random4k_fixed/threads:2.bytes_per_second",
     "threads/random4k_fixed/threads:1.bytes_per_second", 1.8, kHigher, "x"},
    {"(L10)", "2 threads / 1 thread, random 4 KiB, one raw mapping (limit)",
     Op::kRatio, "threads/random4k_raw_mmap/threads:2.bytes_per_second",
     "threads/random4k_raw_mmap/threads:1.bytes_per_second", NAN, kHigher,
     "x"},
    {"T6", "2 threads over disjoint halves: 2 processes' time / 1 process's",
     Op::kRatio, "t6/default.processes_s", "t6/default.threads_s", 0.85,
     kHigher, "x", States::kLargeFolio},
    {"(T6)", "the same, 4 MiB windows and a 16 MiB budget (eviction)",
     Op::kRatio, "t6/churn.processes_s", "t6/churn.threads_s", NAN, kHigher,
     "x", States::kLargeFolio},
    {"T7", "time per miss above mmap+read+munmap, paired", Op::kDifference,
     "churn/paired.soft_ns", "churn/paired.raw_ns", 400, kLower, " ns"},
    {"T7", "the same with immutable_files (no lseek per region)",
     Op::kDifference, "churn/paired.immutable_ns", "churn/paired.raw_ns", 400,
     kLower, " ns"},
    {"T7", "time per miss above a raw FIFO ring of 16 mappings",
     Op::kDifference, "churn/paired.soft_ns", "churn/paired.raw_ring_ns", 400,
     kLower, " ns"},
    {"T7", "the same with immutable_files", Op::kDifference,
     "churn/paired.immutable_ns", "churn/paired.raw_ring_ns", 400, kLower,
     " ns"},
    {"(T7)", "the raw ring above mmap+read+munmap (kernel's share)",
     Op::kDifference, "churn/paired.raw_ring_ns", "churn/paired.raw_ns", NAN,
     kLower, " ns"},
    {"(T7)", "immutable_files above a raw ring mapping over its oldest, too",
     Op::kDifference, "churn/paired.immutable_ns",
     "churn/paired.raw_ring_over_ns", NAN, kLower, " ns"},
    {"T8", "hard budget: peak mapped bytes above budget", Op::kValue,
     "churn/fixed_cursor/hard.peak_over_budget", "", 0, kLower, " B"},
    {"T8", "soft budget: peak mapped bytes above budget / window", Op::kRatio,
     "churn/fixed_cursor/soft.peak_over_budget", "churn.window_bytes", 1.0,
     kLower, "x"},
    {"T8", "heap bytes of bookkeeping per cached region", Op::kValue,
     "t8.bookkeeping_bytes_per_region", "", 256, kLower, " B",
     States::kLargeFolio},
    {"T9", "cursor creation: Python smmap time / smmap time", Op::kRatio,
     "python.cursor_ns", "cursor/fixed_cached/100.ns", 50, kHigher, "x",
     States::kLargeFolio},
    {"T9", "scan, copied out in 1 MiB pieces: smmap / Python", Op::kRatio,
     "scan/sliding_copy.bytes_per_second", "python.scan_bytes_per_second", 1.0,
     kHigher, "x", States::kLargeFolio},
    {"T10", "hits/s beside manager misses / beside raw churn", Op::kRatio,
     "t10.hits_beside_manager_per_s", "t10.hits_beside_raw_per_s", 0.85,
     kHigher, "x", States::kLargeFolio},
    {"(T10)", "hits/s beside manager misses / alone", Op::kRatio,
     "t10.hits_beside_manager_per_s", "t10.hits_alone_per_s", NAN, kHigher,
     "x", States::kLargeFolio},
    {"T11", "misses, 2 threads on 2 files / 1 thread", Op::kRatio,
     "t11.manager_misses_2_per_s", "t11.manager_misses_1_per_s", 1.6, kHigher,
     "x", States::kLargeFolio},
    {"T11", "the same / the raw churn's own 2-thread scaling", Op::kRatio,
     "t11.manager_scaling", "t11.raw_scaling", 0.9, kHigher, "x",
     States::kLargeFolio},
};
// clang-format on

bool Applies(const Target& t, CacheState state) {
  switch (t.states) {
    case States::kBoth:
      return true;
    case States::kLargeFolio:
      return state == CacheState::kLargeFolio;
    case States::kSmallFolio:
      return state == CacheState::kSmallFolio;
  }
  return false;
}

}  // namespace

absl::Span<const Target> AllTargets() { return kTargets; }

std::string FormatFigure(const std::string& name, double value) {
  if (std::isnan(value)) return "n/a";
  if (absl::EndsWith(name, "bytes_per_second")) {
    return absl::StrFormat("%.2f GB/s", value / 1e9);
  }
  if (absl::EndsWith(name, "_per_s")) {
    return absl::StrFormat("%.2f M/s", value / 1e6);
  }
  if (absl::EndsWith(name, "ns")) return absl::StrFormat("%.0f ns", value);
  if (absl::EndsWith(name, "_s")) {
    return absl::StrFormat("%.0f ms", value * 1e3);
  }
  if (absl::EndsWith(name, "scaling")) return absl::StrFormat("%.2fx", value);
  return absl::StrFormat("%.0f B", value);
}

std::vector<Evaluated> EvaluateTargets(const Figures& figures,
                                       CacheState state) {
  std::vector<Evaluated> rows;
  for (const Target& t : kTargets) {
    if (!Applies(t, state)) continue;
    const double a = figures.Get(t.a);
    const double b = t.op == Op::kValue ? 0 : figures.Get(t.b);
    double value = NAN;
    std::string detail = FormatFigure(t.a, a);
    switch (t.op) {
      case Op::kRatio:
        if (std::isfinite(a) && std::isfinite(b) && b != 0) value = a / b;
        absl::StrAppend(&detail, " / ", FormatFigure(t.b, b));
        break;
      case Op::kDifference:
        value = a - b;
        absl::StrAppend(&detail, " - ", FormatFigure(t.b, b));
        break;
      case Op::kValue:
        value = a;
        break;
    }
    const bool ok =
        t.higher_is_better ? value >= t.threshold : value <= t.threshold;
    // An information row the run did not measure is left out.
    if (std::isnan(value) && std::isnan(t.threshold)) continue;
    const char* verdict = std::isnan(value)         ? "n/a"
                          : std::isnan(t.threshold) ? "info"
                          : ok                      ? "ok"
                                                    : "MISSED";
    rows.push_back({&t, value, detail, verdict});
  }
  return rows;
}

void PrintTargets(const std::vector<Evaluated>& rows, CacheState state,
                  std::FILE* out) {
  std::fprintf(out, "\nTargets, %s page cache\n",
               std::string(CacheStateName(state)).c_str());
  std::fprintf(out, "%-5s %-64s %9s %10s  %-7s %s\n", "id", "measure", "value",
               "target", "verdict", "from");
  for (const Evaluated& row : rows) {
    const Target& t = *row.target;
    // Ratios with two decimals, bytes and nanoseconds whole.
    auto number = [&t](double x) {
      return absl::string_view(t.unit) == "x"
                 ? absl::StrFormat("%.2fx", x)
                 : absl::StrFormat("%.0f%s", x, t.unit);
    };
    const std::string value = std::isnan(row.value) ? "n/a" : number(row.value);
    const std::string target =
        std::isnan(t.threshold)
            ? ""
            : absl::StrCat(t.higher_is_better ? ">= " : "<= ",
                           number(t.threshold));
    std::fprintf(out, "%-5s %-64s %9s %10s  %-7s %s\n", t.id, t.measure,
                 value.c_str(), target.c_str(), row.verdict,
                 row.detail.c_str());
  }
}

}  // namespace bench
}  // namespace smmap
