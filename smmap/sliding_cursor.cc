#include "smmap/sliding_cursor.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "smmap/guarded_copy.h"
#include "smmap/internal/core.h"
#include "smmap/internal/status_macros.h"

namespace smmap {

SlidingCursor::SlidingCursor(SlidingCursor&& other) noexcept
    : core_(std::exchange(other.core_, nullptr)),
      file_(std::exchange(other.file_, nullptr)),
      ofs_(std::exchange(other.ofs_, 0)),
      size_(std::exchange(other.size_, 0)),
      file_size_(std::exchange(other.file_size_, 0)),
      region_(std::exchange(other.region_, nullptr)),
      window_(std::exchange(other.window_, nullptr)),
      window_begin_(std::exchange(other.window_begin_, 0)),
      window_size_(std::exchange(other.window_size_, 0)),
      status_(std::exchange(other.status_, absl::OkStatus())) {}

SlidingCursor& SlidingCursor::operator=(SlidingCursor&& other) noexcept {
  if (this != &other) {
    Reset();
    core_ = std::exchange(other.core_, nullptr);
    file_ = std::exchange(other.file_, nullptr);
    ofs_ = std::exchange(other.ofs_, 0);
    size_ = std::exchange(other.size_, 0);
    file_size_ = std::exchange(other.file_size_, 0);
    region_ = std::exchange(other.region_, nullptr);
    window_ = std::exchange(other.window_, nullptr);
    window_begin_ = std::exchange(other.window_begin_, 0);
    window_size_ = std::exchange(other.window_size_, 0);
    status_ = std::exchange(other.status_, absl::OkStatus());
  }
  return *this;
}

SlidingCursor::~SlidingCursor() { Reset(); }

void SlidingCursor::Reset() {
  if (core_ != nullptr) core_->UnbindSliding(file_, region_);
  core_ = nullptr;
  file_ = nullptr;
  ofs_ = 0;
  size_ = 0;
  file_size_ = 0;
  ClearWindow();
}

void SlidingCursor::ClearWindow() {
  region_ = nullptr;
  window_ = nullptr;
  window_begin_ = 0;
  window_size_ = 0;
}

absl::string_view SlidingCursor::path() const {
  return file_ == nullptr ? absl::string_view() : file_->path;
}

int SlidingCursor::fd() const {
  return file_ == nullptr ? -1 : file_->caller_fd;
}

absl::Status SlidingCursor::MoveTo(uint64_t i, uint64_t length) {
  if (i >= size_) {
    return absl::OutOfRangeError(
        absl::StrCat("Index(", i, ") beyond the size(", size_,
                     ") of the sliding cursor for file: ",
                     file_ == nullptr ? std::string("<none>") : file_->Name()));
  }
  return core_->Slide(this, i, length);  // size_ > 0: the cursor is bound
}

uint8_t SlidingCursor::LoadSlow(uint64_t i) {
  absl::Status status = MoveTo(i);
  if (!status.ok()) {
    if (status_.ok()) status_ = std::move(status);
    return 0;
  }
  return window_[i - window_begin_];
}

absl::StatusOr<uint8_t> SlidingCursor::At(int64_t i) {
  const int64_t size = static_cast<int64_t>(size_);  // size_ < 2^63
  const int64_t index = i < 0 ? i + size : i;
  if (index < 0 || index >= size) {
    return absl::OutOfRangeError(absl::StrCat(
        "Index(", i, ") out of range for the sliding cursor of size(", size_,
        ") for file: ",
        file_ == nullptr ? std::string("<none>") : file_->Name()));
  }
  const uint64_t u = static_cast<uint64_t>(index);
  if (u - window_begin_ >= window_size_) SMMAP_RETURN_IF_ERROR(MoveTo(u));
  return window_[u - window_begin_];
}

absl::StatusOr<Bytes> SlidingCursor::Slice(int64_t begin, int64_t end) {
  const int64_t size = static_cast<int64_t>(size_);
  auto clamp = [size](int64_t index) {
    if (index < 0) index += size;
    return static_cast<uint64_t>(std::clamp<int64_t>(index, 0, size));
  };
  const uint64_t first = clamp(begin);
  const uint64_t last = clamp(end);
  if (first >= last) return Bytes();
  const uint64_t length = last - first;
  SMMAP_ASSIGN_OR_RETURN(absl::Span<const uint8_t> chunk, Chunk(first));
  if (chunk.size() >= length) return Bytes::View(chunk.first(length));
  // The current region ends too early, but the window starting nearest
  // before `first` may hold the whole range (windows overlap by half). If a
  // hard budget leaves no room for it, copy from the regions there are.
  if (core_->OneWindowHolds(ofs_ + first, ofs_ + last)) {
    absl::Status moved = MoveTo(first, length);
    if (moved.ok() && window_begin_ + window_size_ - first >= length) {
      return Bytes::View(
          absl::Span<const uint8_t>(window_ + (first - window_begin_), length));
    }
    if (!moved.ok() && !absl::IsResourceExhausted(moved)) return moved;
  }
  if (length > kMaxSliceCopy) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Slice [", first, ", ", last,
        ") spans regions and would need a copy of ", length,
        " bytes, more than ", kMaxSliceCopy,
        "; use Read() into your own buffer or ForEachChunk(), for file: ",
        file_->Name()));
  }
  std::vector<uint8_t> copy(length);
  SMMAP_RETURN_IF_ERROR(Read(first, absl::MakeSpan(copy)));
  return Bytes::Copy(std::move(copy));
}

absl::StatusOr<Bytes> SlidingCursor::Slice(int64_t begin) {
  return Slice(begin, std::numeric_limits<int64_t>::max());
}

absl::Status SlidingCursor::Read(uint64_t offset, absl::Span<uint8_t> dst) {
  uint8_t* out = dst.data();
  return ForEachChunk(offset, dst.size(),
                      [&out](absl::Span<const uint8_t> chunk) {
                        std::memcpy(out, chunk.data(), chunk.size());
                        out += chunk.size();
                      });
}

absl::Status SlidingCursor::ReadGuarded(uint64_t offset,
                                        absl::Span<uint8_t> dst) {
  if (offset > size_ || dst.size() > size_ - offset) {
    return Read(offset, dst);  // the same OutOfRange
  }
  for (size_t done = 0; done < dst.size();) {
    const uint64_t at = offset + done;
    SMMAP_ASSIGN_OR_RETURN(absl::Span<const uint8_t> chunk, Chunk(at));
    const size_t n = std::min(chunk.size(), dst.size() - done);
    size_t bad = 0;
    if (!GuardedCopy(chunk.first(n), dst.data() + done, &bad).ok()) {
      return absl::DataLossError(absl::StrCat(
          "File shrank while mapped: reading offset ", ofs_ + at + bad,
          " raised SIGBUS (sliding cursor on [", ofs_, ", ", ofs_end(),
          ") made when the file had ", file_size_, " bytes): ", file_->Name()));
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Span<const uint8_t>> SlidingCursor::Chunk(
    uint64_t offset) {
  if (offset - window_begin_ >= window_size_) {
    SMMAP_RETURN_IF_ERROR(MoveTo(offset));
  }
  const uint64_t skip = offset - window_begin_;
  return absl::Span<const uint8_t>(window_ + skip, window_size_ - skip);
}

absl::Status SlidingCursor::ForEachChunk(
    uint64_t offset, uint64_t length,
    absl::FunctionRef<void(absl::Span<const uint8_t>)> visit) {
  if (offset > size_ || length > size_ - offset) {
    return absl::OutOfRangeError(absl::StrCat(
        "Range [", offset, ", ", offset, " + ", length,
        ") is not inside the sliding cursor of size(", size_, ") for file: ",
        file_ == nullptr ? std::string("<none>") : file_->Name()));
  }
  while (length > 0) {
    SMMAP_ASSIGN_OR_RETURN(absl::Span<const uint8_t> chunk, Chunk(offset));
    const size_t n =
        static_cast<size_t>(std::min<uint64_t>(chunk.size(), length));
    visit(chunk.first(n));
    offset += n;
    length -= n;
  }
  return absl::OkStatus();
}

void SlidingCursor::ReleaseRegion() {
  if (core_ != nullptr && region_ != nullptr) core_->ReleaseSliding(this);
}

}  // namespace smmap
