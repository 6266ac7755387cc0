// The intrusive LRU list of the engine.

#include "smmap/internal/intrusive_list.h"

#include <vector>

#include "gtest/gtest.h"

namespace smmap {
namespace internal {
namespace {

struct Node {
  int value;
  ListLinks<Node> links;
};

using List = IntrusiveList<Node, &Node::links>;

std::vector<int> Values(const List& list) {
  std::vector<int> values;
  for (Node* n = list.front(); n != nullptr; n = n->links.next) {
    values.push_back(n->value);
  }
  return values;
}

TEST(IntrusiveListTest, PushRemoveMove) {
  Node a{1, {}}, b{2, {}}, c{3, {}};
  List list;
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.front(), nullptr);
  list.PushBack(&a);
  list.PushBack(&b);
  list.PushBack(&c);
  EXPECT_EQ(Values(list), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(list.size(), 3u);
  EXPECT_TRUE(List::Contains(&b));
  list.MoveToBack(&a);  // most recently used
  EXPECT_EQ(Values(list), (std::vector<int>{2, 3, 1}));
  list.Remove(&c);  // middle
  EXPECT_FALSE(List::Contains(&c));
  EXPECT_EQ(Values(list), (std::vector<int>{2, 1}));
  list.Remove(&b);  // front
  EXPECT_EQ(Values(list), (std::vector<int>{1}));
  list.Remove(&a);  // last
  EXPECT_TRUE(list.empty());
  EXPECT_EQ(list.size(), 0u);
  list.PushBack(&c);  // reusable after removal
  EXPECT_EQ(Values(list), (std::vector<int>{3}));
}

}  // namespace
}  // namespace internal
}  // namespace smmap
