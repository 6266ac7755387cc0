#include "tests/model_driver.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "smmap/manager.h"
#include "tests/test_files.h"

namespace smmap {
namespace testing {
namespace {

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));

std::string Range(const std::vector<uint8_t>& bytes, uint64_t ofs, uint64_t n) {
  return std::string(reinterpret_cast<const char*>(bytes.data()) + ofs,
                     static_cast<size_t>(n));
}

std::string Str(absl::Span<const uint8_t> bytes) {
  return std::string(bytes.begin(), bytes.end());
}

// What a mapping of [begin, end) costs: whole pages, as the kernel maps it.
uint64_t Pages(uint64_t begin, uint64_t end) {
  return (end - begin + kPage - 1) / kPage * kPage;
}

}  // namespace

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

// --- Model -------------------------------------------------------------------

Model::Model(const ModelParams& params, std::vector<uint64_t> sizes)
    : p_(params), sizes_(std::move(sizes)) {}

uint64_t Model::Index(uint64_t ofs) const {
  return p_.greedy ? 0 : ofs / (p_.window / 2);
}

uint64_t Model::WindowEnd(int file, uint64_t index) const {
  if (p_.greedy) return sizes_[file];
  return std::min(index * (p_.window / 2) + p_.window, sizes_[file]);
}

std::optional<uint64_t> Model::Acquire(int file, uint64_t ofs,
                                       uint64_t need_end) {
  const uint64_t index = Index(ofs);
  for (uint64_t candidate : {index, index - 1}) {
    if (candidate > index) continue;  // index - 1 wrapped around
    for (auto& [id, r] : regions_) {
      if (r.file == file && r.index == candidate && r.end >= need_end) {
        ++hits_;
        ++r.pins;
        return id;
      }
    }
  }
  ++misses_;
  const uint64_t begin = p_.greedy ? 0 : index * (p_.window / 2);
  const uint64_t end = WindowEnd(file, index);
  const uint64_t length = Pages(begin, end);
  if (p_.hard && length > p_.budget) return std::nullopt;
  while (mapped_ + length > p_.budget && Evict()) {
  }
  if (mapped_ + length > p_.budget) {
    if (p_.hard) return std::nullopt;
    ++overruns_;
  }
  const uint64_t id = next_id_++;
  regions_[id] = Region{file, index, begin, end, 1, 0};
  mapped_ += length;
  ++mapped_total_;
  bytes_total_ += length;
  peak_mapped_ = std::max(peak_mapped_, mapped_);
  peak_regions_ = std::max<uint64_t>(peak_regions_, regions_.size());
  return id;
}

void Model::Unpin(uint64_t id) {
  Region& r = regions_.at(id);
  if (--r.pins == 0) {
    r.released_at = ++clock_;
    while (mapped_ > p_.budget && Evict()) {
    }
  }
}

bool Model::Evict() {
  auto victim = regions_.end();
  for (auto it = regions_.begin(); it != regions_.end(); ++it) {
    if (it->second.pins == 0 &&
        (victim == regions_.end() ||
         it->second.released_at < victim->second.released_at)) {
      victim = it;
    }
  }
  if (victim == regions_.end()) return false;
  mapped_ -= Pages(victim->second.begin, victim->second.end);
  regions_.erase(victim);
  ++evictions_;
  ++unmapped_total_;
  return true;
}

size_t Model::Collect() {
  size_t n = 0;
  for (auto it = regions_.begin(); it != regions_.end();) {
    if (it->second.pins == 0) {
      mapped_ -= Pages(it->second.begin, it->second.end);
      it = regions_.erase(it);
      ++n;
      ++unmapped_total_;
    } else {
      ++it;
    }
  }
  return n;
}

size_t Model::num_used() const {
  size_t n = 0;
  for (const auto& [id, r] : regions_) n += r.pins > 0 ? 1 : 0;
  return n;
}

uint64_t Model::used_bytes() const {
  uint64_t bytes = 0;
  for (const auto& [id, r] : regions_) {
    if (r.pins > 0) bytes += Pages(r.begin, r.end);
  }
  return bytes;
}

// --- Driver ------------------------------------------------------------------

struct ModelDriver::Fixed {
  FixedCursor cursor;
  int file;
  std::optional<uint64_t> region;  // model id while open (not for empty files)
};

struct ModelDriver::Sliding {
  SlidingCursor cursor;
  int file;
  std::optional<uint64_t> region;  // model id of the current region
};

ModelDriver::ModelDriver(const ModelParams& params,
                         std::vector<DriverFile> files)
    : p_(params), files_(std::move(files)), baseline_fds_(CountOpenFds()) {
  NewManager();
}

ModelDriver::~ModelDriver() = default;

void ModelDriver::NewManager() {
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
  std::vector<uint64_t> sizes;
  for (const DriverFile& f : files_) sizes.push_back(f.bytes.size());
  model_ = std::make_unique<Model>(p_, std::move(sizes));
}

void ModelDriver::Fail(const std::string& what) {
  if (failure_.empty()) {
    failure_ = absl::StrCat("step ", step_, " (", Describe(p_), "): ", what);
  }
}

#define DRIVER_CHECK(cond, ...)                     \
  do {                                              \
    if (!(cond)) {                                  \
      Fail(absl::StrCat(#cond, ": ", __VA_ARGS__)); \
      return;                                       \
    }                                               \
  } while (false)

#define DRIVER_CHECK_BOOL(cond, ...)                \
  do {                                              \
    if (!(cond)) {                                  \
      Fail(absl::StrCat(#cond, ": ", __VA_ARGS__)); \
      return false;                                 \
    }                                               \
  } while (false)

std::string ModelDriver::Run(Choices& choices, int steps) {
  for (step_ = 0; step_ < steps && failure_.empty() && !choices.Exhausted();
       ++step_) {
    Step(choices);
    if (failure_.empty()) CheckCounters();
  }
  // Tear down in a random order, checking as cursors go.
  while (failure_.empty() && !fixed_.empty()) {
    const size_t k = choices.Uniform(0, fixed_.size() - 1);
    fixed_[k].cursor.Close();
    Drop(fixed_[k].region);
    fixed_.erase(fixed_.begin() + static_cast<std::ptrdiff_t>(k));
    CheckCounters();
  }
  fixed_.clear();
  if (mman_ != nullptr && choices.Bool()) mman_->Close();
  mman_.reset();  // sliding cursors may outlive the manager
  sliding_.clear();
  const size_t fds = CountOpenFds();
  if (fds != baseline_fds_) {
    Fail(absl::StrCat("descriptors leaked: ", fds, " open, ", baseline_fds_,
                      " at the start"));
  }
  return failure_;
}

void ModelDriver::Hold(std::optional<uint64_t>& slot, uint64_t id) {
  slot = id;
}

void ModelDriver::Drop(std::optional<uint64_t>& slot) {
  if (!slot) return;
  const uint64_t id = *slot;
  slot.reset();
  model_->Unpin(id);
}

void ModelDriver::MakeFixed(int f, uint64_t ofs, uint64_t size,
                            absl::StatusOr<FixedCursor> got) {
  const uint64_t fsize = files_[f].bytes.size();
  if (ofs >= fsize && !(ofs == 0 && fsize == 0)) {
    DRIVER_CHECK(absl::IsOutOfRange(got.status()), got.status().ToString());
    return;
  }
  if (fsize == 0) {
    DRIVER_CHECK(got.ok(), got.status().ToString());
    DRIVER_CHECK(got->size() == 0, got->size());
    fixed_.push_back({std::move(*got), f, std::nullopt});
    return;
  }
  const uint64_t request_end = size == 0 ? fsize : std::min(fsize, ofs + size);
  const uint64_t need =
      std::min(request_end, model_->WindowEnd(f, model_->Index(ofs)));
  std::optional<uint64_t> id = model_->Acquire(f, ofs, need);
  if (!id) {
    DRIVER_CHECK(absl::IsResourceExhausted(got.status()),
                 got.status().ToString());
    return;
  }
  DRIVER_CHECK(got.ok(), got.status().ToString());
  const uint64_t end = std::min(request_end, model_->region(*id).end);
  DRIVER_CHECK(got->ofs() == ofs, got->ofs(), " != ", ofs);
  DRIVER_CHECK(got->ofs_end() == end, got->ofs_end(), " != ", end);
  DRIVER_CHECK(Str(got->buffer()) == Range(files_[f].bytes, ofs, end - ofs),
               "bytes differ at ", ofs);
  // Regions are page-aligned in the file and in memory.
  const uint64_t base = reinterpret_cast<uintptr_t>(got->buffer().data()) -
                        (ofs - model_->region(*id).begin);
  DRIVER_CHECK(base % kPage == 0, "region at ", base, " not page-aligned");
  DRIVER_CHECK(model_->region(*id).begin % kPage == 0, "region offset");
  Fixed entry{std::move(*got), f, std::nullopt};
  Hold(entry.region, *id);
  fixed_.push_back(std::move(entry));
}

bool ModelDriver::ModelSlide(Sliding& s, uint64_t i) {
  const uint64_t abs = s.cursor.ofs() + i;
  if (s.region) {
    const Model::Region& r = model_->region(*s.region);
    if (r.begin <= abs && abs < r.end) return true;
  }
  return ModelMoveTo(s, i, 1);
}

bool ModelDriver::ModelMoveTo(Sliding& s, uint64_t i, uint64_t length) {
  const uint64_t abs = s.cursor.ofs() + i;
  Drop(s.region);
  const uint64_t need =
      std::min(abs + length, model_->WindowEnd(s.file, model_->Index(abs)));
  std::optional<uint64_t> id = model_->Acquire(s.file, abs, need);
  if (!id) return false;
  Hold(s.region, *id);
  return true;
}

void ModelDriver::ReadSliding(Choices& c) {
  Sliding& s = sliding_[c.Uniform(0, sliding_.size() - 1)];
  const uint64_t n = s.cursor.size();
  const std::vector<uint8_t>& bytes = files_[s.file].bytes;
  if (n == 0) {
    DRIVER_CHECK(absl::IsOutOfRange(s.cursor.At(0).status()), "At(0) of empty");
    return;
  }
  const uint64_t kind = c.Uniform(0, 3);
  const uint64_t i = c.Uniform(0, n - 1);
  if (kind == 0) {  // one byte, maybe by a negative index
    const bool negative = c.Bool();
    const bool ok = ModelSlide(s, i);
    absl::StatusOr<uint8_t> got =
        negative
            ? s.cursor.At(static_cast<int64_t>(i) - static_cast<int64_t>(n))
            : s.cursor.At(static_cast<int64_t>(i));
    if (!ok) {
      DRIVER_CHECK(absl::IsResourceExhausted(got.status()),
                   got.status().ToString());
    } else {
      DRIVER_CHECK(got.ok(), got.status().ToString());
      DRIVER_CHECK(*got == bytes[s.cursor.ofs() + i], "byte at ", i);
    }
    return;
  }
  // A range: Read, Slice or a chunk scan.
  const uint64_t len = c.Uniform(0, std::min<uint64_t>(n - i, 3 * kPage));
  auto region_holds = [&](uint64_t end) {
    return model_->region(*s.region).end - s.cursor.ofs() >= end;
  };
  bool ok = true;
  bool copy = true;  // visits the range region by region
  if (kind == 2 && len > 0) {
    // Slice: a view of the region for `i` if it holds the range, else of a
    // region asked for the whole range, else a copy.
    ok = ModelSlide(s, i);
    const uint64_t abs = s.cursor.ofs() + i;
    if (ok && !region_holds(i + len) &&
        abs + len <= model_->WindowEnd(s.file, model_->Index(abs))) {
      // A window could hold it: Slice() asks for that one, and copies from
      // the regions there are if a hard budget refuses.
      ModelMoveTo(s, i, len);
    }
    copy = ok && !(s.region && region_holds(i + len));
  }
  for (uint64_t pos = i; copy && pos < i + len && ok;) {
    ok = ModelSlide(s, pos);
    if (ok) {
      pos = std::min(model_->region(*s.region).end - s.cursor.ofs(), i + len);
    }
  }
  std::string got;
  absl::Status status;
  if (kind == 1) {
    std::vector<uint8_t> dst(len);
    status = s.cursor.Read(i, absl::MakeSpan(dst));
    got.assign(dst.begin(), dst.end());
  } else if (kind == 2) {
    absl::StatusOr<Bytes> slice =
        s.cursor.Slice(static_cast<int64_t>(i), static_cast<int64_t>(i + len));
    status = slice.status();
    if (slice.ok()) got = std::string(slice->string_view());
  } else {
    status =
        s.cursor.ForEachChunk(i, len, [&](absl::Span<const uint8_t> chunk) {
          got.append(chunk.begin(), chunk.end());
        });
  }
  if (!ok) {
    DRIVER_CHECK(absl::IsResourceExhausted(status), status.ToString());
  } else {
    DRIVER_CHECK(status.ok(), status.ToString());
    DRIVER_CHECK(got == Range(bytes, s.cursor.ofs() + i, len), "range at ", i);
  }
}

void ModelDriver::Step(Choices& c) {
  const int f = static_cast<int>(c.Uniform(0, files_.size() - 1));
  const DriverFile& file = files_[f];
  const uint64_t fsize = file.bytes.size();
  auto name = [&file]() -> FileRef {
    return file.fd >= 0 ? FileRef(file.fd) : FileRef(file.path);
  };
  const uint64_t op = c.Uniform(0, 99);
  if (op < 30) {  // MakeCursor
    const uint64_t ofs = c.Uniform(0, fsize + 2);
    const uint64_t size = c.Uniform(0, 3) == 0 ? 0 : c.Uniform(1, 3 * kPage);
    MakeFixed(f, ofs, size, mman_->MakeCursor(name(), ofs, size));
  } else if (op < 38 && !fixed_.empty()) {  // from another cursor
    Fixed& from = fixed_[c.Uniform(0, fixed_.size() - 1)];
    const int ff = from.file;
    if (c.Bool() && from.cursor.size() > 0) {
      const uint64_t ofs = from.cursor.ofs_end();
      const uint64_t size = from.cursor.size();
      MakeFixed(ff, ofs, size, from.cursor.NextCursor());
    } else {
      const uint64_t ofs = c.Uniform(0, files_[ff].bytes.size());
      const uint64_t size = c.Uniform(0, kPage);
      MakeFixed(ff, ofs, size, from.cursor.MakeCursor(ofs, size));
    }
  } else if (op < 55 && !fixed_.empty()) {  // Release, Close or destroy
    const size_t k = c.Uniform(0, fixed_.size() - 1);
    Fixed& victim = fixed_[k];
    const uint64_t how = c.Uniform(0, 2);
    const bool was_open = !victim.cursor.closed();
    if (how == 0) {
      absl::Status status = victim.cursor.Release();
      DRIVER_CHECK(status.ok() == was_open, status.ToString());
    } else if (how == 1) {
      victim.cursor.Close();
    } else {
      victim.cursor = FixedCursor();
    }
    Drop(victim.region);
    if (how == 2 || c.Bool()) {
      fixed_.erase(fixed_.begin() + static_cast<std::ptrdiff_t>(k));
    }
  } else if (op < 62) {  // MakeSlidingCursor
    const uint64_t ofs = c.Uniform(0, fsize + 1);
    const uint64_t size = c.Bool() ? 0 : c.Uniform(1, 4 * kPage);
    absl::StatusOr<SlidingCursor> got =
        mman_->MakeSlidingCursor(name(), ofs, size);
    if (ofs >= fsize && !(ofs == 0 && fsize == 0)) {
      DRIVER_CHECK(absl::IsOutOfRange(got.status()), got.status().ToString());
    } else {
      DRIVER_CHECK(got.ok(), got.status().ToString());
      const uint64_t end = size == 0 ? fsize : std::min(fsize, ofs + size);
      DRIVER_CHECK(got->size() == end - ofs, got->size());
      sliding_.push_back({std::move(*got), f, std::nullopt});
    }
  } else if (op < 85 && !sliding_.empty()) {
    ReadSliding(c);
  } else if (op < 90 && !sliding_.empty()) {  // drop a sliding cursor
    const size_t k = c.Uniform(0, sliding_.size() - 1);
    if (c.Bool()) {
      sliding_[k].cursor.ReleaseRegion();
      Drop(sliding_[k].region);
    } else {
      Drop(sliding_[k].region);
      sliding_.erase(sliding_.begin() + static_cast<std::ptrdiff_t>(k));
    }
  } else if (op < 93) {
    const size_t collected = mman_->Collect();
    DRIVER_CHECK(collected == model_->Collect(), collected);
    DRIVER_CHECK(mman_->num_open_files() == 0, mman_->num_open_files());
  } else if (op < 95) {
    Restart(c);
  } else {  // every open fixed cursor's bytes, again
    for (const Fixed& x : fixed_) {
      if (x.cursor.closed()) continue;
      DRIVER_CHECK(
          Str(x.cursor.buffer()) ==
              Range(files_[x.file].bytes, x.cursor.ofs(), x.cursor.size()),
          "bytes of a held cursor changed at ", x.cursor.ofs());
    }
  }
}

void ModelDriver::Restart(Choices& c) {
  if (c.Bool()) {
    mman_->Close();
    DRIVER_CHECK(
        absl::IsFailedPrecondition(
            mman_
                ->MakeCursor(files_[0].path.empty() ? FileRef(files_[0].fd)
                                                    : FileRef(files_[0].path))
                .status()),
        "MakeCursor on a closed manager");
  } else {
    mman_.reset();
  }
  // Live cursors still read their bytes.
  for (const Fixed& x : fixed_) {
    if (x.cursor.closed()) continue;
    DRIVER_CHECK(
        Str(x.cursor.buffer()) ==
            Range(files_[x.file].bytes, x.cursor.ofs(), x.cursor.size()),
        "bytes after the manager went");
  }
  // Live sliding cursors still read anywhere in their range (mapping what
  // they need, unless a hard budget is held by the fixed cursors).
  for (Sliding& s : sliding_) {
    if (s.cursor.size() == 0) continue;
    const uint64_t i = c.Uniform(0, s.cursor.size() - 1);
    absl::StatusOr<uint8_t> got = s.cursor.At(static_cast<int64_t>(i));
    if (got.ok()) {
      DRIVER_CHECK(*got == files_[s.file].bytes[s.cursor.ofs() + i],
                   "sliding byte after the manager went, at ", i);
    } else {
      DRIVER_CHECK(p_.hard && absl::IsResourceExhausted(got.status()),
                   got.status().ToString());
    }
  }
  fixed_.clear();
  sliding_.clear();
  mman_.reset();
  NewManager();
}

void ModelDriver::CheckCounters() {
  DRIVER_CHECK(mman_->num_open_regions() == model_->num_regions(),
               mman_->num_open_regions(), " != ", model_->num_regions());
  DRIVER_CHECK(mman_->num_used_regions() == model_->num_used(),
               mman_->num_used_regions(), " != ", model_->num_used());
  DRIVER_CHECK(mman_->mapped_memory_size() == model_->mapped(),
               mman_->mapped_memory_size(), " != ", model_->mapped());
  size_t open = sliding_.size();
  for (const Fixed& x : fixed_) open += x.cursor.closed() ? 0 : 1;
  DRIVER_CHECK(mman_->num_open_cursors() == open, mman_->num_open_cursors(),
               " != ", open);
  const ManagerStats stats = mman_->stats();
  DRIVER_CHECK(stats.cursor_hits == model_->hits(), stats.cursor_hits,
               " != ", model_->hits());
  DRIVER_CHECK(stats.cursor_misses == model_->misses(), stats.cursor_misses,
               " != ", model_->misses());
  DRIVER_CHECK(stats.lru_evictions == model_->evictions(), stats.lru_evictions,
               " != ", model_->evictions());
  DRIVER_CHECK(stats.soft_budget_overruns == model_->overruns(),
               stats.soft_budget_overruns, " != ", model_->overruns());
  DRIVER_CHECK(stats.regions_mapped == model_->mapped_total(),
               stats.regions_mapped, " != ", model_->mapped_total());
  DRIVER_CHECK(stats.regions_unmapped == model_->unmapped_total(),
               stats.regions_unmapped, " != ", model_->unmapped_total());
  DRIVER_CHECK(stats.bytes_mapped_total == model_->bytes_total(),
               stats.bytes_mapped_total, " != ", model_->bytes_total());
  DRIVER_CHECK(stats.peak_mapped_bytes == model_->peak_mapped(),
               stats.peak_mapped_bytes, " != ", model_->peak_mapped());
  DRIVER_CHECK(stats.peak_regions == model_->peak_regions(), stats.peak_regions,
               " != ", model_->peak_regions());
  DRIVER_CHECK(mman_->num_open_files() <= p_.max_files,
               mman_->num_open_files());
  if (p_.hard) {
    DRIVER_CHECK(mman_->mapped_memory_size() <= p_.budget,
                 mman_->mapped_memory_size());
  } else {
    DRIVER_CHECK(mman_->mapped_memory_size() <=
                     std::max(p_.budget, model_->used_bytes()),
                 mman_->mapped_memory_size());
  }
}

}  // namespace testing
}  // namespace smmap
