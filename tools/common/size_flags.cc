#include "tools/common/size_flags.h"

#include <cstdint>
#include <limits>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace smmap {
namespace tools {

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  absl::string_view digits = text;
  size_t end = 0;
  while (end < digits.size() &&
         absl::ascii_isdigit(static_cast<unsigned char>(digits[end])))
    ++end;
  absl::string_view suffix = digits.substr(end);
  digits = digits.substr(0, end);
  uint64_t value = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a size: \"", text, "\" (try 4096, 64K, 1M, 2G)"));
  }
  int shift = -1;
  const std::string unit = absl::AsciiStrToUpper(suffix);
  if (unit.empty() || unit == "B") shift = 0;
  const char* const kPrefixes = "KMGT";
  for (int i = 0; i < 4; ++i) {
    const char p = kPrefixes[i];
    if (unit == std::string(1, p) || unit == std::string(1, p) + "B" ||
        unit == std::string(1, p) + "IB") {
      shift = 10 * (i + 1);
    }
  }
  if (shift < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown size suffix in \"", text, "\" (use K, M, G or T)"));
  }
  const uint64_t max =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (value > (max >> shift)) {
    return absl::InvalidArgumentError(
        absl::StrCat("size \"", text, "\" is larger than 2^63 - 1 bytes"));
  }
  return value << shift;
}

std::string FormatSize(uint64_t bytes) {
  static const char* const kUnits[] = {"B",   "KiB", "MiB", "GiB",
                                       "TiB", "PiB", "EiB"};
  int unit = 0;
  double value = static_cast<double>(bytes);
  while (value >= 1024 && unit < 6) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return absl::StrCat(bytes, " B");
  std::string text = absl::StrFormat("%.1f", value);
  if (absl::EndsWith(text, ".0")) text.resize(text.size() - 2);
  return absl::StrCat(text, " ", kUnits[unit]);
}

}  // namespace tools
}  // namespace smmap
