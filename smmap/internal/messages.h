// The error messages that more than one part of smmap gives, written once.
// Tests match their text (README "Errors" documents the shapes).
//
// Thread-safe (pure functions).

#ifndef SMMAP_INTERNAL_MESSAGES_H_
#define SMMAP_INTERNAL_MESSAGES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "smmap/file_ref.h"

namespace smmap {
namespace internal {

// "<path>" or "fd <n>".
std::string NameOf(const FileRef& file);

// OutOfRange: "Offset(<offset>) beyond file-size(<size>) for file: <name>".
absl::Status OffsetBeyondEnd(uint64_t offset, uint64_t file_size,
                             absl::string_view name);

// OffsetBeyondEnd() and " (it shrank from <known> bytes)": the offset was
// inside the file as it was known.
absl::Status OffsetBeyondShrunkEnd(uint64_t offset, uint64_t file_size,
                                   uint64_t known, absl::string_view name);

// InvalidArgument: "Not a regular file (<kind>): <name>".
absl::Status NotRegularFile(absl::string_view kind, absl::string_view name);

// FailedPrecondition: "<operation> on a closed manager for file: <name>".
absl::Status ClosedManager(absl::string_view operation, absl::string_view name);

// DataLoss for a SIGBUS met while copying out of a mapping: "File shrank
// while mapped: reading offset <offset> raised SIGBUS (<what> [<begin>,
// <end>) made when the file had <size> bytes): <name>".
absl::Status ShrankWhileMapped(uint64_t offset, absl::string_view what,
                               uint64_t begin, uint64_t end, uint64_t file_size,
                               absl::string_view name);

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_MESSAGES_H_
