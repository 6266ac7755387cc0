// A doubly-linked list threaded through its elements, for O(1) LRU order.
//
// An element type T holds one ListLinks<T> member per list it can be in; the
// list is parameterised on a pointer to that member. The list never owns its
// elements: it only orders them.
//
// Not thread-safe: callers guard it with their own lock.

#ifndef SMMAP_INTERNAL_INTRUSIVE_LIST_H_
#define SMMAP_INTERNAL_INTRUSIVE_LIST_H_

#include <cstddef>

namespace smmap {
namespace internal {

template <typename T>
struct ListLinks {
  T* prev = nullptr;
  T* next = nullptr;
  bool linked = false;
};

template <typename T, ListLinks<T> T::*kLinks>
class IntrusiveList final {
 public:
  IntrusiveList() = default;
  IntrusiveList(const IntrusiveList&) = delete;
  IntrusiveList& operator=(const IntrusiveList&) = delete;

  bool empty() const { return head_ == nullptr; }
  size_t size() const { return size_; }
  // The oldest element, or nullptr.
  T* front() const { return head_; }
  // The element after `node` (the next more recently used), or nullptr.
  static T* Next(const T* node) { return (node->*kLinks).next; }
  static bool Contains(const T* node) { return (node->*kLinks).linked; }

  // REQUIRES: `node` is in no list through this member.
  void PushBack(T* node) {
    ListLinks<T>& links = node->*kLinks;
    links.prev = tail_;
    links.next = nullptr;
    links.linked = true;
    if (tail_ != nullptr) {
      (tail_->*kLinks).next = node;
    } else {
      head_ = node;
    }
    tail_ = node;
    ++size_;
  }

  // REQUIRES: `node` is in this list.
  void Remove(T* node) {
    ListLinks<T>& links = node->*kLinks;
    if (links.prev != nullptr) {
      (links.prev->*kLinks).next = links.next;
    } else {
      head_ = links.next;
    }
    if (links.next != nullptr) {
      (links.next->*kLinks).prev = links.prev;
    } else {
      tail_ = links.prev;
    }
    links = ListLinks<T>();
    --size_;
  }

  // Moves `node` to the back (most recently used end).
  void MoveToBack(T* node) {
    Remove(node);
    PushBack(node);
  }

 private:
  T* head_ = nullptr;
  T* tail_ = nullptr;
  size_t size_ = 0;
};

}  // namespace internal
}  // namespace smmap

#endif  // SMMAP_INTERNAL_INTRUSIVE_LIST_H_
