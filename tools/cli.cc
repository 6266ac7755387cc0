#include "tools/cli.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "tools/bench/bench_file.h"
#include "tools/common/size_flags.h"

namespace smmap {
namespace tools {
namespace {

constexpr char kHead[] =
    R"(Usage: smmap COMMAND [OPTIONS] [ARGS]

Read files through smmap's memory-map managers.

Commands:
  scan FILE                   Read the whole file through a sliding cursor;
                              print a checksum (XOR of little-endian 64-bit
                              words), the throughput and the manager's
                              statistics. A progress bar goes to stderr when
                              it is a terminal and the scan is long.
  cat FILE [OFFSET [LENGTH]]  Write LENGTH bytes from OFFSET (default: all
                              from 0) to stdout; the same bytes as
                              `tail -c +OFFSET+1 FILE | head -c LENGTH`.
  bench [FILE]                Benchmark the library against raw whole-file
                              mmap, a raw window loop, read() and pread() on
                              FILE (default: a file of --size bytes made in a
                              temporary directory and removed after), in a
                              large-folio and a small-folio page cache, and
                              print the machine and the ratios against the
                              targets of docs/performance.md.
)";

constexpr char kTail[] = R"(
SIZE takes K, M, G or T suffixes (binary): 64K, 1M, 2G.
Flags take their value as --flag=VALUE or --flag VALUE; -- ends the flags.
Exit status: 0 on success, 1 on errors, 2 on bad usage.
)";

using Apply = absl::Status (*)(absl::string_view value, Config& config);

struct Flag {
  const char* name;   // without the leading "--"
  const char* value;  // the value's name in --help; null: takes no value
  bool bench_only;
  const char* help;
  Apply apply;  // null for --help only (see ParseCommandLine())
};

absl::Status Invalid(absl::string_view flag, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", message));
}

absl::Status SizeInto(absl::string_view flag, absl::string_view value,
                      std::optional<uint64_t>& out) {
  absl::StatusOr<uint64_t> size = ParseSize(value);
  if (!size.ok()) return Invalid(flag, size.status().message());
  out = *size;
  return absl::OkStatus();
}

absl::Status Skip(absl::string_view value, Config& c) {
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    if (part == "t6") {
      c.bench.t6 = false;
    } else if (part == "t9") {
      c.bench.t9 = false;
    } else if (part == "t10") {
      c.bench.t10 = false;
    } else {
      return Invalid("skip", absl::StrCat("takes t6, t9 or t10, not ", part));
    }
  }
  return absl::OkStatus();
}

absl::Status Cache(absl::string_view value, Config& c) {
  c.bench.states.clear();
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    bench::CacheState state;
    if (part == "large") {
      state = bench::CacheState::kLargeFolio;
    } else if (part == "small") {
      state = bench::CacheState::kSmallFolio;
    } else {
      return Invalid("cache", "takes large, small or large,small");
    }
    if (std::find(c.bench.states.begin(), c.bench.states.end(), state) !=
        c.bench.states.end()) {
      return Invalid("cache", absl::StrCat("names ", part, " twice"));
    }
    c.bench.states.push_back(state);
  }
  return absl::OkStatus();
}

// clang-format off
const Flag kFlags[] = {
    {"mode", "greedy|tiling", false, "Manager kind (default: tiling).",
     [](absl::string_view v, Config& c) {
       if (v != "greedy" && v != "tiling") {
         return Invalid("mode", "takes greedy or tiling");
       }
       c.manager.greedy = v == "greedy";
       return absl::OkStatus();
     }},
    {"window", "SIZE", false,
     "Tiling: region size (default 1G); greedy: the largest file (default 0, "
     "no limit).",
     [](absl::string_view v, Config& c) {
       return SizeInto("window", v, c.manager.options.window_size);
     }},
    {"budget", "SIZE", false, "Budget of mapped bytes (default 8G).",
     [](absl::string_view v, Config& c) {
       return SizeInto("budget", v, c.manager.options.max_memory_size);
     }},
    {"max-files", "N", false,
     "Budget of open files (default: a quarter of RLIMIT_NOFILE, at most "
     "4096).",
     [](absl::string_view v, Config& c) {
       uint64_t n;
       if (!absl::SimpleAtoi(v, &n)) {
         return Invalid("max-files", absl::StrCat("takes a number, not ", v));
       }
       c.manager.options.max_open_files = n;
       return absl::OkStatus();
     }},
    {"hard", nullptr, false, "Fail instead of exceeding the budget.",
     [](absl::string_view, Config& c) {
       c.manager.options.hard_limits = true;
       return absl::OkStatus();
     }},
    // Looked for before the other flags (it wins over any error): no apply.
    {"help", nullptr, false, "Show this help.", nullptr},
    {"size", "SIZE", true, "Size of the default file (default 256M, at least "
     "16M).",
     [](absl::string_view v, Config& c) {
       std::optional<uint64_t> size;
       if (absl::Status s = SizeInto("size", v, size); !s.ok()) return s;
       if (*size < (16 << 20)) return Invalid("size", "takes at least 16M");
       c.bench_size = *size;
       return absl::OkStatus();
     }},
    {"cache", "large,small", true,
     "Page-cache states to measure (default both).", Cache},
    {"quick", nullptr, true,
     "One repetition of 0.05 s per benchmark, no T6 nor T9: a rough table, "
     "fast.",
     [](absl::string_view, Config& c) {
       c.quick = true;
       return absl::OkStatus();
     }},
    {"repetitions", "N", true, "Repetitions per benchmark (default 3).",
     [](absl::string_view v, Config& c) {
       int n;
       if (!absl::SimpleAtoi(v, &n) || n < 1) {
         return Invalid("repetitions", "takes a number of at least 1");
       }
       c.bench.repetitions = n;
       return absl::OkStatus();
     }},
    {"min-time", "SECONDS", true,
     "Minimum time per repetition (default 0.2).",
     [](absl::string_view v, Config& c) {
       double s;
       if (!absl::SimpleAtod(v, &s) || !(s > 0) || !std::isfinite(s)) {
         return Invalid("min-time", "takes a positive number of seconds");
       }
       c.bench.min_time_s = s;
       return absl::OkStatus();
     }},
    {"filter", "REGEX", true,
     "Only the benchmarks whose names match (see --list).",
     [](absl::string_view v, Config& c) {
       if (!bench::Registrar::ValidFilter(std::string(v))) {
         return Invalid("filter", "is not a regular expression");
       }
       c.bench.filter = std::string(v);
       return absl::OkStatus();
     }},
    {"skip", "t6,t9,t10", true,
     "Skip threads against processes (T6), the Python comparison (T9), "
     "hits beside misses (T10, T11).", Skip},
    {"sweeps", nullptr, true,
     "Also sweep window sizes and budgets (BENCHMARKS.md's pictures).",
     [](absl::string_view, Config& c) {
       c.bench.sweeps = true;
       return absl::OkStatus();
     }},
    {"verbose", nullptr, true,
     "Print every benchmark's rows, not only the targets.",
     [](absl::string_view, Config& c) {
       c.bench.verbose = true;
       return absl::OkStatus();
     }},
    {"rows", "FILE", true,
     "Write every benchmark's rows to FILE (default: a new file in /tmp).",
     [](absl::string_view v, Config& c) {
       if (v.empty()) return Invalid("rows", "takes a FILE");
       c.bench.rows_path = std::string(v);
       return absl::OkStatus();
     }},
    {"json", "FILE", true, "Write every figure to FILE as JSON.",
     [](absl::string_view v, Config& c) {
       if (v.empty()) return Invalid("json", "takes a FILE");
       c.bench.json_path = std::string(v);
       return absl::OkStatus();
     }},
    {"list", nullptr, true, "List the benchmarks' names; measure nothing.",
     [](absl::string_view, Config& c) {
       c.bench.list = true;
       return absl::OkStatus();
     }},
};
// clang-format on

const Flag* Find(absl::string_view name) {
  for (const Flag& f : kFlags) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

void AppendHelp(std::string& out, const Flag& f) {
  std::string left = absl::StrCat("  --", f.name);
  if (f.value != nullptr) absl::StrAppend(&left, "=", f.value);
  if (left.size() < 30)
    left.resize(30, ' ');
  else
    left += "\n" + std::string(30, ' ');
  // Wraps the help text at 78 columns.
  std::string line = left;
  for (absl::string_view word : absl::StrSplit(f.help, ' ')) {
    if (line.size() + 1 + word.size() > 78 && line.size() > 30) {
      absl::StrAppend(&out, line, "\n");
      line = std::string(30, ' ');
    } else if (line.size() > 30) {
      line += ' ';
    }
    absl::StrAppend(&line, word);
  }
  absl::StrAppend(&out, line, "\n");
}

}  // namespace

std::string Usage() {
  std::string out = kHead;
  out += "\nOptions (all commands):\n";
  for (const Flag& f : kFlags) {
    if (!f.bench_only) AppendHelp(out, f);
  }
  out += "Options (bench):\n";
  for (const Flag& f : kFlags) {
    if (f.bench_only) AppendHelp(out, f);
  }
  return out + kTail;
}

absl::StatusOr<Config> ParseCommandLine(int argc, char** argv) {
  Config config;
  for (int i = 1; i < argc; ++i) {  // --help wins over any error
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-h") {
      config.help = true;
      return config;
    }
  }
  // The first bench flag given, and the first error of one: reported only
  // once the command is known to be bench ("applies to bench only" first).
  const Flag* bench_flag = nullptr;
  absl::Status bench_error;
  bool repetitions_given = false;
  bool min_time_given = false;
  bool flags_done = false;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg = argv[i];
    if (!flags_done && arg == "--") {
      flags_done = true;
      continue;
    }
    if (flags_done || !absl::ConsumePrefix(&arg, "--")) {
      if (!flags_done && absl::StartsWith(arg, "-") && arg != "-") {
        return absl::InvalidArgumentError(
            absl::StrCat("unknown option: ", argv[i]));
      }
      if (config.command.empty()) {
        config.command = std::string(arg);
      } else {
        config.args.emplace_back(arg);
      }
      continue;
    }
    const size_t eq = arg.find('=');
    const absl::string_view name = arg.substr(0, eq);
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown option: --", name));
    }
    absl::string_view value;
    if (flag->value == nullptr) {
      if (eq != absl::string_view::npos) {
        return Invalid(name, "takes no value");
      }
    } else if (eq != absl::string_view::npos) {
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc && !absl::StartsWith(argv[i + 1], "--")) {
      value = argv[++i];
    } else {
      return Invalid(name, absl::StrCat("takes a value (", flag->value, ")"));
    }
    absl::Status applied = flag->apply(value, config);
    if (flag->bench_only) {
      if (bench_flag == nullptr) bench_flag = flag;
      if (bench_error.ok()) bench_error = applied;
      repetitions_given |= name == "repetitions";
      min_time_given |= name == "min-time";
    } else {
      if (!applied.ok()) return applied;
      config.manager_given = true;
    }
  }
  if (config.command.empty()) {
    return absl::InvalidArgumentError("no command (scan, cat or bench)");
  }
  if (config.command != "scan" && config.command != "cat" &&
      config.command != "bench") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown command: ", config.command));
  }
  if (config.command != "bench" && bench_flag != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", bench_flag->name, " applies to bench only"));
  }
  if (!bench_error.ok()) return bench_error;
  if (config.quick) {
    if (!repetitions_given) config.bench.repetitions = 1;
    if (!min_time_given) config.bench.min_time_s = 0.05;
    config.bench.t6 = false;
    config.bench.t9 = false;
  }
  return config;
}

int UsageError(absl::string_view message) {
  std::fprintf(stderr, "smmap: %s\nTry 'smmap --help'.\n",
               std::string(message).c_str());
  return 2;
}

int RuntimeError(absl::string_view command, absl::string_view file,
                 const absl::Status& status) {
  std::fprintf(stderr, "smmap %s: %s: %s (%s)\n", std::string(command).c_str(),
               std::string(file).c_str(), std::string(status.message()).c_str(),
               absl::StatusCodeToString(status.code()).c_str());
  return 1;
}

}  // namespace tools
}  // namespace smmap
