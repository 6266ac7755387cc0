#include "smmap/cursor.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "smmap/file_ref.h"
#include "smmap/guarded_copy.h"
#include "smmap/internal/core.h"

namespace smmap {

FixedCursor::FixedCursor(FixedCursor&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)),
      file_(std::exchange(other.file_, nullptr)),
      region_(std::exchange(other.region_, nullptr)),
      data_(std::exchange(other.data_, nullptr)),
      ofs_(std::exchange(other.ofs_, 0)),
      size_(std::exchange(other.size_, 0)),
      file_size_(std::exchange(other.file_size_, 0)),
      open_(std::exchange(other.open_, false)) {}

FixedCursor& FixedCursor::operator=(FixedCursor&& other) noexcept {
  if (this != &other) {
    Reset();
    core_ = std::exchange(other.core_, nullptr);
    file_ = std::exchange(other.file_, nullptr);
    region_ = std::exchange(other.region_, nullptr);
    data_ = std::exchange(other.data_, nullptr);
    ofs_ = std::exchange(other.ofs_, 0);
    size_ = std::exchange(other.size_, 0);
    file_size_ = std::exchange(other.file_size_, 0);
    open_ = std::exchange(other.open_, false);
  }
  return *this;
}

FixedCursor::~FixedCursor() { Reset(); }

void FixedCursor::Reset() {
  if (core_ != nullptr) core_->UnbindFixed(file_, region_, open_);
  core_ = nullptr;
  file_ = nullptr;
  region_ = nullptr;
  data_ = nullptr;
  open_ = false;
}

absl::string_view FixedCursor::path() const {
  return file_ == nullptr ? absl::string_view() : file_->path;
}

std::string FixedCursor::name() const {
  return file_ == nullptr ? std::string() : file_->Name();
}

int FixedCursor::fd() const { return file_ == nullptr ? -1 : file_->caller_fd; }

absl::Status FixedCursor::Release() {
  if (!open_) {
    return absl::FailedPreconditionError(
        absl::StrCat("Release() of a cursor that is already closed (offset ",
                     ofs_, ", size ", size_, ", file: ", name(), ")"));
  }
  core_->ReleaseFixed(file_, region_);
  region_ = nullptr;
  data_ = nullptr;
  open_ = false;
  return absl::OkStatus();
}

absl::Status FixedCursor::ReadGuarded(uint64_t offset,
                                      absl::Span<uint8_t> dst) const {
  if (!open_ || offset > size_ || dst.size() > size_ - offset) {
    return absl::OutOfRangeError(absl::StrCat(
        "Range [", offset, ", ", offset, " + ", dst.size(),
        ") is not inside the ", open_ ? "" : "closed ", "cursor of size(",
        size_, ") at offset ", ofs_, " for file: ", name()));
  }
  size_t fault = 0;
  absl::Status status =
      GuardedCopy(buffer().subspan(offset, dst.size()), dst.data(), &fault);
  if (!status.ok()) {
    return absl::DataLossError(absl::StrCat(
        "File shrank while mapped: reading offset ", ofs_ + offset + fault,
        " raised SIGBUS (cursor [", ofs_, ", ", ofs_end(),
        ") made when the file had ", file_size_, " bytes): ", name()));
  }
  return absl::OkStatus();
}

void FixedCursor::Close() {
  if (open_) Release().IgnoreError();
}

absl::StatusOr<FixedCursor> FixedCursor::MakeCursor(uint64_t offset,
                                                    uint64_t size) const {
  if (core_ == nullptr) {
    return absl::FailedPreconditionError(
        "MakeCursor() on a cursor bound to no manager (default-constructed "
        "or moved from)");
  }
  const FileRef file =
      file_->caller_fd >= 0 ? FileRef(file_->caller_fd) : FileRef(file_->path);
  return core_->MakeFixed(file, offset, size);
}

absl::StatusOr<FixedCursor> FixedCursor::NextCursor() const {
  return NextCursor(size_);
}

absl::StatusOr<FixedCursor> FixedCursor::NextCursor(uint64_t size) const {
  if (core_ != nullptr && size_ == 0) {
    // Only a cursor on an empty file is empty; nothing follows it (and a
    // loop over NextCursor() must end).
    return absl::OutOfRangeError(absl::StrCat("Offset(", ofs_end(),
                                              ") beyond file-size(", file_size_,
                                              ") for file: ", file_->Name()));
  }
  return MakeCursor(ofs_end(), size);
}

}  // namespace smmap
