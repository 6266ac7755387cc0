// Bytes: the result of a slice, either a view into mapped memory or a copy.
//
// SlidingCursor::Slice() returns a view when the slice lies in one region and
// a copy when it spans regions. Either way data()/size() give the bytes; a
// view is valid until the next call on the cursor that made it (or its
// destruction), a copy for as long as the Bytes object lives.
//
// Thread-compatible. Move-only (a copy would silently duplicate views); a
// moved-from Bytes is empty.

#ifndef SMMAP_BYTES_H_
#define SMMAP_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace smmap {

class Bytes final {
 public:
  Bytes() = default;
  // A view of memory owned elsewhere.
  static Bytes View(absl::Span<const uint8_t> view) { return Bytes(view); }
  // Owns `bytes`.
  static Bytes Copy(std::vector<uint8_t> bytes) {
    return Bytes(std::move(bytes));
  }

  // A moved-from Bytes is empty. Moving keeps a copy's buffer where it is
  // (a vector's buffer moves with it), so data() is the same after a move.
  Bytes(Bytes&& other) noexcept
      : owned_(std::exchange(other.owned_, {})),
        view_(std::exchange(other.view_, {})) {}
  Bytes& operator=(Bytes&& other) noexcept {
    if (this != &other) {  // self-move keeps the bytes
      owned_ = std::exchange(other.owned_, {});
      view_ = std::exchange(other.view_, {});
    }
    return *this;
  }
  Bytes(const Bytes&) = delete;
  Bytes& operator=(const Bytes&) = delete;

  const uint8_t* data() const { return view_.data(); }
  size_t size() const { return view_.size(); }
  bool empty() const { return view_.empty(); }
  uint8_t operator[](size_t i) const { return view_[i]; }
  absl::Span<const uint8_t> span() const { return view_; }
  absl::string_view string_view() const {
    return absl::string_view(reinterpret_cast<const char*>(view_.data()),
                             view_.size());
  }
  // Whether the bytes were copied out of the mapping.
  bool is_copy() const { return !owned_.empty(); }

  friend bool operator==(const Bytes& a, absl::string_view b) {
    return a.string_view() == b;
  }
  friend bool operator!=(const Bytes& a, absl::string_view b) {
    return !(a == b);
  }

 private:
  explicit Bytes(absl::Span<const uint8_t> view) : view_(view) {}
  // A vector's buffer does not move when the vector is moved, so view_ stays
  // valid across moves of this object (the move operations above carry it
  // to the new owner and empty the old one).
  explicit Bytes(std::vector<uint8_t> owned)
      : owned_(std::move(owned)), view_(owned_) {}

  std::vector<uint8_t> owned_;
  absl::Span<const uint8_t> view_;
};

}  // namespace smmap

#endif  // SMMAP_BYTES_H_
