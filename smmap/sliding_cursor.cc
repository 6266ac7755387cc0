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
#include "smmap/internal/messages.h"
#include "smmap/internal/status_macros.h"

namespace smmap {

SlidingCursor::SlidingCursor(SlidingCursor&& other) noexcept
    : b_(std::exchange(other.b_, internal::SlidingBinding())),
      status_(std::exchange(other.status_, absl::OkStatus())) {}

SlidingCursor& SlidingCursor::operator=(SlidingCursor&& other) noexcept {
  if (this != &other) {
    Reset();
    b_ = std::exchange(other.b_, internal::SlidingBinding());
    status_ = std::exchange(other.status_, absl::OkStatus());
  }
  return *this;
}

SlidingCursor::~SlidingCursor() { Reset(); }

void SlidingCursor::Reset() {
  if (b_.core != nullptr) b_.core->UnbindSliding(b_.file, b_.region);
  b_ = internal::SlidingBinding();
}

absl::string_view SlidingCursor::path() const {
  return b_.file == nullptr ? absl::string_view() : b_.file->path;
}

int SlidingCursor::fd() const {
  return b_.file == nullptr ? -1 : b_.file->caller_fd;
}

std::string SlidingCursor::name() const {
  return b_.file == nullptr ? std::string("<none>") : b_.file->Name();
}

absl::Status SlidingCursor::MoveTo(uint64_t i, uint64_t length) {
  if (i >= b_.size) {
    return absl::OutOfRangeError(
        absl::StrCat("Index(", i, ") beyond the size(", b_.size,
                     ") of the sliding cursor for file: ", name()));
  }
  return b_.core->Slide(&b_, i, length);  // size > 0: the cursor is bound
}

uint8_t SlidingCursor::LoadSlow(uint64_t i) {
  absl::Status status = MoveTo(i);
  if (!status.ok()) {
    if (status_.ok()) status_ = std::move(status);
    return 0;
  }
  return b_.window[i - b_.window_begin];
}

absl::StatusOr<uint8_t> SlidingCursor::At(int64_t i) {
  const int64_t size = static_cast<int64_t>(b_.size);  // size < 2^63
  const int64_t index = i < 0 ? i + size : i;
  if (index < 0 || index >= size) {
    return absl::OutOfRangeError(
        absl::StrCat("Index(", i,
                     ") out of range for the sliding cursor of "
                     "size(",
                     b_.size, ") for file: ", name()));
  }
  const uint64_t u = static_cast<uint64_t>(index);
  if (u - b_.window_begin >= b_.window_size) SMMAP_RETURN_IF_ERROR(MoveTo(u));
  return b_.window[u - b_.window_begin];
}

absl::StatusOr<Bytes> SlidingCursor::Slice(int64_t begin, int64_t end) {
  const int64_t size = static_cast<int64_t>(b_.size);
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
  if (b_.core->geometry().OneWindowHolds(b_.ofs + first, b_.ofs + last)) {
    absl::Status moved = MoveTo(first, length);
    if (moved.ok() && b_.window_begin + b_.window_size - first >= length) {
      return Bytes::View(absl::Span<const uint8_t>(
          b_.window + (first - b_.window_begin), length));
    }
    if (!moved.ok() && !absl::IsResourceExhausted(moved)) return moved;
  }
  if (length > kMaxSliceCopy) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "Slice [", first, ", ", last,
        ") spans regions and would need a copy of ", length,
        " bytes, more than ", kMaxSliceCopy,
        "; use Read() into your own buffer or ForEachChunk(), for file: ",
        name()));
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
  if (offset > b_.size || dst.size() > b_.size - offset) {
    return Read(offset, dst);  // the same OutOfRange
  }
  for (size_t done = 0; done < dst.size();) {
    const uint64_t at = offset + done;
    SMMAP_ASSIGN_OR_RETURN(absl::Span<const uint8_t> chunk, Chunk(at));
    const size_t n = std::min(chunk.size(), dst.size() - done);
    size_t bad = 0;
    if (!GuardedCopy(chunk.first(n), dst.data() + done, &bad).ok()) {
      return internal::ShrankWhileMapped(b_.ofs + at + bad, "sliding cursor on",
                                         b_.ofs, ofs_end(), b_.file_size,
                                         name());
    }
    done += n;
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Span<const uint8_t>> SlidingCursor::Chunk(
    uint64_t offset) {
  if (offset - b_.window_begin >= b_.window_size) {
    SMMAP_RETURN_IF_ERROR(MoveTo(offset));
  }
  const uint64_t skip = offset - b_.window_begin;
  return absl::Span<const uint8_t>(b_.window + skip, b_.window_size - skip);
}

absl::Status SlidingCursor::ForEachChunk(
    uint64_t offset, uint64_t length,
    absl::FunctionRef<void(absl::Span<const uint8_t>)> visit) {
  if (offset > b_.size || length > b_.size - offset) {
    return absl::OutOfRangeError(
        absl::StrCat("Range [", offset, ", ", offset, " + ", length,
                     ") is not inside the sliding cursor of size(", b_.size,
                     ") for file: ", name()));
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
  if (b_.core != nullptr && b_.region != nullptr) b_.core->ReleaseSliding(&b_);
}

}  // namespace smmap
