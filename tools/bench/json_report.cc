#include "tools/bench/json_report.h"

#include <cerrno>
#include <cmath>
#include <ctime>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace smmap {
namespace bench {
namespace {

std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppendFormat(&out, "\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string Number(double x) {
  return std::isfinite(x) ? absl::StrFormat("%.17g", x) : "null";
}

std::string Now() {
  const std::time_t t = std::time(nullptr);
  struct tm utc;
  char text[32];
  ::gmtime_r(&t, &utc);
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string StateJson(const StateReport& s) {
  std::vector<std::string> figures;
  for (const auto& [name, value] : s.figures.all()) {
    if (std::isfinite(value)) {
      figures.push_back(
          absl::StrCat("      ", Quote(name), ": ", Number(value)));
    }
  }
  std::vector<std::string> targets;
  for (const Evaluated& e : s.targets) {
    const Target& t = *e.target;
    targets.push_back(absl::StrCat(
        "      {\"id\": ", Quote(t.id), ", \"measure\": ", Quote(t.measure),
        ", \"value\": ", Number(e.value),
        ", \"threshold\": ", Number(t.threshold),
        ", \"higher_is_better\": ", t.higher_is_better ? "true" : "false",
        ", \"unit\": ", Quote(t.unit), ", \"verdict\": ", Quote(e.verdict),
        ", \"from\": ", Quote(e.detail), "}"));
  }
  return absl::StrCat(
      "    {\"state\": ", Quote(std::string(CacheStateName(s.state))),
      ", \"resident\": ", Number(s.resident), ",\n     \"figures\": {\n",
      absl::StrJoin(figures, ",\n"), "\n     },\n     \"targets\": [\n",
      absl::StrJoin(targets, ",\n"), "\n     ]}");
}

}  // namespace

absl::Status WriteJson(const RunReport& report, const std::string& path) {
  std::vector<std::string> states;
  for (const StateReport& s : report.states) states.push_back(StateJson(s));
  const std::string text = absl::StrCat(
      "{\n  \"machine\": ", Quote(report.machine),
      ",\n  \"file\": ", Quote(report.file),
      ",\n  \"file_size\": ", report.file_size, ",\n  \"date\": ", Quote(Now()),
      ",\n  \"settings\": {\"repetitions\": ", report.repetitions,
      ", \"min_time_s\": ", Number(report.min_time_s),
      ", \"filter\": ", Quote(report.filter),
      ", \"sweeps\": ", report.sweeps ? "true" : "false",
      "},\n  \"states\": [\n", absl::StrJoin(states, ",\n"), "\n  ]\n}\n");
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    return absl::ErrnoToStatus(errno, absl::StrCat("write ", path));
  }
  return absl::OkStatus();
}

}  // namespace bench
}  // namespace smmap
