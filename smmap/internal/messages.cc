#include "smmap/internal/messages.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace smmap {
namespace internal {

std::string NameOf(const FileRef& file) {
  return file.is_fd() ? absl::StrCat("fd ", file.fd())
                      : std::string(file.path());
}

absl::Status OffsetBeyondEnd(uint64_t offset, uint64_t file_size,
                             absl::string_view name) {
  return absl::OutOfRangeError(absl::StrCat("Offset(", offset,
                                            ") beyond file-size(", file_size,
                                            ") for file: ", name));
}

absl::Status OffsetBeyondShrunkEnd(uint64_t offset, uint64_t file_size,
                                   uint64_t known, absl::string_view name) {
  return absl::OutOfRangeError(
      absl::StrCat(OffsetBeyondEnd(offset, file_size, name).message(),
                   " (it shrank from ", known, " bytes)"));
}

absl::Status NotRegularFile(absl::string_view kind, absl::string_view name) {
  return absl::InvalidArgumentError(
      absl::StrCat("Not a regular file (", kind, "): ", name));
}

absl::Status ClosedManager(absl::string_view operation,
                           absl::string_view name) {
  return absl::FailedPreconditionError(
      absl::StrCat(operation, " on a closed manager for file: ", name));
}

absl::Status ShrankWhileMapped(uint64_t offset, absl::string_view what,
                               uint64_t begin, uint64_t end, uint64_t file_size,
                               absl::string_view name) {
  return absl::DataLossError(
      absl::StrCat("File shrank while mapped: reading offset ", offset,
                   " raised SIGBUS (", what, " [", begin, ", ", end,
                   ") made when the file had ", file_size, " bytes): ", name));
}

}  // namespace internal
}  // namespace smmap
