#include "smmap/cursor.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "smmap/file_ref.h"
#include "smmap/guarded_copy.h"
#include "smmap/internal/core.h"
#include "smmap/internal/messages.h"

namespace smmap {

FixedCursor::FixedCursor(FixedCursor&& other) noexcept {
  internal::MoveBinding(&other.b_, &b_);
}

FixedCursor& FixedCursor::operator=(FixedCursor&& other) noexcept {
  if (this != &other) {
    Reset();
    internal::MoveBinding(&other.b_, &b_);
  }
  return *this;
}

FixedCursor::~FixedCursor() { Reset(); }

void FixedCursor::Reset() {
  if (b_.core != nullptr) b_.core->UnbindFixed(b_.file, b_.region, b_.open);
  b_.core = nullptr;
  b_.file = nullptr;
  b_.region = nullptr;
  b_.data = nullptr;
  b_.open = false;
}

absl::string_view FixedCursor::path() const {
  return b_.file == nullptr ? absl::string_view() : b_.file->path;
}

std::string FixedCursor::name() const {
  return b_.file == nullptr ? std::string() : b_.file->Name();
}

int FixedCursor::fd() const {
  return b_.file == nullptr ? -1 : b_.file->caller_fd;
}

absl::Status FixedCursor::Release() {
  if (!b_.open) {
    return absl::FailedPreconditionError(
        absl::StrCat("Release() of a cursor that is already closed (offset ",
                     b_.ofs, ", size ", b_.size, ", file: ", name(), ")"));
  }
  b_.core->ReleaseFixed(b_.file, b_.region);
  b_.region = nullptr;
  b_.data = nullptr;
  b_.open = false;
  return absl::OkStatus();
}

absl::Status FixedCursor::ReadGuarded(uint64_t offset,
                                      absl::Span<uint8_t> dst) const {
  if (!b_.open || offset > b_.size || dst.size() > b_.size - offset) {
    return absl::OutOfRangeError(absl::StrCat(
        "Range [", offset, ", ", offset, " + ", dst.size(),
        ") is not inside the ", b_.open ? "" : "closed ", "cursor of size(",
        b_.size, ") at offset ", b_.ofs, " for file: ", name()));
  }
  size_t fault = 0;
  absl::Status status =
      GuardedCopy(buffer().subspan(offset, dst.size()), dst.data(), &fault);
  if (!status.ok()) {
    return internal::ShrankWhileMapped(b_.ofs + offset + fault, "cursor",
                                       b_.ofs, ofs_end(), b_.file_size, name());
  }
  return absl::OkStatus();
}

void FixedCursor::Close() {
  if (b_.open) Release().IgnoreError();
}

absl::StatusOr<FixedCursor> FixedCursor::MakeCursor(uint64_t offset,
                                                    uint64_t size) const {
  if (b_.core == nullptr) {
    return absl::FailedPreconditionError(
        "MakeCursor() on a cursor bound to no manager (default-constructed "
        "or moved from)");
  }
  return Bound([&](internal::FixedBinding* binding) {
    return b_.core->MakeFixed(b_.file->ref(), offset, size, binding);
  });
}

absl::StatusOr<FixedCursor> FixedCursor::NextCursor() const {
  return NextCursor(b_.size);
}

absl::StatusOr<FixedCursor> FixedCursor::NextCursor(uint64_t size) const {
  if (b_.core != nullptr && b_.size == 0) {
    // Only a cursor on an empty file is empty; nothing follows it (and a
    // loop over NextCursor() must end).
    return internal::OffsetBeyondEnd(ofs_end(), b_.file_size, name());
  }
  return MakeCursor(ofs_end(), size);
}

}  // namespace smmap
