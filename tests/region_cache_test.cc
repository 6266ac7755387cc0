// internal/region_cache.h on its own: pins, the exact LRU order of unused
// regions, the byte budget with reservations, detaching. Regions here are
// anonymous mappings; no file is read.

#include "smmap/internal/region_cache.h"

#include <sys/mman.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/internal/file_table.h"
#include "smmap/internal/handles.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace internal {
namespace {

using ::smmap::testing::kPage;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

Mapping Anonymous(uint64_t pages) {
  void* addr = ::mmap(nullptr, pages * kPage, PROT_READ,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(addr, MAP_FAILED);
  return Mapping(addr, pages * kPage);
}

class RegionCacheTest : public ::testing::Test {
 protected:
  // A budget of `pages`; regions of one page each at window i.
  explicit RegionCacheTest(uint64_t pages = 3, bool hard = false)
      : cache_(pages * kPage, hard) {
    file_.path = "f";
  }
  ~RegionCacheTest() override {
    cache_.Evict(0, false, &releases_, Record());
    EXPECT_EQ(cache_.num_regions(), 0u) << "a test left regions pinned";
  }

  Region* Map(uint64_t index, uint64_t pages = 1) {
    return cache_.Insert(&file_, index, index * kPage, Anonymous(pages),
                         &releases_, Record());
  }
  // Counts the regions dropped (RegionCache::OnDrop).
  struct Recorder {
    RegionCacheTest* test;
    void operator()(FileEntry* file) const {
      EXPECT_EQ(file, &test->file_);
      ++test->dropped_;
    }
  };
  Recorder Record() { return Recorder{this}; }
  // The windows of the unused regions, least recently used first, as
  // eviction finds them.
  std::vector<uint64_t> EvictionOrder() {
    std::vector<uint64_t> order;
    while (cache_.has_unused()) {
      const size_t before = cache_.num_regions();
      std::vector<uint64_t> indices;
      for (const auto& [index, region] : file_.regions)
        indices.push_back(index);
      cache_.Evict(cache_.mapped_bytes() - 1, false, &releases_, Record());
      EXPECT_EQ(cache_.num_regions(), before - 1);
      for (uint64_t index : indices) {
        if (!file_.regions.contains(index)) order.push_back(index);
      }
    }
    return order;
  }

  FileEntry file_;
  RegionCache cache_;
  Releases releases_;
  int dropped_ = 0;
};

TEST_F(RegionCacheTest, InsertedRegionsArePinnedAndFound) {
  Region* r = Map(4, 2);
  EXPECT_EQ(r->pins, 1u);
  EXPECT_EQ(r->ofs, 4 * kPage);
  EXPECT_EQ(cache_.num_used(), 1u);
  EXPECT_EQ(cache_.mapped_bytes(), 2 * kPage);
  EXPECT_EQ(file_.num_regions, 1u);
  EXPECT_EQ(cache_.Find(file_, 4, 6 * kPage), r);
  EXPECT_EQ(cache_.Find(file_, 5, 6 * kPage), r);            // window index - 1
  EXPECT_EQ(cache_.Find(file_, 5, 6 * kPage + 1), nullptr);  // too short
  EXPECT_EQ(cache_.Find(file_, 6, 6 * kPage), nullptr);
  cache_.Unpin(r, false, &releases_, Record());
  EXPECT_EQ(cache_.num_used(), 0u);
  EXPECT_TRUE(cache_.has_unused());
}

TEST_F(RegionCacheTest, UnusedRegionsLeaveInExactLruOrder) {
  Region* a = Map(0);
  Region* b = Map(1);
  Region* c = Map(2);
  cache_.Unpin(b, false, &releases_, Record());
  cache_.Unpin(a, false, &releases_, Record());
  cache_.Unpin(c, false, &releases_, Record());
  cache_.Pin(b);  // used again: out of the LRU ...
  cache_.Unpin(b, false, &releases_, Record());  // ... and back, newest
  EXPECT_THAT(EvictionOrder(), ElementsAre(0, 2, 1));
  EXPECT_EQ(dropped_, 3);
  EXPECT_EQ(releases_.unmaps.size(), 3u);
}

TEST_F(RegionCacheTest, TryUnpinRefusesWhatWouldUnmap) {
  Region* r = Map(0);
  cache_.Pin(r);
  EXPECT_TRUE(cache_.TryUnpin(r, false));  // 2 -> 1 pins
  EXPECT_FALSE(cache_.TryUnpin(r, /*closed=*/true));
  EXPECT_EQ(r->pins, 1u);
  EXPECT_TRUE(cache_.TryUnpin(r, false));  // into the LRU
  EXPECT_TRUE(cache_.has_unused());
}

TEST_F(RegionCacheTest, SoftBudgetEvictsLeastRecentlyUsedThenOverruns) {
  Region* a = Map(0);
  Region* b = Map(1);
  cache_.Unpin(a, false, &releases_, Record());
  cache_.Unpin(b, false, &releases_, Record());
  Region* c = Map(2);  // the budget is 3 pages: all fit
  ASSERT_OK(cache_.MakeRoom(kPage, file_, &releases_, Record()));
  EXPECT_EQ(cache_.num_regions(), 2u);  // a went, b (newer) stayed
  EXPECT_EQ(cache_.Find(file_, 0, kPage), nullptr);
  ASSERT_OK(cache_.MakeRoom(3 * kPage, file_, &releases_, Record()));
  EXPECT_EQ(cache_.num_regions(), 1u);  // b too; c is used
  ManagerStats stats;
  cache_.FillStats(&stats);
  EXPECT_EQ(stats.lru_evictions, 2u);
  EXPECT_EQ(stats.soft_budget_overruns, 0u);  // nothing mapped beyond yet
  // Unmapped, as the Core does before it maps; then mapped: 1 + 3 pages > 3.
  cache_.Unmapped(std::exchange(releases_.unmap_bytes, 0));
  releases_.unmaps.clear();
  Region* d = Map(3, 3);
  cache_.FillStats(&stats);
  EXPECT_EQ(stats.soft_budget_overruns, 1u);
  cache_.Unpin(c, false, &releases_, Record());
  cache_.Unpin(d, false, &releases_, Record());
}

TEST_F(RegionCacheTest, UnpinningOverASoftBudgetEvicts) {
  Region* a = Map(0);
  Region* b = Map(1);
  Region* c = Map(2);
  Region* d = Map(3);  // 4 pages over a budget of 3, all in use
  cache_.Unpin(a, false, &releases_, Record());
  EXPECT_EQ(cache_.num_regions(), 3u);  // a went at once
  EXPECT_EQ(cache_.Find(file_, 0, kPage), nullptr);
  for (Region* r : {b, c, d}) cache_.Unpin(r, false, &releases_, Record());
  EXPECT_EQ(cache_.num_regions(), 3u);
}

class HardRegionCacheTest : public RegionCacheTest {
 protected:
  HardRegionCacheTest() : RegionCacheTest(/*pages=*/3, /*hard=*/true) {}
};

TEST_F(HardRegionCacheTest, ReservationsCountAndFailuresSayWhy) {
  Region* a = Map(0);
  cache_.Reserve(kPage);  // another thread is mapping a page
  ASSERT_OK(cache_.MakeRoom(kPage, file_, &releases_, Record()));
  EXPECT_THAT(
      cache_.MakeRoom(2 * kPage, file_, &releases_, Record()),
      StatusIs(
          absl::StatusCode::kResourceExhausted,
          HasSubstr("Mapping " + std::to_string(2 * kPage) +
                    " bytes of f would exceed max_memory_size(" +
                    std::to_string(3 * kPage) + "): " + std::to_string(kPage) +
                    " bytes are mapped in 1 regions, all in use by "
                    "cursors, and " +
                    std::to_string(kPage) + " bytes are being mapped")));
  cache_.Unreserve(kPage);
  ASSERT_OK(cache_.MakeRoom(2 * kPage, file_, &releases_, Record()));
  EXPECT_THAT(cache_.MakeRoom(4 * kPage, file_, &releases_, Record()),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("exceeds max_memory_size")));
  cache_.Unpin(a, false, &releases_, Record());
}

TEST_F(RegionCacheTest, DetachedRegionsGoWhenUnused) {
  Region* a = Map(0, 2);
  Region* b = Map(2);
  cache_.Unpin(b, false, &releases_, Record());
  cache_.DetachBeyond(&file_, 2 * kPage, &releases_, Record());  // b ends at 3
  EXPECT_EQ(cache_.num_regions(), 1u);
  EXPECT_EQ(dropped_, 1);
  cache_.DetachAll(&file_, &releases_, Record());  // a is pinned: it stays
  EXPECT_EQ(cache_.num_regions(), 1u);
  EXPECT_EQ(cache_.Find(file_, 0, kPage), nullptr);
  EXPECT_FALSE(a->attached);
  EXPECT_FALSE(cache_.TryUnpin(a, false));
  cache_.Unpin(a, false, &releases_, Record());
  EXPECT_EQ(cache_.num_regions(), 0u);
  EXPECT_EQ(dropped_, 2);
}

TEST_F(RegionCacheTest, InsertReplacesAShorterRegionOfTheSameWindow) {
  Region* short_one = Map(0, 1);
  Region* longer = Map(0, 2);  // the file grew
  EXPECT_FALSE(short_one->attached);
  EXPECT_EQ(cache_.Find(file_, 0, 2 * kPage), longer);
  cache_.Unpin(short_one, false, &releases_, Record());  // dropped
  EXPECT_EQ(cache_.num_regions(), 1u);
  cache_.Unpin(longer, false, &releases_, Record());
  ManagerStats stats;
  cache_.FillStats(&stats);
  EXPECT_EQ(stats.regions_mapped, 2u);
  EXPECT_EQ(stats.regions_unmapped, 1u);
  EXPECT_EQ(stats.peak_regions, 2u);
  EXPECT_EQ(stats.peak_mapped_bytes, 3 * kPage);
  EXPECT_EQ(stats.bytes_mapped_total, 3 * kPage);
}

}  // namespace
}  // namespace internal
}  // namespace smmap
