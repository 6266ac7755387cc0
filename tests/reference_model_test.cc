// Reference-model test: thousands of random cursor operations on several
// files, with a tiny window and tiny budgets, applied both to a manager and to
// a naive model of it (linear searches, LRU by timestamps). After every step:
// every byte a cursor shows equals the file's bytes, the manager's counters
// equal the model's, and the budgets hold.
//
// The model follows the placement rules documented in smmap/options.h: window
// i covers [i * stride, i * stride + window), cut at the end of the file; a
// request for [ofs, end) is served by window ofs / stride, or the window
// before it if that one is mapped and holds what the request can get.
//
// Seeds: a fixed list, or SMMAP_SEED=<n> to replay one. Each run prints its
// seed.

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <ostream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "smmap/manager.h"
#include "tests/status_matchers.h"
#include "tests/test_files.h"

namespace smmap {
namespace {

using ::smmap::testing::CountOpenFds;
using ::smmap::testing::TestFile;

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

struct Params {
  uint64_t seed;
  bool greedy;
  bool hard;
  uint64_t window;  // tiling only
  uint64_t budget;
  uint64_t max_files;
};

std::string Describe(const Params& p) {
  return absl::StrCat("seed=", p.seed, " greedy=", p.greedy, " hard=", p.hard,
                      " window=", p.window, " budget=", p.budget,
                      " max_files=", p.max_files);
}

// The naive model of a manager's cache.
class Model {
 public:
  struct Region {
    int file;
    uint64_t index;
    uint64_t begin;
    uint64_t end;
    int pins = 0;
    uint64_t released_at = 0;  // LRU key while unused
  };

  Model(const Params& params, std::vector<uint64_t> sizes)
      : p_(params), sizes_(std::move(sizes)) {}

  uint64_t stride() const { return p_.greedy ? 0 : p_.window / 2; }
  uint64_t Index(uint64_t ofs) const {
    return stride() == 0 ? 0 : ofs / stride();
  }
  uint64_t WindowEnd(int file, uint64_t index) const {
    if (stride() == 0) return sizes_[file];
    return std::min(index * stride() + p_.window, sizes_[file]);
  }

  // Finds or maps the region for [ofs, need_end) (a sliding request passes
  // ofs + 1). Returns its id, or nullopt if hard limits refuse.
  std::optional<size_t> Acquire(int file, uint64_t ofs, uint64_t need_end) {
    const uint64_t index = Index(ofs);
    for (uint64_t candidate : {index, index - 1}) {
      if (candidate > index) continue;  // index - 1 wrapped around
      for (size_t id = 0; id < regions_.size(); ++id) {
        Region& r = regions_[id];
        if (r.file == file && r.index == candidate && r.end >= need_end) {
          ++hits_;
          ++r.pins;
          return id;
        }
      }
    }
    ++misses_;
    const uint64_t begin = index * stride();
    const uint64_t end = WindowEnd(file, index);
    const uint64_t length = end - begin;
    if (p_.hard && length > p_.budget) return std::nullopt;
    while (mapped_ + length > p_.budget && Evict()) {
    }
    if (mapped_ + length > p_.budget) {
      if (p_.hard) return std::nullopt;
      ++overruns_;
    }
    regions_.push_back(Region{file, index, begin, end, 1, 0});
    mapped_ += length;
    return regions_.size() - 1;
  }

  void Unpin(size_t id) {
    Region& r = regions_[id];
    if (--r.pins == 0) {
      r.released_at = ++clock_;
      while (mapped_ > p_.budget && Evict()) {
      }
    }
  }

  // Unmaps the least recently released unused region, if any.
  bool Evict() {
    std::optional<size_t> victim;
    for (size_t id = 0; id < regions_.size(); ++id) {
      const Region& r = regions_[id];
      if (r.pins == 0 &&
          (!victim || r.released_at < regions_[*victim].released_at)) {
        victim = id;
      }
    }
    if (!victim) return false;
    Remove(*victim);
    ++evictions_;
    return true;
  }

  size_t Collect() {
    size_t n = 0;
    for (size_t id = regions_.size(); id-- > 0;) {
      if (regions_[id].pins == 0) {
        Remove(id);
        ++n;
      }
    }
    return n;
  }

  const Region& region(size_t id) const { return regions_[id]; }
  size_t num_regions() const { return regions_.size(); }
  size_t num_used() const {
    return static_cast<size_t>(
        std::count_if(regions_.begin(), regions_.end(),
                      [](const Region& r) { return r.pins > 0; }));
  }
  uint64_t used_bytes() const {
    uint64_t bytes = 0;
    for (const Region& r : regions_) {
      if (r.pins > 0) bytes += r.end - r.begin;
    }
    return bytes;
  }
  uint64_t mapped() const { return mapped_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  uint64_t evictions() const { return evictions_; }
  uint64_t overruns() const { return overruns_; }

 private:
  // Ids are positions: removing shifts later ids, so callers holding ids
  // must be told. Pinned regions are never removed, and only pinned regions'
  // ids are held, so we fix them up through `holders_`.
  void Remove(size_t id) {
    mapped_ -= regions_[id].end - regions_[id].begin;
    regions_.erase(regions_.begin() + static_cast<std::ptrdiff_t>(id));
    for (size_t* holder : holders_) {
      if (*holder > id) --*holder;
    }
  }

 public:
  // Region ids held by cursors, fixed up when regions are removed.
  std::vector<size_t*> holders_;

 private:
  Params p_;
  std::vector<uint64_t> sizes_;
  std::vector<Region> regions_;
  uint64_t mapped_ = 0;
  uint64_t clock_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t evictions_ = 0;
  uint64_t overruns_ = 0;
};

void PrintTo(const Params& p, std::ostream* os) { *os << Describe(p); }

class ReferenceModelTest : public ::testing::TestWithParam<Params> {};

TEST_P(ReferenceModelTest, MatchesModel) {
  const Params p = GetParam();
  std::printf("reference model: %s\n", Describe(p).c_str());
  SCOPED_TRACE(Describe(p));
  std::mt19937_64 rng(p.seed);
  auto uniform = [&rng](uint64_t lo, uint64_t hi) {  // inclusive
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng);
  };

  std::vector<TestFile> files;
  std::vector<uint64_t> sizes;
  for (int i = 0; i < 3; ++i) {
    uint64_t size = i == 2 && uniform(0, 3) == 0 ? 0 : uniform(1, 7 * kPage);
    files.push_back(TestFile::Random("model", size, p.seed * 10 + i));
    sizes.push_back(size);
  }
  const size_t baseline_fds = CountOpenFds();

  ManagerOptions options;
  options.window_size = p.greedy ? 0 : p.window;
  options.max_memory_size = p.budget;
  options.hard_limits = p.hard;
  options.max_open_files = p.max_files;
  std::unique_ptr<MemmapManager> mman;
  if (p.greedy) {
    mman = std::move(*GreedyMemmapManager::Create(options));
  } else {
    mman = std::move(*TilingMemmapManager::Create(options));
  }
  Model model(p, sizes);

  struct Fixed {
    FixedCursor cursor;
    int file;
    std::unique_ptr<size_t> region;  // model id, null if closed or empty
  };
  struct Sliding {
    SlidingCursor cursor;
    int file;
    std::unique_ptr<size_t> region;  // model id of the current region
  };
  std::vector<Fixed> fixed;
  std::vector<Sliding> sliding;
  auto hold = [&model](std::unique_ptr<size_t>& slot, size_t id) {
    slot = std::make_unique<size_t>(id);
    model.holders_.push_back(slot.get());
  };
  auto drop = [&model](std::unique_ptr<size_t>& slot) {
    if (!slot) return;
    model.holders_.erase(
        std::find(model.holders_.begin(), model.holders_.end(), slot.get()));
    const size_t id = *slot;
    slot.reset();
    model.Unpin(id);
  };

  // Makes a fixed cursor in both, checks bytes and geometry.
  auto make_fixed = [&](int f, uint64_t ofs, uint64_t size,
                        absl::StatusOr<FixedCursor> got) {
    const uint64_t fsize = sizes[f];
    if (ofs >= fsize && !(ofs == 0 && fsize == 0)) {
      EXPECT_THAT(got, StatusIs(absl::StatusCode::kOutOfRange));
      return;
    }
    if (fsize == 0) {
      ASSERT_OK(got);
      EXPECT_EQ(got->size(), 0u);
      fixed.push_back({std::move(*got), f, nullptr});
      return;
    }
    const uint64_t request_end = size == 0 ? fsize : std::min(fsize, ofs + size);
    const uint64_t need =
        std::min(request_end, model.WindowEnd(f, model.Index(ofs)));
    std::optional<size_t> id = model.Acquire(f, ofs, need);
    if (!id) {
      EXPECT_THAT(got, StatusIs(absl::StatusCode::kResourceExhausted));
      return;
    }
    ASSERT_OK(got);
    const uint64_t end = std::min(request_end, model.region(*id).end);
    EXPECT_EQ(got->ofs(), ofs);
    EXPECT_EQ(got->ofs_end(), end);
    EXPECT_EQ(std::string(got->buffer().begin(), got->buffer().end()),
              files[f].Range(ofs, end - ofs));
    Fixed entry{std::move(*got), f, nullptr};
    hold(entry.region, *id);
    fixed.push_back(std::move(entry));
  };

  // Moves a sliding cursor to index i in the model (if it must move).
  // Returns false if hard limits refuse.
  auto model_slide = [&](Sliding& s, uint64_t i) {
    const uint64_t abs = s.cursor.ofs() + i;
    if (s.region) {
      const Model::Region& r = model.region(*s.region);
      if (r.begin <= abs && abs < r.end) return true;
    }
    drop(s.region);
    std::optional<size_t> id = model.Acquire(s.file, abs, abs + 1);
    if (!id) return false;
    hold(s.region, *id);
    return true;
  };

  auto check_counters = [&]() {
    ASSERT_EQ(mman->num_open_regions(), model.num_regions());
    ASSERT_EQ(mman->num_used_regions(), model.num_used());
    ASSERT_EQ(mman->mapped_memory_size(), model.mapped());
    ASSERT_EQ(mman->num_open_cursors(), [&] {
      size_t open = sliding.size();
      for (const Fixed& f : fixed) open += f.cursor.closed() ? 0 : 1;
      return open;
    }());
    const ManagerStats stats = mman->stats();
    ASSERT_EQ(stats.cursor_hits, model.hits());
    ASSERT_EQ(stats.cursor_misses, model.misses());
    ASSERT_EQ(stats.lru_evictions, model.evictions());
    ASSERT_EQ(stats.soft_budget_overruns, model.overruns());
    ASSERT_LE(mman->num_open_files(), p.max_files);
    if (p.hard) {
      ASSERT_LE(mman->mapped_memory_size(), p.budget);
    } else {
      // Soft: beyond the budget only by what cursors hold.
      ASSERT_LE(mman->mapped_memory_size(),
                std::max(p.budget, model.used_bytes()));
    }
  };

  const int kSteps = 1500;
  for (int step = 0; step < kSteps; ++step) {
    SCOPED_TRACE(absl::StrCat("step ", step));
    const int f = static_cast<int>(uniform(0, files.size() - 1));
    const uint64_t fsize = sizes[f];
    const uint64_t op = uniform(0, 99);
    if (op < 30) {  // MakeCursor
      const uint64_t ofs = uniform(0, fsize + 2);
      const uint64_t size = uniform(0, 3) == 0 ? 0 : uniform(1, 3 * kPage);
      make_fixed(f, ofs, size, mman->MakeCursor(files[f].path(), ofs, size));
    } else if (op < 38 && !fixed.empty()) {  // NextCursor / MakeCursor from one
      Fixed& from = fixed[uniform(0, fixed.size() - 1)];
      const int ff = from.file;
      if (uniform(0, 1) == 0 && from.cursor.size() > 0) {
        make_fixed(ff, from.cursor.ofs_end(), from.cursor.size(),
                   from.cursor.NextCursor());
      } else {
        const uint64_t ofs = uniform(0, sizes[ff]);
        const uint64_t size = uniform(0, kPage);
        make_fixed(ff, ofs, size, from.cursor.MakeCursor(ofs, size));
      }
    } else if (op < 55 && !fixed.empty()) {  // Release / Close / destroy
      const size_t k = uniform(0, fixed.size() - 1);
      Fixed& victim = fixed[k];
      const uint64_t how = uniform(0, 2);
      const bool was_open = !victim.cursor.closed();
      if (how == 0) {
        absl::Status status = victim.cursor.Release();
        EXPECT_EQ(status.ok(), was_open) << status;
      } else if (how == 1) {
        victim.cursor.Close();
      } else {
        victim.cursor = FixedCursor();
      }
      drop(victim.region);
      if (how == 2 || uniform(0, 1) == 0) {
        fixed.erase(fixed.begin() + static_cast<std::ptrdiff_t>(k));
      }
    } else if (op < 62) {  // MakeSlidingCursor
      const uint64_t ofs = uniform(0, fsize + 1);
      const uint64_t size = uniform(0, 1) == 0 ? 0 : uniform(1, 4 * kPage);
      absl::StatusOr<SlidingCursor> got =
          mman->MakeSlidingCursor(files[f].path(), ofs, size);
      if (ofs >= fsize && !(ofs == 0 && fsize == 0)) {
        EXPECT_THAT(got, StatusIs(absl::StatusCode::kOutOfRange));
      } else {
        ASSERT_OK(got);
        const uint64_t end = size == 0 ? fsize : std::min(fsize, ofs + size);
        EXPECT_EQ(got->size(), end - ofs);
        sliding.push_back({std::move(*got), f, nullptr});
      }
    } else if (op < 85 && !sliding.empty()) {  // read through a sliding cursor
      Sliding& s = sliding[uniform(0, sliding.size() - 1)];
      const uint64_t n = s.cursor.size();
      const TestFile& file = files[s.file];
      if (n == 0) {
        EXPECT_THAT(s.cursor.At(0), StatusIs(absl::StatusCode::kOutOfRange));
        continue;
      }
      const uint64_t kind = uniform(0, 3);
      const uint64_t i = uniform(0, n - 1);
      if (kind == 0) {  // one byte, maybe by a negative index
        const bool negative = uniform(0, 1) == 0;
        const bool ok = model_slide(s, i);
        absl::StatusOr<uint8_t> got =
            negative ? s.cursor.At(static_cast<int64_t>(i) -
                                   static_cast<int64_t>(n))
                     : s.cursor.At(static_cast<int64_t>(i));
        if (!ok) {
          EXPECT_THAT(got, StatusIs(absl::StatusCode::kResourceExhausted));
        } else {
          ASSERT_OK(got);
          EXPECT_EQ(*got, file.bytes()[s.cursor.ofs() + i]);
        }
      } else {  // a range: Read, Slice or a chunk scan
        const uint64_t len = uniform(0, std::min<uint64_t>(n - i, 3 * kPage));
        bool ok = true;
        for (uint64_t pos = i; pos < i + len && ok;) {
          ok = model_slide(s, pos);
          if (ok) {
            pos = std::min(model.region(*s.region).end - s.cursor.ofs(),
                           i + len);
          }
        }
        std::string got;
        absl::Status status;
        if (kind == 1) {
          std::vector<uint8_t> dst(len);
          status = s.cursor.Read(i, absl::MakeSpan(dst));
          got.assign(dst.begin(), dst.end());
        } else if (kind == 2) {
          absl::StatusOr<Bytes> bytes =
              s.cursor.Slice(static_cast<int64_t>(i),
                             static_cast<int64_t>(i + len));
          status = bytes.status();
          if (bytes.ok()) got = std::string(bytes->string_view());
        } else {
          status = s.cursor.ForEachChunk(
              i, len, [&](absl::Span<const uint8_t> chunk) {
                got.append(chunk.begin(), chunk.end());
              });
        }
        if (!ok) {
          EXPECT_THAT(status, StatusIs(absl::StatusCode::kResourceExhausted));
        } else {
          ASSERT_OK(status);
          EXPECT_EQ(got, file.Range(s.cursor.ofs() + i, len));
        }
      }
    } else if (op < 90 && !sliding.empty()) {  // drop a sliding cursor
      const size_t k = uniform(0, sliding.size() - 1);
      if (uniform(0, 1) == 0) {
        sliding[k].cursor.ReleaseRegion();
        drop(sliding[k].region);
      } else {
        drop(sliding[k].region);
        sliding.erase(sliding.begin() + static_cast<std::ptrdiff_t>(k));
      }
    } else if (op < 93) {
      EXPECT_EQ(mman->Collect(), model.Collect());
      EXPECT_EQ(mman->num_open_files(), 0u);
    } else {  // every open fixed cursor's bytes, again
      for (const Fixed& c : fixed) {
        if (c.cursor.closed()) continue;
        ASSERT_EQ(std::string(c.cursor.buffer().begin(), c.cursor.buffer().end()),
                  files[c.file].Range(c.cursor.ofs(), c.cursor.size()));
      }
    }
    check_counters();
    if (HasFatalFailure()) return;
  }

  // Tear down in a random order, then check nothing is left.
  std::shuffle(fixed.begin(), fixed.end(), rng);
  for (Fixed& c : fixed) {
    c.cursor.Close();
    drop(c.region);
    check_counters();
  }
  fixed.clear();
  if (uniform(0, 1) == 0) mman->Close();
  mman.reset();  // sliding cursors outlive the manager
  sliding.clear();
  EXPECT_EQ(CountOpenFds(), baseline_fds);
}

std::vector<Params> AllParams() {
  std::vector<Params> params;
  if (const char* seed = std::getenv("SMMAP_SEED")) {
    const uint64_t s = std::strtoull(seed, nullptr, 10);
    for (bool greedy : {false, true}) {
      for (bool hard : {false, true}) {
        params.push_back({s, greedy, hard, 2 * kPage, (greedy ? 8 : 4) * kPage, 1});
      }
    }
    return params;
  }
  uint64_t seed = 1;
  for (bool greedy : {false, true}) {
    for (bool hard : {false, true}) {
      for (uint64_t budget_pages : {2, 4, 8}) {
        for (uint64_t max_files : {0, 1, 2}) {
          // Greedy regions are whole files (up to 7 pages): give hard mode
          // room for one.
          const uint64_t budget =
              (greedy && hard ? budget_pages + 6 : budget_pages) * kPage;
          const uint64_t window = (budget_pages >= 4 && !hard ? 4 : 2) * kPage;
          params.push_back({seed++, greedy, hard, window, budget, max_files});
        }
      }
    }
  }
  return params;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ReferenceModelTest,
                         ::testing::ValuesIn(AllParams()),
                         [](const ::testing::TestParamInfo<Params>& info) {
                           return absl::StrCat(
                               "seed", info.param.seed,
                               info.param.greedy ? "_greedy" : "_tiling",
                               info.param.hard ? "_hard" : "_soft");
                         });

}  // namespace
}  // namespace smmap
