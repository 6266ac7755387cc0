// A reference model of a manager, and a driver that applies random
// operations to a real manager and to the model and compares them after
// every step. Shared by tests/reference_model_test.cc and the fuzzers.
//
// The model is deliberately naive (linear searches, LRU by timestamps) and
// follows the placement rules documented in smmap/options.h: window i covers
// [i * stride, i * stride + window), cut at the end of the file; a request
// for [ofs, end) is served by window ofs / stride, or by the window before it
// if that one is mapped and holds what the request can get.
//
// Checks after every step: every byte a cursor shows equals the file's bytes;
// regions, used regions, mapped bytes, cursors, hits, misses, evictions and
// overruns equal the model's; hard budgets are never exceeded, soft ones only
// by what cursors hold; descriptors stay within max_open_files; regions are
// page-aligned. After teardown the process's descriptors are back to their
// starting count.
//
// Not thread-safe.

#ifndef SMMAP_TESTS_MODEL_DRIVER_H_
#define SMMAP_TESTS_MODEL_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "smmap/manager.h"

namespace smmap {
namespace testing {

// Where the driver's random choices come from.
class Choices {
 public:
  virtual ~Choices() = default;
  // A value in [lo, hi].
  virtual uint64_t Uniform(uint64_t lo, uint64_t hi) = 0;
  // Whether the source is exhausted (fuzz input used up).
  virtual bool Exhausted() const { return false; }
  bool Bool() { return Uniform(0, 1) == 1; }
};

// Choices from a seeded generator.
class RandomChoices final : public Choices {
 public:
  explicit RandomChoices(uint64_t seed) : rng_(seed) {}
  uint64_t Uniform(uint64_t lo, uint64_t hi) override {
    return std::uniform_int_distribution<uint64_t>(lo, hi)(rng_);
  }

 private:
  std::mt19937_64 rng_;
};

// Choices read from a fuzzer's input; once it is used up, every choice is
// `lo` and Exhausted() is true.
class ByteChoices final : public Choices {
 public:
  ByteChoices(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint64_t Uniform(uint64_t lo, uint64_t hi) override;
  bool Exhausted() const override { return pos_ >= size_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

struct ModelParams {
  bool greedy = false;
  bool hard = false;
  uint64_t window = 0;  // tiling: window_size (a multiple of two pages)
  uint64_t budget = 0;  // max_memory_size
  uint64_t max_files = 1;
};

std::string Describe(const ModelParams& params);

// The naive model of a manager's regions and counters.
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

  Model(const ModelParams& params, std::vector<uint64_t> sizes);

  uint64_t Index(uint64_t ofs) const;
  uint64_t WindowEnd(int file, uint64_t index) const;
  // Finds or maps the region for [ofs, need_end) of `file` (a sliding
  // request passes ofs + 1) and pins it. Returns its id, or nullopt if hard
  // limits refuse.
  std::optional<uint64_t> Acquire(int file, uint64_t ofs, uint64_t need_end);
  void Unpin(uint64_t id);
  size_t Collect();

  const Region& region(uint64_t id) const { return regions_.at(id); }
  size_t num_regions() const { return regions_.size(); }
  size_t num_used() const;
  uint64_t used_bytes() const;
  uint64_t mapped() const { return mapped_; }
  uint64_t hits() const { return hits_; }
  uint64_t misses() const { return misses_; }
  uint64_t evictions() const { return evictions_; }
  uint64_t overruns() const { return overruns_; }
  uint64_t mapped_total() const { return mapped_total_; }  // regions mapped
  uint64_t unmapped_total() const { return unmapped_total_; }
  uint64_t bytes_total() const { return bytes_total_; }
  uint64_t peak_mapped() const { return peak_mapped_; }
  uint64_t peak_regions() const { return peak_regions_; }

 private:
  bool Evict();

  ModelParams p_;
  std::vector<uint64_t> sizes_;
  // Regions by id; ids are never reused, so cursors can hold them.
  std::map<uint64_t, Region> regions_;
  uint64_t next_id_ = 0;
  uint64_t mapped_ = 0;
  uint64_t clock_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  uint64_t evictions_ = 0;
  uint64_t overruns_ = 0;
  uint64_t mapped_total_ = 0;
  uint64_t unmapped_total_ = 0;
  uint64_t bytes_total_ = 0;
  uint64_t peak_mapped_ = 0;
  uint64_t peak_regions_ = 0;
};

// A file the driver reads: its name for the manager and its bytes.
struct DriverFile {
  std::string path;  // used when fd < 0
  int fd = -1;       // the caller's descriptor, if named by one
  std::vector<uint8_t> bytes;
};

// Applies random operations to a manager and to the model.
class ModelDriver {
 public:
  ModelDriver(const ModelParams& params, std::vector<DriverFile> files);
  ~ModelDriver();

  // Runs up to `steps` operations (fewer if `choices` runs out). Returns ""
  // or a description of the first mismatch.
  std::string Run(Choices& choices, int steps);

 private:
  struct Fixed;
  struct Sliding;

  void Step(Choices& choices);
  void MakeFixed(int file, uint64_t ofs, uint64_t size,
                 absl::StatusOr<FixedCursor> got);
  // What the cursor does to reach index `i` (false: the budget refused).
  bool ModelSlide(Sliding& s, uint64_t i);
  // What SlidingCursor::MoveTo(i, length) does: always gives up the current
  // region and asks for one holding [i, i + length) if a window can.
  bool ModelMoveTo(Sliding& s, uint64_t i, uint64_t length);
  void Hold(std::optional<uint64_t>& slot, uint64_t id);
  void Drop(std::optional<uint64_t>& slot);
  void ReadSliding(Choices& choices);
  void CheckCounters();
  // Closes or destroys the manager with cursors alive, checks they still
  // read, drops them and starts over with a new manager and model.
  void Restart(Choices& choices);
  void NewManager();
  void Fail(const std::string& what);

  ModelParams p_;
  std::vector<DriverFile> files_;
  std::unique_ptr<MemmapManager> mman_;
  std::unique_ptr<Model> model_;
  std::vector<Fixed> fixed_;
  std::vector<Sliding> sliding_;
  size_t baseline_fds_ = 0;
  int step_ = 0;
  std::string failure_;
};

}  // namespace testing
}  // namespace smmap

#endif  // SMMAP_TESTS_MODEL_DRIVER_H_
