// smmap cat FILE [OFFSET [LENGTH]]: the bytes of `tail -c +OFFSET+1 FILE |
// head -c LENGTH`, read through a sliding cursor.

#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "smmap/smmap.h"
#include "tools/cli.h"
#include "tools/commands.h"
#include "tools/common/manager_choice.h"

namespace smmap {
namespace tools {
namespace {

// Writes all of `bytes` to stdout.
bool WriteAll(absl::Span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(STDOUT_FILENO, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

int CatCommand(const Config& config) {
  const std::vector<std::string>& args = config.args;
  if (args.empty() || args.size() > 3) {
    return UsageError("cat takes FILE [OFFSET [LENGTH]]");
  }
  const std::string& path = args[0];
  uint64_t offset = 0;
  std::optional<uint64_t> length;
  if (args.size() >= 2 && !absl::SimpleAtoi(args[1], &offset)) {
    return UsageError(absl::StrCat("cat: OFFSET is not a number: ", args[1]));
  }
  if (args.size() == 3) {
    uint64_t n;
    if (!absl::SimpleAtoi(args[2], &n)) {
      return UsageError(absl::StrCat("cat: LENGTH is not a number: ", args[2]));
    }
    length = n;
  }
  absl::StatusOr<std::unique_ptr<MemmapManager>> mman =
      MakeManager(config.manager);
  if (!mman.ok()) return UsageError(mman.status().message());
  if (length == 0) return 0;  // head -c 0
  // As tail -c +N: an offset at or past the end prints nothing. The file is
  // opened (and its size learnt) by a cursor at offset 0 first, so that a
  // missing file is still an error.
  absl::StatusOr<SlidingCursor> whole = (*mman)->MakeSlidingCursor(path);
  if (!whole.ok()) return RuntimeError("cat", path, whole.status());
  if (offset >= whole->size()) return 0;
  const uint64_t end = length.has_value() && *length < whole->size() - offset
                           ? offset + *length
                           : whole->size();
  bool written = true;
  absl::Status status = whole->ForEachChunk(
      offset, end - offset, [&written](absl::Span<const uint8_t> chunk) {
        if (written) written = WriteAll(chunk);
      });
  if (!status.ok()) return RuntimeError("cat", path, status);
  if (!written) {
    return RuntimeError("cat", "<stdout>", absl::ErrnoToStatus(errno, "write"));
  }
  return 0;
}

}  // namespace tools
}  // namespace smmap
