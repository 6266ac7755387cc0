// A checker of a manager's observable contract, and a driver that applies
// random operations to a real manager, changes its files under it, and
// checks every step. Shared by tests/reference_model_test.cc and the fuzzers.
//
// The checker does not restate the engine: it never computes which window a
// request maps or which cached region serves it. It observes what the
// manager did (the system calls, through the os seam's fault injector; the
// cached regions, their pins and LRU order, through
// smmap/internal/inspect.h; the counters; the cursors) and checks that it is
// allowed by what options.h, manager.h and sliding_cursor.h promise:
//  - bytes: every byte a cursor shows equals the file's (the file as it was
//    mapped, for a file replaced since);
//  - statuses: each operation's exact code, from the driver's record of the
//    file's size as the manager last examined it (it re-examines when it
//    makes a region or reaches the end it knows);
//  - regions: page-aligned, on the window grid (starting at multiples of
//    window/2), window bytes long or cut at the end of the file (greedy:
//    the whole file); a fixed cursor gets its whole request, or at least
//    window/2 bytes of it; a region is mapped only when no cached one holds
//    what it serves, and never for a request a cached region holds;
//  - the LRU: the unused regions' order is the order they were released in
//    (regions one call passes through may be released in any order among
//    themselves); evictions take the least recently used first, only as
//    many as the budget needs; soft overruns and evictions are counted
//    exactly; hard budgets are never exceeded, and a hard-budget refusal
//    happens only when what cursors pin leaves no room;
//  - files: growth, shrinkage (regions beyond the new end dropped once the
//    manager sees it) and replacement (seen when the manager reopens the
//    path; cursors of the old file keep its bytes, or refuse to mix two);
//    descriptors opened only when none is cached, within max_open_files,
//    the least recently used one closed first; num_files(),
//    num_open_files(), files_opened and files_closed exact;
//  - counters: regions, used regions, mapped bytes, cursors, hits, misses,
//    regions mapped and unmapped, bytes mapped, peaks, all exact (but for
//    calls that pass through several regions, whose intermediate steps are
//    not observable: there, bounds), and equal to the system calls seen;
//  - teardown: the process's descriptors are back to their starting count.
//
// SMMAP_MODEL_TRACE=1 in the environment prints each operation to stderr.
//
// Not thread-safe: it installs a process-wide fault injector (counting
// calls, failing none) for its lifetime.

#ifndef SMMAP_TESTS_MODEL_DRIVER_H_
#define SMMAP_TESTS_MODEL_DRIVER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
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

// A file the driver reads: its name for the manager and its bytes.
struct DriverFile {
  std::string path;  // used when fd < 0
  int fd = -1;       // the caller's descriptor, if named by one
  std::vector<uint8_t> bytes;
};

// Applies random operations to a manager and checks each one.
class ModelDriver {
 public:
  // `files` may name one file twice (a path and a descriptor): the manager
  // then tracks two files, which change together. Files named by a path
  // only may also be replaced (a new file renamed over the path, or, for
  // /proc/self/fd/N, a new memfd dup2'ed onto N).
  ModelDriver(const ModelParams& params, std::vector<DriverFile> files);
  ~ModelDriver();

  // Runs up to `steps` operations (fewer if `choices` runs out). Returns ""
  // or a description of the first violation.
  std::string Run(Choices& choices, int steps);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace testing
}  // namespace smmap

#endif  // SMMAP_TESTS_MODEL_DRIVER_H_
