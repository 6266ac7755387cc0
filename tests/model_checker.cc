// The reference model's checker: what an observation of the manager must
// satisfy (tests/model_driver.h lists the rules).

#include "tests/model_driver.h"
#include "tests/model_driver_impl.h"

namespace smmap {
namespace testing {

using model_internal::InodeOf;
using model_internal::Pages;
using model_internal::SameRegion;
using model_internal::Version;
using ::smmap::internal::Inspector;
using ::smmap::internal::RegionView;
using ::smmap::internal::os::Syscall;

// --- The checker ------------------------------------------------------------

ModelDriver::Impl::Impl(const ModelParams& params,
                        std::vector<DriverFile> files)
    : p_(params),
      stride_(params.window / 2),
      files_(std::move(files)),
      baseline_fds_(CountOpenFds()) {
  // Names of one inode share its Version; only a file with one name, a
  // path, may be replaced.
  std::map<uint64_t, std::shared_ptr<Version>> by_inode;
  std::map<uint64_t, int> names;
  for (const DriverFile& f : files_) {
    const uint64_t inode = f.fd >= 0 ? InodeOf(f.fd) : InodeOf(f.path);
    ++names[inode];
    auto& v = by_inode[inode];
    if (v == nullptr) v = std::make_shared<Version>(Version{f.bytes, inode});
    version_.push_back(v);
  }
  for (size_t i = 0; i < files_.size(); ++i) {
    replaceable_.push_back(files_[i].fd < 0 && names[version_[i]->inode] == 1);
  }
  internal::os::SetFaultInjector(&counter_);
  NewManager();
}

ModelDriver::Impl::~Impl() {
  fixed_.clear();
  sliding_.clear();
  mman_.reset();
  internal::os::SetFaultInjector(nullptr);
}

void ModelDriver::Impl::NewManager() {
  ManagerOptions options;
  options.window_size = p_.greedy ? 0 : p_.window;
  options.max_memory_size = p_.budget;
  options.hard_limits = p_.hard;
  options.max_open_files = p_.max_files;
  if (p_.greedy) {
    auto mman = GreedyMemmapManager::Create(options);
    if (!mman.ok()) {
      return Fail(absl::StrCat("Create: ", mman.status().ToString()));
    }
    mman_ = std::move(*mman);
  } else {
    auto mman = TilingMemmapManager::Create(options);
    if (!mman.ok()) {
      return Fail(absl::StrCat("Create: ", mman.status().ToString()));
    }
    mman_ = std::move(*mman);
  }
  entries_.clear();
  named_.clear();
  regions_.clear();
  lru_.clear();
  last_ = Observe();
}

void ModelDriver::Impl::Fail(const std::string& what) {
  if (failure_.empty()) {
    failure_ = absl::StrCat("step ", step_, " (", Describe(p_), "), ", op_,
                            ": ", what);
  }
}

ModelDriver::Impl::Observation ModelDriver::Impl::Observe() const {
  Observation o;
  o.calls = counter_.calls();
  o.map_overs = counter_.map_overs();
  if (mman_ == nullptr) return o;
  o.stats = mman_->stats();
  o.views = Inspector::Regions(*mman_);
  o.mapped = mman_->mapped_memory_size();
  o.regions = mman_->num_open_regions();
  o.used = mman_->num_used_regions();
  o.cursors = mman_->num_open_cursors();
  o.files = mman_->num_files();
  o.open_files = mman_->num_open_files();
  return o;
}

ModelDriver::Impl::Diff ModelDriver::Impl::Compare(const Observation& now) {
  Diff diff;
  std::set<uint64_t> seen;
  for (const RegionView& v : now.views) {
    uint64_t id = UINT64_MAX;
    for (const auto& [rid, r] : regions_) {
      if (r.attached && r.data == v.data && r.ofs == v.ofs && r.end == v.end &&
          r.inode == v.inode &&
          (v.caller_fd >= 0 ? files_[r.file].fd == v.caller_fd
                            : files_[r.file].path == v.path)) {
        id = rid;
        break;
      }
    }
    if (id == UINT64_MAX) {
      // A new region: whose file is it?
      int f = -1;
      for (size_t i = 0; i < files_.size(); ++i) {
        if (v.caller_fd >= 0 ? files_[i].fd == v.caller_fd
                             : files_[i].fd < 0 && files_[i].path == v.path) {
          f = static_cast<int>(i);
        }
      }
      if (f < 0) {
        Fail(absl::StrCat("a region of a name the driver never used: '", v.path,
                          "' fd ", v.caller_fd));
        return diff;
      }
      id = next_region_++;
      const auto named = named_.find(f);
      regions_[id] = Region{named == named_.end() ? -1 : named->second,
                            f,
                            v.inode,
                            v.ofs,
                            v.end,
                            v.data,
                            v.mapped_bytes,
                            true};
      diff.fresh.push_back(id);
    }
    diff.ids.push_back(id);
    seen.insert(id);
  }
  for (const auto& [rid, r] : regions_) {
    if (r.attached && seen.count(rid) == 0) diff.gone.push_back(rid);
  }
  return diff;
}

int ModelDriver::Impl::Pins(uint64_t region) const {
  int n = 0;
  for (const Fixed& x : fixed_) n += x.region == region ? 1 : 0;
  for (const Sliding& s : sliding_) n += s.region == region ? 1 : 0;
  return n;
}

uint64_t ModelDriver::Impl::PinnedBytes() const {
  uint64_t bytes = 0;
  for (const auto& [id, r] : regions_) bytes += Pins(id) > 0 ? r.bytes : 0;
  return bytes;
}

int ModelDriver::Impl::NewEntry(int file) {
  const int e = next_entry_++;
  Entry entry;
  entry.file = file;
  entry.version = version_[file];
  entry.known_size = version_[file]->bytes.size();
  entries_[e] = entry;
  named_[file] = e;
  return e;
}

bool ModelDriver::Impl::Examined(int f, std::optional<int>* e,
                                 const Observation& before,
                                 const Observation& now) {
  const uint64_t opens = Calls(before, now, Syscall::kOpen);
  const uint64_t fstats = Calls(before, now, Syscall::kFstat);
  const bool by_fd = files_[f].fd >= 0;
  DRIVER_CHECK_BOOL(!by_fd || opens == 0, opens,
                    " open() calls for a file named by the caller's fd");
  DRIVER_CHECK_BOOL(opens <= 1, opens, " open() calls in one operation");
  if (!e->has_value()) {
    // A name the manager did not know: it must examine the file.
    DRIVER_CHECK_BOOL(fstats >= 1 && (by_fd || opens == 1),
                      "a new file was not examined: ", opens, " opens, ",
                      fstats, " fstats");
    *e = NewEntry(f);
    entries_[**e].fd_open = opens == 1;
    entries_[**e].fd_used = ++clock_;
    return true;
  }
  Entry& entry = entries_[**e];
  // Only a descriptor the manager opened and holds is asked its size
  // (lseek moves its offset); others are fstat'ed, after a reopen if need be.
  const uint64_t lseeks = Calls(before, now, Syscall::kLseek);
  DRIVER_CHECK_BOOL(lseeks == 0 || (!by_fd && opens == 0 && entry.fd_open),
                    lseeks, " lseek() calls on file ", f,
                    by_fd ? ", named by the caller's descriptor"
                          : ", whose descriptor was not cached");
  if (opens + fstats + lseeks == 0) return true;
  DRIVER_CHECK_BOOL(opens == 0 || !entry.fd_open, "opened ", files_[f].path,
                    " while its descriptor was cached");
  if (opens == 1 && entry.version != version_[f]) {
    // Reopened: the path denotes another file now. The old entry stays
    // with its cursors, detached; its attached regions are dropped.
    entry.attached = false;
    *e = NewEntry(f);
    entries_[**e].fd_open = true;
    entries_[**e].fd_used = ++clock_;
    return true;
  }
  entry.known_size = entry.version->bytes.size();
  entry.fd_used = ++clock_;
  if (opens == 1) entry.fd_open = true;
  return true;
}

void ModelDriver::Impl::CheckDescriptors(int e, const Observation& before,
                                         const Observation& now,
                                         size_t open_before) {
  const uint64_t opens = Calls(before, now, Syscall::kOpen);
  const uint64_t closes = Calls(before, now, Syscall::kClose);
  const uint64_t slots = std::max<uint64_t>(p_.max_files, 1);
  // Before opening with every slot taken, the least recently used idle
  // descriptor is closed; after the call, descriptors beyond max_open_files
  // are (the least recently used first).
  uint64_t expected = 0;
  std::vector<int> order;  // descriptors held, least recently used first
  for (const auto& [id, entry] : entries_) {
    if (entry.fd_open && id != e) order.push_back(id);
  }
  std::sort(order.begin(), order.end(), [this](int a, int b) {
    return entries_[a].fd_used < entries_[b].fd_used;
  });
  size_t held = open_before;
  const bool adopted = entries_.count(e) != 0 && entries_[e].fd_open;
  auto close_lru = [&] {
    entries_[order.front()].fd_open = false;
    order.erase(order.begin());
    --held;
    ++expected;
    ++fd_evicted_;
  };
  // Each load that opens the file (a call passing through several regions
  // may load several times).
  for (uint64_t i = 0; i < opens; ++i) {
    if (held == slots) {
      DRIVER_CHECK(!order.empty(), "every descriptor slot taken by ", e);
      close_lru();
    }
    if (adopted) {
      ++held;
      entries_[e].fd_open = true;
      order.push_back(e);
    } else {
      ++expected;  // opened to look, and closed: it was another file
    }
    while (held > p_.max_files && !order.empty()) close_lru();
  }
  if (opens == 0) {
    if (adopted) order.push_back(e);
    while (held > p_.max_files && !order.empty()) close_lru();
  }
  DRIVER_CHECK(closes == expected, closes, " descriptors closed, expected ",
               expected, " (", opens, " opened, ", open_before,
               " held before)");
}

bool ModelDriver::Impl::CheckEvictions(const std::vector<uint64_t>& lru,
                                       const std::set<uint64_t>& evicted) {
  size_t k = 0;
  while (k < lru.size() && evicted.count(lru[k]) != 0) ++k;
  auto describe = [this](uint64_t id) {
    const Region& r = regions_[id];
    return absl::StrCat(" [", r.ofs, ", ", r.end, ") of entry ", r.entry,
                        Pins(id) > 0 ? " (pinned)" : "");
  };
  std::string lru_text;
  for (uint64_t id : lru) absl::StrAppend(&lru_text, describe(id));
  std::string evicted_text;
  for (uint64_t id : evicted) absl::StrAppend(&evicted_text, describe(id));
  DRIVER_CHECK_BOOL(k == evicted.size(), "evicted", evicted_text,
                    ", not the least recently used of", lru_text);
  return true;
}

void ModelDriver::Impl::Commit(const Observation& now, const Diff& diff,
                               const LruRule& rule) {
  // Regions no longer listed: unmapped, or detached while cursors pin them.
  for (uint64_t id : diff.gone) {
    if (Pins(id) > 0) {
      regions_[id].attached = false;
    } else {
      regions_.erase(id);
      ++erased_;
    }
  }
  // Regions only their cursors see go when the last one lets go.
  for (auto it = regions_.begin(); it != regions_.end();) {
    if (!it->second.attached && Pins(it->first) == 0) {
      it = regions_.erase(it);
      ++erased_;
    } else {
      ++it;
    }
  }
  // No listed region reaches beyond its file's end as the manager knows it:
  // regions are cut at the end, and dropped when the file is seen shorter.
  for (size_t i = 0; i < now.views.size(); ++i) {
    const auto entry = entries_.find(regions_[diff.ids[i]].entry);
    DRIVER_CHECK(entry != entries_.end(), "a region of no known file");
    DRIVER_CHECK(now.views[i].end <= entry->second.known_size, "region [",
                 now.views[i].ofs, ", ", now.views[i].end,
                 ") beyond the end the manager knows, ",
                 entry->second.known_size);
  }
  // Pins, as cursors hold them.
  std::vector<uint64_t> unused;
  for (size_t i = 0; i < now.views.size(); ++i) {
    const uint64_t id = diff.ids[i];
    DRIVER_CHECK(static_cast<int>(now.views[i].pins) == Pins(id), "region [",
                 now.views[i].ofs, ", ", now.views[i].end, ") has ",
                 now.views[i].pins, " pins, cursors hold ", Pins(id));
    if (now.views[i].pins == 0) unused.push_back(id);
  }
  // The LRU order.
  std::set<uint64_t> listed(unused.begin(), unused.end());
  std::vector<uint64_t> kept;  // the previous order, of what is still unused
  for (uint64_t id : lru_) {
    if (listed.count(id) != 0) kept.push_back(id);
  }
  if (rule.passed_entry < 0) {
    std::vector<uint64_t> expected;
    std::set<uint64_t> released(rule.released.begin(), rule.released.end());
    for (uint64_t id : kept) {
      if (released.count(id) == 0) expected.push_back(id);
    }
    for (uint64_t id : rule.released) {
      if (listed.count(id) != 0) expected.push_back(id);
    }
    DRIVER_CHECK(unused == expected, "LRU order differs from release order (",
                 unused.size(), " unused regions)");
  } else {
    // Some prefix keeps the previous order; the rest are regions of the
    // entry the operation passed through.
    bool ok = false;
    for (size_t k = unused.size() + 1; k-- > 0 && !ok;) {
      std::set<uint64_t> prefix(
          unused.begin(), unused.begin() + static_cast<std::ptrdiff_t>(k));
      std::vector<uint64_t> in_order;
      for (uint64_t id : kept) {
        if (prefix.count(id) != 0) in_order.push_back(id);
      }
      ok = std::equal(in_order.begin(), in_order.end(), unused.begin(),
                      unused.begin() + static_cast<std::ptrdiff_t>(k)) &&
           in_order.size() == k;
      for (size_t j = k; ok && j < unused.size(); ++j) {
        const Region& r = regions_[unused[j]];
        ok = unused[j] == rule.previous ||
             (r.entry == rule.passed_entry && r.ofs < rule.passed_end &&
              r.end > rule.passed_begin);
      }
    }
    DRIVER_CHECK(ok, "LRU order: a region the call did not pass through ",
                 "moved");
  }
  lru_ = unused;
  // Entries: alive while they have cursors, regions or a descriptor.
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool has_region = false;
    for (const auto& [id, r] : regions_) has_region |= r.entry == it->first;
    if (it->second.cursors == 0 && !it->second.fd_open && !has_region) {
      const auto named = named_.find(it->second.file);
      if (named != named_.end() && named->second == it->first) {
        named_.erase(named);
      }
      it = entries_.erase(it);
    } else {
      ++it;
    }
  }
}

void ModelDriver::Impl::CheckCounters(const Observation& before,
                                      const Observation& now, bool exact) {
  size_t regions = 0;
  size_t used = 0;
  uint64_t mapped = 0;
  for (const auto& [id, r] : regions_) {
    ++regions;
    used += Pins(id) > 0 ? 1 : 0;
    mapped += r.bytes;
  }
  if (now.regions != regions) {
    std::string dump;
    for (const auto& [id, r] : regions_) {
      absl::StrAppend(&dump, " [", r.ofs, ",", r.end, ") e", r.entry, " att ",
                      r.attached, " pins ", Pins(id), ";");
    }
    absl::StrAppend(&dump, " views:");
    for (const RegionView& v : now.views) {
      absl::StrAppend(&dump, " [", v.ofs, ",", v.end, ") pins ", v.pins, ";");
    }
    absl::StrAppend(&dump, " calls:");
    for (int i = 0; i < internal::os::kNumSyscalls; ++i) {
      absl::StrAppend(&dump, " ", now.calls[i] - before.calls[i]);
    }
    Fail(absl::StrCat(now.regions, " regions, ", regions, " known:", dump));
    return;
  }
  DRIVER_CHECK(now.used == used, now.used, " used regions, ", used, " known");
  DRIVER_CHECK(now.mapped == mapped, now.mapped, " bytes mapped, ", mapped,
               " known");
  size_t cursors = sliding_.size();
  for (const Fixed& x : fixed_) cursors += x.cursor.closed() ? 0 : 1;
  DRIVER_CHECK(now.cursors == cursors, now.cursors, " cursors, ", cursors,
               " open");
  size_t open_files = 0;
  for (const auto& [id, e] : entries_) open_files += e.fd_open ? 1 : 0;
  DRIVER_CHECK(now.open_files == open_files, now.open_files,
               " descriptors held, ", open_files, " expected");
  if (now.files != entries_.size()) {
    std::string dump;
    for (const auto& [id, e] : entries_) {
      int nr = 0;
      for (const auto& [rid, r] : regions_) nr += r.entry == id ? 1 : 0;
      absl::StrAppend(&dump, " [entry ", id, " file ", e.file, " att ",
                      e.attached, " fd ", e.fd_open, " cur ", e.cursors,
                      " regions ", nr, "]");
    }
    Fail(absl::StrCat(now.files, " files tracked, ", entries_.size(),
                      " expected:", dump));
    return;
  }
  // The counters agree with the system calls seen.
  const ManagerStats& s0 = before.stats;
  const ManagerStats& s1 = now.stats;
  DRIVER_CHECK(s1.regions_mapped - s0.regions_mapped ==
                   Calls(before, now, Syscall::kMmap),
               "regions_mapped grew by ", s1.regions_mapped - s0.regions_mapped,
               ", mmap() ran ", Calls(before, now, Syscall::kMmap), " times");
  // A region is unmapped by munmap, or by an mmap over it.
  const uint64_t map_overs = now.map_overs - before.map_overs;
  const uint64_t unmaps = Calls(before, now, Syscall::kMunmap) + map_overs;
  DRIVER_CHECK(s1.regions_unmapped - s0.regions_unmapped == unmaps,
               "regions_unmapped grew by ",
               s1.regions_unmapped - s0.regions_unmapped, ", munmap() ran ",
               Calls(before, now, Syscall::kMunmap), " times, mmap over ",
               map_overs);
  DRIVER_CHECK(s1.cursor_misses - s0.cursor_misses >=
                       Calls(before, now, Syscall::kMmap) + refused_ &&
                   s1.cursor_misses - s0.cursor_misses <=
                       Calls(before, now, Syscall::kMmap) + refused_ +
                           (may_refuse_ ? 1 : 0),
               "misses grew by ", s1.cursor_misses - s0.cursor_misses,
               ", mmap() ran ", Calls(before, now, Syscall::kMmap), " times");
  DRIVER_CHECK(
      s1.files_opened - s0.files_opened == Calls(before, now, Syscall::kOpen),
      "files_opened grew by ", s1.files_opened - s0.files_opened,
      ", open() ran ", Calls(before, now, Syscall::kOpen), " times");
  DRIVER_CHECK(
      s1.files_closed - s0.files_closed == Calls(before, now, Syscall::kClose),
      "files_closed grew by ", s1.files_closed - s0.files_closed,
      ", close() ran ", Calls(before, now, Syscall::kClose), " times");
  DRIVER_CHECK(s1.map_failures == 0 && s1.unmap_failures == 0,
               "failures with no fault injected");
  DRIVER_CHECK(s1.lru_evictions - s0.lru_evictions <=
                   s1.regions_unmapped - s0.regions_unmapped,
               "more evictions than unmaps");
  // Bytes mapped and peaks: exact when the operation mapped at most one
  // region and dropped nothing after it; bounds otherwise.
  uint64_t fresh_bytes = 0;
  for (const RegionView& v : now.views) {
    bool known = false;
    for (const RegionView& w : before.views) known |= SameRegion(v, w);
    fresh_bytes += known ? 0 : v.mapped_bytes;
  }
  // Every region seen to go was unmapped; so were those mapped and gone
  // within the call (one passing through several regions).
  uint64_t fresh_count = 0;
  for (const RegionView& v : now.views) {
    bool known = false;
    for (const RegionView& w : before.views) known |= SameRegion(v, w);
    fresh_count += known ? 0 : 1;
  }
  const uint64_t transient = Calls(before, now, Syscall::kMmap) - fresh_count;
  DRIVER_CHECK(unmaps == erased_ + transient, "munmap() ran ",
               Calls(before, now, Syscall::kMunmap), " times, mmap over ",
               map_overs, "; regions gone: ", erased_,
               ", mapped and gone within the call: ", transient);
  DRIVER_CHECK(s1.fd_evictions - s0.fd_evictions == fd_evicted_,
               s1.fd_evictions - s0.fd_evictions, " descriptor evictions, ",
               fd_evicted_, " expected");
  if (p_.hard) {
    DRIVER_CHECK(
        s1.soft_budget_overruns == 0 && s1.peak_mapped_bytes <= p_.budget,
        "hard budget ", p_.budget, ": peak ", s1.peak_mapped_bytes,
        ", overruns ", s1.soft_budget_overruns);
  }
  const uint64_t bytes_mapped = s1.bytes_mapped_total - s0.bytes_mapped_total;
  DRIVER_CHECK(bytes_mapped >= fresh_bytes, bytes_mapped,
               " bytes mapped, regions of ", fresh_bytes, " bytes appeared");
  DRIVER_CHECK(
      s1.peak_mapped_bytes >= std::max(s0.peak_mapped_bytes, now.mapped),
      "peak_mapped_bytes ", s1.peak_mapped_bytes);
  DRIVER_CHECK(
      s1.peak_regions >= std::max<uint64_t>(s0.peak_regions, now.regions),
      "peak_regions ", s1.peak_regions);
  DRIVER_CHECK(s1.peak_mapped_bytes <=
                   std::max(s0.peak_mapped_bytes, before.mapped + bytes_mapped),
               "peak_mapped_bytes ", s1.peak_mapped_bytes, " above ",
               before.mapped + bytes_mapped);
  if (exact) {
    DRIVER_CHECK(bytes_mapped == fresh_bytes, bytes_mapped, " bytes mapped, ",
                 fresh_bytes, " appeared");
    DRIVER_CHECK(
        s1.peak_mapped_bytes == std::max(s0.peak_mapped_bytes, now.mapped),
        "peak_mapped_bytes ", s1.peak_mapped_bytes, ", expected ",
        std::max(s0.peak_mapped_bytes, now.mapped));
    DRIVER_CHECK(
        s1.peak_regions == std::max<uint64_t>(s0.peak_regions, now.regions),
        "peak_regions ", s1.peak_regions);
  }
  // Budgets.
  if (p_.hard) {
    DRIVER_CHECK(now.mapped <= p_.budget, now.mapped, " mapped, hard budget ",
                 p_.budget);
  } else {
    DRIVER_CHECK(now.mapped <= std::max(p_.budget, PinnedBytes()), now.mapped,
                 " mapped, soft budget ", p_.budget, ", ", PinnedBytes(),
                 " pinned");
  }
  for (size_t i = 0; i < now.views.size(); ++i) {
    const RegionView& v = now.views[i];
    DRIVER_CHECK(
        v.ofs % kPage == 0 && reinterpret_cast<uintptr_t>(v.data) % kPage == 0,
        "region at ", v.ofs, " not page-aligned");
    DRIVER_CHECK(v.mapped_bytes == Pages(v.end - v.ofs), "region [", v.ofs,
                 ", ", v.end, ") costs ", v.mapped_bytes);
    if (!p_.greedy) {
      DRIVER_CHECK(v.ofs % stride_ == 0 && v.end - v.ofs <= p_.window,
                   "region [", v.ofs, ", ", v.end, ") off the window grid");
    } else {
      DRIVER_CHECK(v.ofs == 0, "greedy region at ", v.ofs);
    }
  }
}

bool ModelDriver::Impl::HeldBytesOk(const std::shared_ptr<Version>& v,
                                    uint64_t ofs,
                                    absl::Span<const uint8_t> shown) const {
  // Bytes beyond the file's current end are not read: the file shrank under
  // the mapping, and reading them would raise SIGBUS.
  const uint64_t size = v->bytes.size();
  if (ofs >= size) return true;
  const uint64_t n = std::min<uint64_t>(shown.size(), size - ofs);
  return std::equal(shown.begin(), shown.begin() + static_cast<ptrdiff_t>(n),
                    v->bytes.begin() + static_cast<ptrdiff_t>(ofs));
}

}  // namespace testing
}  // namespace smmap
