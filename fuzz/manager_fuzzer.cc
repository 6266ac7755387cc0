// Fuzzes managers and fixed cursors (and the sliding cursors mixed in): an
// operation stream of make, next, release, close, collect, close or destroy
// the manager and start over, over a few in-memory files of fuzzed size,
// with fuzzed window, budgets and hard or soft limits, while the files grow,
// shrink and are replaced. The stream is applied to a manager and checked
// against its contract after every step (tests/model_driver.h): every byte
// a cursor shows against the file's bytes, the regions, their LRU order,
// evictions, descriptors and counters against what the headers allow.
// Descriptors must return to their starting count.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz/memfd_files.h"
#include "tests/model_driver.h"

namespace {

using ::smmap::fuzz::MemFile;
using ::smmap::fuzz::PatternBytes;
using ::smmap::testing::ByteChoices;
using ::smmap::testing::DriverFile;
using ::smmap::testing::ModelDriver;
using ::smmap::testing::ModelParams;

const uint64_t kPage = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
constexpr int kMaxSteps = 200;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ByteChoices choices(data, size);
  ModelParams p;
  p.greedy = choices.Bool();
  p.hard = choices.Bool();
  p.window = 2 * kPage * choices.Uniform(1, 4);
  p.max_files = choices.Uniform(0, 3);
  const uint64_t budget_pages = choices.Uniform(0, 16);
  p.budget = budget_pages * kPage;
  if (p.hard) {
    // Hard limits must admit one region: a window, or a whole file (at most
    // 6 pages + 100 bytes) for the greedy manager.
    p.budget = std::max(p.budget, p.greedy ? 7 * kPage : p.window);
  }
  std::vector<MemFile> files;
  const uint64_t num_files = choices.Uniform(1, 3);
  for (uint64_t i = 0; i < num_files; ++i) {
    const uint64_t file_size =
        choices.Uniform(0, 6) * kPage + choices.Uniform(0, 100);
    files.emplace_back(PatternBytes(file_size, i + 1));
  }
  std::vector<DriverFile> driver_files;
  for (const MemFile& f : files)
    driver_files.push_back({f.path(), -1, f.bytes()});
  // The first file by descriptor too: a distinct file to the manager.
  driver_files.push_back({"", files[0].fd(), files[0].bytes()});
  {
    ModelDriver driver(p, driver_files);
    const std::string failure = driver.Run(choices, kMaxSteps);
    SMMAP_FUZZ_CHECK(failure.empty(), failure);
  }
  return 0;
}
