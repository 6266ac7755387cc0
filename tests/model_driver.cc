#include "tests/model_driver.h"

#include "tests/model_driver_impl.h"

namespace smmap {
namespace testing {

using model_internal::InodeOf;
using model_internal::Version;
using model_internal::WriteAll;
using ::smmap::internal::RegionView;
using ::smmap::internal::os::Syscall;

uint64_t ByteChoices::Uniform(uint64_t lo, uint64_t hi) {
  if (lo >= hi) return lo;
  const uint64_t span = hi - lo;
  uint64_t value = 0;
  // As many bytes as the span needs.
  for (uint64_t covered = 0; covered < span && pos_ < size_;
       covered = (covered << 8) | 0xff) {
    value = (value << 8) | data_[pos_++];
  }
  return span == UINT64_MAX ? value : lo + value % (span + 1);
}

std::string Describe(const ModelParams& p) {
  return absl::StrCat("greedy=", p.greedy, " hard=", p.hard,
                      " window=", p.window, " budget=", p.budget,
                      " max_files=", p.max_files);
}

// --- Operations -------------------------------------------------------------

void ModelDriver::Impl::MakeFixed(Choices& c) {
  // By name, or from a cursor (which names its file again).
  int f = static_cast<int>(c.Uniform(0, files_.size() - 1));
  uint64_t ofs;
  uint64_t size;
  const Fixed* from = nullptr;
  bool next = false;
  if (!fixed_.empty() && c.Uniform(0, 3) == 0) {
    from = &fixed_[c.Uniform(0, fixed_.size() - 1)];
    f = from->file;
    next = c.Bool() && !from->cursor.closed() && from->cursor.size() > 0;
    ofs = next ? from->cursor.ofs_end()
               : c.Uniform(0, version_[f]->bytes.size() + 2);
    size = next ? from->cursor.size() : c.Uniform(0, kPage);
  } else {
    ofs = c.Uniform(0, version_[f]->bytes.size() + 2);
    size = c.Uniform(0, 3) == 0 ? 0 : c.Uniform(1, 3 * kPage);
  }
  std::optional<int> e;
  if (const auto named = named_.find(f); named != named_.end()) {
    e = named->second;
  }
  const std::optional<int> e_before = e;
  const uint64_t known0 = e ? entries_[*e].known_size : 0;
  const uint64_t want0 = size == 0 ? known0 : std::min(known0, ofs + size);
  const std::vector<uint64_t> lru0 = lru_;
  const uint64_t pinned0 = PinnedBytes();
  size_t open_before = 0;
  for (const auto& [id, entry] : entries_) open_before += entry.fd_open ? 1 : 0;
  const Observation before = last_;
  // Which cached region holds the whole request, as the manager knows the
  // file: then it must be a hit.
  std::optional<uint64_t> holder;
  if (e && ofs < known0) {
    for (const auto& [id, r] : regions_) {
      if (r.attached && r.entry == *e && r.ofs <= ofs && r.end >= want0) {
        holder = id;
      }
    }
  }

  op_ = absl::StrCat(from == nullptr ? "MakeCursor"
                     : next          ? "NextCursor"
                                     : "cursor.MakeCursor",
                     "(file ", f, ", ", ofs, ", ", size, ")");
  absl::StatusOr<FixedCursor> got = from == nullptr
                                        ? mman_->MakeCursor(Name(f), ofs, size)
                                    : next ? from->cursor.NextCursor()
                                           : from->cursor.MakeCursor(ofs, size);
  const Observation now = Observe();
  const uint64_t mmaps = Calls(before, now, Syscall::kMmap);
  const uint64_t hits = now.stats.cursor_hits - before.stats.cursor_hits;
  const uint64_t misses = now.stats.cursor_misses - before.stats.cursor_misses;
  const uint64_t file_calls = Calls(before, now, Syscall::kOpen) +
                              Calls(before, now, Syscall::kStat) +
                              Looks(before, now) + mmaps;
  if (!Examined(f, &e, before, now)) return;
  Entry& entry = entries_[*e];
  const uint64_t known = entry.known_size;
  const bool examined = Looks(before, now) > 0;
  DRIVER_CHECK(examined || ofs < known0 || (ofs == 0 && known0 == 0),
               "answered for offset ", ofs, " beyond the known end ", known0,
               " without looking at the file");
  Diff diff = Compare(now);
  LruRule rule;
  std::set<uint64_t> evicted;
  // Dropped because the manager saw the file change: before mapping
  // (beyond a new end, or the file replaced), or once a region of the same
  // window replaced one cut at an old end.
  std::set<uint64_t> stale;
  std::set<uint64_t> stale_before;
  const int old_entry = e_before.value_or(*e);
  for (uint64_t id : diff.gone) {
    const Region& r = regions_[id];
    const bool early = examined && (!entries_[r.entry].attached ||
                                    (r.entry == *e && r.end > known));
    bool replaced = false;  // by a new region of its window
    for (uint64_t fresh : diff.fresh) {
      const Region& n = regions_[fresh];
      replaced |= n.entry == r.entry && n.ofs == r.ofs && n.end > r.end;
    }
    if (r.entry == old_entry && (early || replaced)) {
      stale.insert(id);
      if (early) stale_before.insert(id);
    } else {
      evicted.insert(id);
    }
  }
  // An unused region that a new one of its window replaces may also have
  // been evicted first, to make room: then it counts as an eviction.
  const uint64_t evictions =
      now.stats.lru_evictions - before.stats.lru_evictions;
  for (uint64_t id : lru0) {
    if (evicted.size() < evictions && stale.count(id) != 0 &&
        stale_before.count(id) == 0) {
      stale.erase(id);
      evicted.insert(id);
    }
  }
  std::vector<uint64_t> lru_left;  // the LRU once the stale ones are gone
  for (uint64_t id : lru0) {
    if (stale.count(id) == 0) lru_left.push_back(id);
  }
  absl::StrAppend(&op_, " -> ", got.status().ToString(), " known ", known0,
                  "->", known, " examined ", examined, " fresh ",
                  diff.fresh.size(), " mmaps ", mmaps);
  if (!CheckEvictions(lru_left, evicted)) return;
  DRIVER_CHECK(
      now.stats.lru_evictions - before.stats.lru_evictions == evicted.size(),
      now.stats.lru_evictions - before.stats.lru_evictions,
      " evictions counted, ", evicted.size(), " seen");
  DRIVER_CHECK(diff.fresh.size() == mmaps, diff.fresh.size(),
               " regions appeared, mmap() ran ", mmaps, " times");
  DRIVER_CHECK(mmaps <= 1, mmaps, " regions mapped for one cursor");

  const bool empty_ok = ofs == 0 && known == 0;
  if (ofs >= known && !empty_ok) {
    DRIVER_CHECK(absl::IsOutOfRange(got.status()), "offset ", ofs,
                 " of a file of ", known, " bytes: ", got.status().ToString());
    DRIVER_CHECK(mmaps == 0 && hits == 0 && evicted.empty(),
                 "mapped or evicted for a refused request");
  } else if (known == 0) {
    DRIVER_CHECK(got.ok(), got.status().ToString());
    DRIVER_CHECK(got->size() == 0 && mmaps == 0 && hits + misses == 0,
                 "empty file: size ", got->size());
    ++entry.cursors;
    fixed_.push_back({std::move(*got), f, *e, std::nullopt, entry.version});
  } else if (!got.ok()) {
    refused_ = 1;
    DRIVER_CHECK(p_.hard && absl::IsResourceExhausted(got.status()),
                 got.status().ToString());
    // Refused only when what cursors pin leaves no room for the largest
    // region that could serve it: a window of the grid holding `ofs` (cut
    // at the end of the file), or the file.
    DRIVER_CHECK(pinned0 + LargestRegion(ofs, known) > p_.budget,
                 "refused with ", pinned0, " bytes pinned of a budget of ",
                 p_.budget);
    DRIVER_CHECK(mmaps == 0 && hits == 0, "refused after mapping");
  } else {
    const uint64_t want = size == 0 ? known : std::min(known, ofs + size);
    DRIVER_CHECK(hits + misses == 1, hits, " hits and ", misses,
                 " misses for one cursor");
    // The region the cursor shows.
    std::optional<uint64_t> shown;
    for (size_t i = 0; i < now.views.size(); ++i) {
      const RegionView& v = now.views[i];
      if (got->buffer().data() >= v.data &&
          got->buffer().data() < v.data + (v.end - v.ofs)) {
        shown = diff.ids[i];
      }
    }
    DRIVER_CHECK(shown.has_value(), "the cursor's bytes are in no region");
    const Region& r = regions_[*shown];
    DRIVER_CHECK(r.ofs <= ofs && got->buffer().data() == r.data + (ofs - r.ofs),
                 "cursor at ", ofs, " shows the wrong bytes of [", r.ofs, ", ",
                 r.end, ")");
    DRIVER_CHECK(got->ofs() == ofs && got->ofs_end() == std::min(want, r.end),
                 "cursor [", got->ofs(), ", ", got->ofs_end(), ") for [", ofs,
                 ", ", want, ") from [", r.ofs, ", ", r.end, ")");
    // Whole requests, or at least half a window of them.
    DRIVER_CHECK(p_.greedy ? got->ofs_end() == want
                           : got->ofs_end() >= std::min(want, ofs + stride_),
                 "served [", ofs, ", ", got->ofs_end(), ") of [", ofs, ", ",
                 want, ")");
    const bool fresh = std::find(diff.fresh.begin(), diff.fresh.end(),
                                 *shown) != diff.fresh.end();
    DRIVER_CHECK(fresh == (misses == 1), "hit on a new region, or miss on ",
                 "a cached one");
    if (fresh) {
      // A new region: cut only at the end of the file, and only when no
      // cached one served as much.
      DRIVER_CHECK(p_.greedy ? r.end == known
                             : r.end == std::min(r.ofs + p_.window, known),
                   "region [", r.ofs, ", ", r.end, ") of a file of ", known);
      for (const auto& [id, o] : regions_) {
        if (id != *shown && o.attached && o.entry == *e &&
            std::find(diff.gone.begin(), diff.gone.end(), id) ==
                diff.gone.end()) {
          DRIVER_CHECK(!(o.ofs <= ofs && o.end >= got->ofs_end()), "mapped [",
                       r.ofs, ", ", r.end, ") while [", o.ofs, ", ", o.end,
                       ") was cached");
        }
      }
      // As few evictions as the budget needs, and overruns counted.
      uint64_t room = before.mapped;
      for (uint64_t id : stale_before) {
        if (std::find(lru0.begin(), lru0.end(), id) != lru0.end()) {
          room -= regions_[id].bytes;
        }
      }
      uint64_t last_evicted = 0;
      for (uint64_t id : lru_left) {
        if (evicted.count(id) != 0) {
          room -= regions_[id].bytes;
          last_evicted = regions_[id].bytes;
        }
      }
      const bool all_evicted = evicted.size() == lru_left.size();
      DRIVER_CHECK(evicted.empty() || room + last_evicted + r.bytes > p_.budget,
                   "evicted more than the budget needed");
      DRIVER_CHECK(room + r.bytes <= p_.budget || all_evicted,
                   "over budget with unused regions left");
      if (!p_.hard) {
        const uint64_t overruns =
            now.stats.soft_budget_overruns - before.stats.soft_budget_overruns;
        DRIVER_CHECK(overruns == (room + r.bytes > p_.budget ? 1u : 0u),
                     overruns, " overruns with ", room, " + ", r.bytes,
                     " bytes of ", p_.budget);
      }
    } else {
      DRIVER_CHECK(evicted.empty(), "evictions on a hit");
      DRIVER_CHECK(file_calls == 0 || want0 == known0 || known != known0,
                   "system calls on a hit inside the known file");
    }
    if (holder && known == known0 &&
        std::find(diff.gone.begin(), diff.gone.end(), *holder) ==
            diff.gone.end()) {
      DRIVER_CHECK(!fresh, "mapped a region though [", regions_[*holder].ofs,
                   ", ", regions_[*holder].end, ") held the request");
    }
    DRIVER_CHECK(HeldBytesOk(entry.version, ofs, got->buffer()),
                 "bytes differ at ", ofs);
    ++entry.cursors;
    fixed_.push_back({std::move(*got), f, *e, *shown, entry.version});
  }
  CheckDescriptors(*e, before, now, open_before);
  if (!failure_.empty()) return;
  Commit(now, diff, rule);
  if (!failure_.empty()) return;
  CheckCounters(before, now, stale.empty());
  last_ = now;
}

void ModelDriver::Impl::Released(const Observation& before,
                                 const Observation& now,
                                 const std::vector<uint64_t>& lru0,
                                 std::optional<uint64_t> region) {
  DRIVER_CHECK(Calls(before, now, Syscall::kMmap) +
                       Calls(before, now, Syscall::kOpen) + Looks(before, now) +
                       Calls(before, now, Syscall::kClose) ==
                   0,
               "system calls other than munmap to release a cursor");
  Diff diff = Compare(now);
  DRIVER_CHECK(diff.fresh.empty(), "a region appeared on release");
  LruRule rule;
  const bool last_pin =
      region && regions_.count(*region) != 0 && Pins(*region) == 0;
  if (last_pin && regions_[*region].attached) {
    rule.released.push_back(*region);
    // Over a soft budget, a release evicts, least recently used first
    // (the region released is the most recent), until the budget holds.
    std::vector<uint64_t> order = lru0;
    order.push_back(*region);
    std::set<uint64_t> gone(diff.gone.begin(), diff.gone.end());
    if (!CheckEvictions(order, gone)) return;
    uint64_t mapped = before.mapped;
    uint64_t last = 0;
    for (uint64_t id : order) {
      if (gone.count(id) != 0) {
        mapped -= regions_[id].bytes;
        last = regions_[id].bytes;
      }
    }
    DRIVER_CHECK(gone.empty() || mapped + last > p_.budget,
                 "evicted below the budget on release");
    DRIVER_CHECK(mapped <= p_.budget || gone.size() == order.size(),
                 "over budget after a release, with unused regions");
    DRIVER_CHECK(
        now.stats.lru_evictions - before.stats.lru_evictions == gone.size(),
        now.stats.lru_evictions - before.stats.lru_evictions,
        " evictions counted on release, ", gone.size(), " seen");
  } else {
    DRIVER_CHECK(diff.gone.empty(), "regions dropped by a release");
    // A region only its cursors saw goes with the last of them.
    const bool hidden = last_pin && !regions_[*region].attached;
    DRIVER_CHECK(Calls(before, now, Syscall::kMunmap) == (hidden ? 1u : 0u),
                 Calls(before, now, Syscall::kMunmap), " unmapped on release");
  }
  Commit(now, diff, rule);
  if (!failure_.empty()) return;
  CheckCounters(before, now, true);
  last_ = now;
}

void ModelDriver::Impl::ReleaseFixed(Choices& c, bool erase) {
  const size_t k = c.Uniform(0, fixed_.size() - 1);
  Fixed& victim = fixed_[k];
  const uint64_t how = c.Uniform(0, 2);
  op_ = absl::StrCat("release fixed cursor ", k, " [", victim.cursor.ofs(),
                     ", ", victim.cursor.ofs_end(), ") how ", how);
  const bool was_open = !victim.cursor.closed();
  const std::optional<uint64_t> region = victim.region;
  const Observation before = last_;
  const std::vector<uint64_t> lru0 = lru_;
  if (how == 0) {
    absl::Status status = victim.cursor.Release();
    DRIVER_CHECK(was_open ? status.ok() : absl::IsFailedPrecondition(status),
                 status.ToString());
  } else if (how == 1) {
    victim.cursor.Close();
  } else {
    victim.cursor = FixedCursor();
  }
  DRIVER_CHECK(victim.cursor.closed(), "still open after release");
  victim.region.reset();
  // A closed cursor still names its file (MakeCursor() works on it): it
  // lets go of the file only when it is destroyed or reset.
  const bool destroyed = erase || how == 2 || c.Bool();
  if (destroyed || how == 2) {
    if (victim.bound) --entries_[victim.entry].cursors;
    victim.bound = false;
  }
  if (destroyed) {
    fixed_.erase(fixed_.begin() + static_cast<std::ptrdiff_t>(k));
  }
  Released(before, Observe(), lru0, region);
}

void ModelDriver::Impl::MakeSliding(Choices& c) {
  const int f = static_cast<int>(c.Uniform(0, files_.size() - 1));
  const uint64_t ofs = c.Uniform(0, version_[f]->bytes.size() + 1);
  const uint64_t size = c.Bool() ? 0 : c.Uniform(1, 4 * kPage);
  std::optional<int> e;
  if (const auto named = named_.find(f); named != named_.end()) {
    e = named->second;
  }
  const std::optional<int> e_before = e;
  const uint64_t known0 = e ? entries_[*e].known_size : 0;
  size_t open_before = 0;
  for (const auto& [id, entry] : entries_) open_before += entry.fd_open ? 1 : 0;
  const Observation before = last_;
  op_ = absl::StrCat("MakeSlidingCursor(file ", f, ", ", ofs, ", ", size, ")");
  absl::StatusOr<SlidingCursor> got =
      mman_->MakeSlidingCursor(Name(f), ofs, size);
  const Observation now = Observe();
  if (!Examined(f, &e, before, now)) return;
  Entry& entry = entries_[*e];
  const uint64_t known = entry.known_size;
  DRIVER_CHECK(Calls(before, now, Syscall::kMmap) == 0, "a sliding cursor ",
               "mapped before it was read");
  DRIVER_CHECK(
      Looks(before, now) > 0 || ofs < known0 || (ofs == 0 && known0 == 0),
      "answered for offset ", ofs, " beyond the known end ", known0,
      " without looking at the file");
  if (ofs >= known && !(ofs == 0 && known == 0)) {
    DRIVER_CHECK(absl::IsOutOfRange(got.status()), got.status().ToString());
  } else {
    DRIVER_CHECK(got.ok(), got.status().ToString());
    const uint64_t end = size == 0 ? known : std::min(known, ofs + size);
    DRIVER_CHECK(got->ofs() == ofs && got->size() == end - ofs, got->size(),
                 " bytes for [", ofs, ", ", end, ")");
    ++entry.cursors;
    sliding_.push_back({std::move(*got), f, *e, std::nullopt, entry.version});
  }
  Diff diff = Compare(now);
  for (uint64_t id : diff.gone) {
    const Region& r = regions_[id];
    DRIVER_CHECK(r.entry == e_before.value_or(*e) &&
                     (r.end > known || !entries_[r.entry].attached),
                 "region [", r.ofs, ", ", r.end, ") dropped by a new cursor");
  }
  DRIVER_CHECK(now.stats.lru_evictions == before.stats.lru_evictions,
               "evictions by a new sliding cursor");
  CheckDescriptors(*e, before, now, open_before);
  if (!failure_.empty()) return;
  Commit(now, diff, LruRule{});
  if (!failure_.empty()) return;
  CheckCounters(before, now, diff.gone.empty());
  last_ = now;
}

void ModelDriver::Impl::ReadSliding(Choices& c) {
  const size_t k = c.Uniform(0, sliding_.size() - 1);
  Sliding& s = sliding_[k];
  const uint64_t n = s.cursor.size();
  const Version& v = *s.version;
  // Only bytes the file still has: mapped bytes beyond a shrunk end raise
  // SIGBUS.
  const uint64_t readable = v.bytes.size() <= s.cursor.ofs()
                                ? 0
                                : std::min(n, v.bytes.size() - s.cursor.ofs());
  if (n == 0) {
    DRIVER_CHECK(absl::IsOutOfRange(s.cursor.At(0).status()), "At(0) of empty");
    return;
  }
  if (readable == 0) return;
  const uint64_t kind = c.Uniform(0, 3);
  op_ = absl::StrCat("sliding cursor ", k, " [", s.cursor.ofs(), ", ",
                     s.cursor.ofs_end(), ") kind ", kind);
  const uint64_t i = c.Uniform(0, readable - 1);
  const uint64_t len =
      kind == 0 ? 1 : c.Uniform(0, std::min<uint64_t>(readable - i, 3 * kPage));
  absl::StrAppend(&op_, " at ", i, " length ", len);
  const int e = s.entry;
  const bool in_current = s.region && regions_.count(*s.region) != 0 &&
                          regions_[*s.region].ofs <= s.cursor.ofs() + i &&
                          regions_[*s.region].end >=
                              s.cursor.ofs() + i + std::max<uint64_t>(len, 1);
  size_t open_before = 0;
  for (const auto& [id, entry] : entries_) open_before += entry.fd_open ? 1 : 0;
  const std::optional<uint64_t> previous = s.region;
  // Whether the manager knows the file as it is (else a window may be cut
  // at an end the file has passed since).
  const bool stable = entries_[s.entry].known_size == v.bytes.size();
  const Observation before = last_;
  const uint64_t pinned_by_others =
      PinnedBytes() -
      (previous && Pins(*previous) == 1 ? regions_[*previous].bytes : 0);

  std::string got;
  absl::Status status;
  bool view = false;
  if (kind == 0) {
    const bool negative = c.Bool();
    absl::StatusOr<uint8_t> b =
        negative
            ? s.cursor.At(static_cast<int64_t>(i) - static_cast<int64_t>(n))
            : s.cursor.At(static_cast<int64_t>(i));
    status = b.status();
    if (b.ok()) got.push_back(static_cast<char>(*b));
  } else if (kind == 1) {
    std::vector<uint8_t> dst(len);
    status = s.cursor.Read(i, absl::MakeSpan(dst));
    got.assign(dst.begin(), dst.end());
  } else if (kind == 2) {
    // A slice that a window could hold asks for that window, and copies
    // from the regions there are if a hard budget refuses it.
    may_refuse_ = p_.hard;
    absl::StatusOr<Bytes> slice =
        s.cursor.Slice(static_cast<int64_t>(i), static_cast<int64_t>(i + len));
    status = slice.status();
    if (slice.ok()) {
      got = std::string(slice->string_view());
      view = !slice->is_copy();
    }
  } else {
    status =
        s.cursor.ForEachChunk(i, len, [&](absl::Span<const uint8_t> chunk) {
          got.append(chunk.begin(), chunk.end());
        });
  }
  const Observation now = Observe();
  const uint64_t acquisitions =
      (now.stats.cursor_hits - before.stats.cursor_hits) +
      (now.stats.cursor_misses - before.stats.cursor_misses);
  if (in_current || (kind != 0 && len == 0)) {
    DRIVER_CHECK(
        acquisitions == 0 && now.calls == before.calls, acquisitions, " ",
        now.calls[0] - before.calls[0], " ", now.calls[1] - before.calls[1],
        " ", now.calls[2] - before.calls[2], " ",
        now.calls[3] - before.calls[3], " ", now.calls[4] - before.calls[4],
        " regions asked for bytes the cursor's region ", "holds");
  }
  const Entry& entry = entries_[e];
  const bool examined =
      Looks(before, now) + Calls(before, now, Syscall::kOpen) > 0;
  // lseek moves a descriptor's file offset: never the caller's (the
  // manager's own are checked in Examined()).
  DRIVER_CHECK(
      files_[s.file].fd < 0 || Calls(before, now, Syscall::kLseek) == 0,
      Calls(before, now, Syscall::kLseek), " lseek() calls on file ", s.file,
      ", named by the caller's descriptor");
  if (status.ok()) {
    DRIVER_CHECK(
        got == std::string(
                   v.bytes.begin() + static_cast<ptrdiff_t>(s.cursor.ofs() + i),
                   v.bytes.begin() +
                       static_cast<ptrdiff_t>(s.cursor.ofs() + i + len)),
        "bytes differ at ", i, " (", len, " bytes, kind ", kind, ")");
    // Up to half a window, a view; but for a hard budget that refused the
    // window holding it (a request that mapped nothing).
    const bool refused_inside =
        now.stats.cursor_misses - before.stats.cursor_misses >
        Calls(before, now, Syscall::kMmap);
    if (kind == 2 && len > 0 && (p_.greedy || len <= stride_) && stable) {
      DRIVER_CHECK(view || (p_.hard && refused_inside), "a slice of ", len,
                   " bytes (window ", p_.window, ") was copied");
    }
  } else if (absl::IsResourceExhausted(status)) {
    refused_ = 1;
    DRIVER_CHECK(
        p_.hard &&
            pinned_by_others + LargestRegion(s.cursor.ofs() + i,
                                             std::max(entries_[e].known_size,
                                                      v.bytes.size())) >
                p_.budget,
        "refused with ", pinned_by_others, " bytes pinned by others ", "of ",
        p_.budget, ": ", status.ToString());
  } else if (absl::IsDataLoss(status)) {
    DRIVER_CHECK(examined && v.bytes.size() < s.cursor.ofs_end(),
                 status.ToString());
  } else if (absl::IsFailedPrecondition(status)) {
    DRIVER_CHECK(
        examined && (version_[entry.file] != s.version || !entry.attached),
        status.ToString());
  } else {
    DRIVER_CHECK(false, status.ToString());
  }
  // What the manager learnt of the file.
  if (examined) {
    const uint64_t opens = Calls(before, now, Syscall::kOpen);
    Entry& me = entries_[e];
    if (opens >= 1 && me.version != version_[me.file]) {
      // Reopened and found another file: the cursor refuses to mix them,
      // and the descriptor is not kept.
    } else {
      me.known_size = me.version->bytes.size();
      me.fd_used = ++clock_;
      if (opens >= 1) me.fd_open = true;
    }
  }
  // The region the cursor holds now: the one with a pin more than other
  // cursors account for, if any.
  s.region.reset();
  Diff diff = Compare(now);
  for (size_t j = 0; j < now.views.size(); ++j) {
    if (static_cast<int>(now.views[j].pins) == Pins(diff.ids[j]) + 1) {
      DRIVER_CHECK(!s.region, "the cursor pins two regions");
      s.region = diff.ids[j];
    }
  }
  // Having made no call, it still holds the region it had, which may be
  // one only it sees now (detached when its file changed).
  if (!s.region && now.calls == before.calls && previous &&
      regions_.count(*previous) != 0 && !regions_[*previous].attached) {
    s.region = previous;
  }
  if (status.ok() && len > 0) {
    DRIVER_CHECK(s.region.has_value(), "a cursor that read holds no region");
  }
  // Regions dropped: unused ones (LRU first among those the read did not
  // pass through), or beyond a new end the manager saw.
  std::vector<uint64_t> others;
  for (uint64_t id : lru_) {
    if (regions_[id].entry != e) others.push_back(id);
  }
  std::set<uint64_t> evicted_others;
  for (uint64_t id : diff.gone) {
    const Region& r = regions_[id];
    const bool pinned_elsewhere = Pins(id) > 0 && id != s.region;
    if (r.entry != e) {
      DRIVER_CHECK(!pinned_elsewhere, "dropped a region other cursors use");
      evicted_others.insert(id);
    } else if (pinned_elsewhere) {
      bool replaced = false;  // by a new region of its window
      for (uint64_t fresh : diff.fresh) {
        const Region& n = regions_[fresh];
        replaced |= n.entry == r.entry && n.ofs == r.ofs && n.end > r.end;
      }
      // Or cut at an end the file has passed: a region of its window,
      // mapped during the call, replaced it (and may be gone again).
      const uint64_t known = entries_[e].known_size;
      replaced |= p_.greedy ? r.end < known
                            : r.end < std::min(r.ofs + p_.window, known);
      DRIVER_CHECK(
          replaced || (examined && (r.end > known || !entries_[e].attached)),
          "detached [", r.ofs, ", ", r.end, ") of a file not seen to ",
          "change");
    }
  }
  if (!CheckEvictions(others, evicted_others)) return;
  CheckDescriptors(e, before, now, open_before);
  if (!failure_.empty()) return;
  LruRule rule;
  rule.passed_entry = e;
  rule.passed_begin = s.cursor.ofs() + i;
  rule.passed_end = s.cursor.ofs() + i + std::max<uint64_t>(len, 1);
  rule.previous = previous;
  Commit(now, diff, rule);
  if (!failure_.empty()) return;
  CheckCounters(before, now, false);
  last_ = now;
}

void ModelDriver::Impl::DropSliding(Choices& c) {
  const size_t k = c.Uniform(0, sliding_.size() - 1);
  const std::optional<uint64_t> region = sliding_[k].region;
  const int e = sliding_[k].entry;
  const Observation before = last_;
  const std::vector<uint64_t> lru0 = lru_;
  op_ = absl::StrCat("drop sliding cursor ", k);
  if (c.Bool()) {
    sliding_[k].cursor.ReleaseRegion();
    sliding_[k].region.reset();
  } else {
    sliding_.erase(sliding_.begin() + static_cast<std::ptrdiff_t>(k));
    --entries_[e].cursors;
  }
  Released(before, Observe(), lru0, region);
}

void ModelDriver::Impl::Collect() {
  const Observation before = last_;
  const size_t unused = lru_.size();
  size_t fds = 0;
  for (const auto& [id, e] : entries_) fds += e.fd_open ? 1 : 0;
  op_ = "Collect";
  const size_t collected = mman_->Collect();
  const Observation now = Observe();
  DRIVER_CHECK(collected == unused, collected, " collected, ", unused,
               " unused");
  DRIVER_CHECK(now.open_files == 0, now.open_files, " descriptors left");
  DRIVER_CHECK(Calls(before, now, Syscall::kClose) == fds,
               Calls(before, now, Syscall::kClose), " closed of ", fds);
  for (auto& [id, e] : entries_) e.fd_open = false;
  Diff diff = Compare(now);
  std::set<uint64_t> gone(diff.gone.begin(), diff.gone.end());
  DRIVER_CHECK(gone == std::set<uint64_t>(lru_.begin(), lru_.end()),
               "Collect() did not unmap exactly the unused regions");
  DRIVER_CHECK(now.stats.lru_evictions == before.stats.lru_evictions,
               "Collect() counted evictions");
  Commit(now, diff, LruRule{});
  if (!failure_.empty()) return;
  CheckCounters(before, now, true);
  last_ = now;
}

void ModelDriver::Impl::ChangeFile(Choices& c) {
  const int f = static_cast<int>(c.Uniform(0, files_.size() - 1));
  std::shared_ptr<Version> v = version_[f];
  // The name to write through: this file's path or another name's.
  std::string path = files_[f].path;
  for (size_t i = 0; path.empty() && i < files_.size(); ++i) {
    if (version_[i] == v) path = files_[i].path;
  }
  if (path.empty()) return;
  const uint64_t how = c.Uniform(0, 2);
  op_ = absl::StrCat("change file ", f, " how ", how);
  if (how == 2 && replaceable_[f]) {
    std::vector<uint8_t> bytes =
        RandomBytes(c.Uniform(0, 5 * kPage + 100), c.Uniform(0, 1 << 30));
    if (absl::StartsWith(path, "/proc/self/fd/")) {
      // A memfd: a new one takes the descriptor number the path names.
      const int target = std::atoi(path.c_str() + 14);
      const int fresh = ::memfd_create("smmap-model", MFD_CLOEXEC);
      DRIVER_CHECK(fresh >= 0 &&
                       WriteAll(fresh, bytes.data(), bytes.size(), 0) &&
                       ::dup2(fresh, target) == target,
                   "replacing ", path);
      ::close(fresh);
      // dup2 clears close-on-exec; set it back.
      ::fcntl(target, F_SETFD, FD_CLOEXEC);
    } else {
      const std::string temp = absl::StrCat(path, ".new");
      WriteFile(temp, bytes);
      DRIVER_CHECK(::rename(temp.c_str(), path.c_str()) == 0, "rename ", temp);
    }
    version_[f] =
        std::make_shared<Version>(Version{std::move(bytes), InodeOf(path)});
    return;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  DRIVER_CHECK(fd >= 0, "open ", path, " for writing");
  if (how == 0) {  // grow
    const std::vector<uint8_t> more =
        RandomBytes(c.Uniform(1, 2 * kPage), c.Uniform(0, 1 << 30));
    const bool ok = WriteAll(fd, more.data(), more.size(), v->bytes.size());
    ::close(fd);
    DRIVER_CHECK(ok, "growing ", path);
    v->bytes.insert(v->bytes.end(), more.begin(), more.end());
  } else {  // shrink
    const uint64_t size = c.Uniform(0, v->bytes.size());
    const bool ok = ::ftruncate(fd, static_cast<off_t>(size)) == 0;
    ::close(fd);
    DRIVER_CHECK(ok, "truncating ", path);
    v->bytes.resize(size);
  }
}

void ModelDriver::Impl::BeginOp(std::string what) {
  op_ = std::move(what);
  refused_ = 0;
  may_refuse_ = false;
  erased_ = 0;
  fd_evicted_ = 0;
}

void ModelDriver::Impl::Step(Choices& c) {
  BeginOp("check held bytes");
  const uint64_t op = c.Uniform(0, 99);
  if (op < 36) {
    MakeFixed(c);
  } else if (op < 52 && !fixed_.empty()) {
    ReleaseFixed(c, /*erase=*/false);
  } else if (op < 59) {
    MakeSliding(c);
  } else if (op < 82 && !sliding_.empty()) {
    ReadSliding(c);
  } else if (op < 87 && !sliding_.empty()) {
    DropSliding(c);
  } else if (op < 90) {
    Collect();
  } else if (op < 92) {
    op_ = "restart";
    Restart(c);
  } else if (op < 96) {
    ChangeFile(c);
  } else {  // every open fixed cursor's bytes, again
    for (const Fixed& x : fixed_) {
      if (x.cursor.closed()) continue;
      DRIVER_CHECK(HeldBytesOk(x.version, x.cursor.ofs(), x.cursor.buffer()),
                   "bytes of a held cursor changed at ", x.cursor.ofs());
    }
  }
}

void ModelDriver::Impl::Restart(Choices& c) {
  if (c.Bool()) {
    mman_->Close();
    DRIVER_CHECK(
        absl::IsFailedPrecondition(mman_->MakeCursor(Name(0)).status()),
        "MakeCursor on a closed manager");
    DRIVER_CHECK(mman_->num_open_files() == 0 &&
                     mman_->num_used_regions() == mman_->num_open_regions(),
                 "a closed manager keeps descriptors or unused regions");
  } else {
    mman_.reset();
  }
  // Live cursors still read their bytes.
  for (const Fixed& x : fixed_) {
    if (x.cursor.closed()) continue;
    DRIVER_CHECK(HeldBytesOk(x.version, x.cursor.ofs(), x.cursor.buffer()),
                 "bytes after the manager went");
  }
  // Live sliding cursors still read anywhere in their range (mapping what
  // they need, unless a hard budget is held by the fixed cursors).
  for (Sliding& s : sliding_) {
    const uint64_t size = s.version->bytes.size();
    if (s.cursor.size() == 0 || size <= s.cursor.ofs()) continue;
    const uint64_t i =
        c.Uniform(0, std::min(s.cursor.size(), size - s.cursor.ofs()) - 1);
    absl::StatusOr<uint8_t> got = s.cursor.At(static_cast<int64_t>(i));
    if (got.ok()) {
      DRIVER_CHECK(*got == s.version->bytes[s.cursor.ofs() + i],
                   "sliding byte after the manager went, at ", i);
    } else {
      DRIVER_CHECK((p_.hard && absl::IsResourceExhausted(got.status())) ||
                       absl::IsDataLoss(got.status()) ||
                       absl::IsFailedPrecondition(got.status()),
                   got.status().ToString());
    }
  }
  fixed_.clear();
  sliding_.clear();
  mman_.reset();
  NewManager();
}

std::string ModelDriver::Impl::Run(Choices& choices, int steps) {
  for (step_ = 0; step_ < steps && failure_.empty() && !choices.Exhausted() &&
                  mman_ != nullptr;
       ++step_) {
    Step(choices);
    if (std::getenv("SMMAP_MODEL_TRACE") != nullptr) {
      std::fprintf(stderr, "%d %s files=%zu model=%zu\n", step_, op_.c_str(),
                   mman_ ? mman_->num_files() : 0, entries_.size());
    }
  }
  // Tear down in a random order, checking as cursors go.
  while (failure_.empty() && !fixed_.empty()) {
    BeginOp("teardown");
    ReleaseFixed(choices, /*erase=*/true);
  }
  fixed_.clear();
  if (mman_ != nullptr && choices.Bool()) mman_->Close();
  mman_.reset();  // sliding cursors may outlive the manager
  sliding_.clear();
  // Every mapping is gone: by munmap, or by an mmap over it.
  const auto calls = counter_.calls();
  const uint64_t mmaps = calls[static_cast<int>(Syscall::kMmap)];
  const uint64_t munmaps = calls[static_cast<int>(Syscall::kMunmap)];
  if (failure_.empty() && mmaps != munmaps + counter_.map_overs()) {
    Fail(absl::StrCat("after teardown: ", mmaps, " mmap() calls (",
                      counter_.map_overs(), " over a mapping), ", munmaps,
                      " munmap()"));
  }
  const size_t fds = CountOpenFds();
  if (fds != baseline_fds_) {
    Fail(absl::StrCat("descriptors leaked: ", fds, " open, ", baseline_fds_,
                      " at the start"));
  }
  return failure_;
}

// --- ModelDriver ------------------------------------------------------------

ModelDriver::ModelDriver(const ModelParams& params,
                         std::vector<DriverFile> files)
    : impl_(std::make_unique<Impl>(params, std::move(files))) {}

ModelDriver::~ModelDriver() = default;

std::string ModelDriver::Run(Choices& choices, int steps) {
  return impl_->Run(choices, steps);
}

}  // namespace testing
}  // namespace smmap
