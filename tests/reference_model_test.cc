// Reference-model test: thousands of random cursor operations on several
// files that grow, shrink and are replaced, with a tiny window and tiny
// budgets, applied to a manager and checked against its contract after
// every step (tests/model_driver.h).
//
// Seeds: a fixed list, or SMMAP_SEED=<n> to replay one:
//
//   SMMAP_SEED=12345 bazel test //tests:reference_model_test
//
// (the target inherits SMMAP_SEED: env_inherit in tests/BUILD). Each run
// prints its seed and parameters.

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/model_driver.h"
#include "tests/test_files.h"

namespace smmap {
namespace testing {
namespace {

struct Case {
  uint64_t seed;
  ModelParams params;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "seed=" << c.seed << " " << Describe(c.params);
}

class ReferenceModelTest : public ::testing::TestWithParam<Case> {};

TEST_P(ReferenceModelTest, MatchesModel) {
  const Case c = GetParam();
  std::printf("reference model: seed=%llu %s\n",
              static_cast<unsigned long long>(c.seed),
              Describe(c.params).c_str());
  RandomChoices choices(c.seed);
  // Three files of random sizes (one sometimes empty); the last is also
  // named by a descriptor, which the manager treats as a fourth file.
  std::vector<TestFile> files;
  for (int i = 0; i < 3; ++i) {
    const uint64_t size = i == 2 && choices.Uniform(0, 3) == 0
                              ? 0
                              : choices.Uniform(1, 7 * kPage);
    files.push_back(TestFile::Random("model", size, c.seed * 10 + i));
  }
  const int fd = ::open(files[2].path().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::vector<DriverFile> driver_files;
  for (const TestFile& f : files)
    driver_files.push_back({f.path(), -1, f.bytes()});
  driver_files.push_back({"", fd, files[2].bytes()});
  {
    ModelDriver driver(c.params, driver_files);
    EXPECT_EQ(driver.Run(choices, 3000), "");
  }
  ::close(fd);
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  const char* env_seed = std::getenv("SMMAP_SEED");
  uint64_t seed =
      env_seed != nullptr ? std::strtoull(env_seed, nullptr, 10) : 1;
  for (bool greedy : {false, true}) {
    for (bool hard : {false, true}) {
      for (uint64_t budget_pages : {2, 4, 8}) {
        for (uint64_t max_files : {0, 1, 2}) {
          ModelParams p;
          p.greedy = greedy;
          p.hard = hard;
          // Greedy regions are whole files (up to 7 pages): give hard
          // limits room for one.
          p.budget = (greedy && hard ? budget_pages + 6 : budget_pages) * kPage;
          p.window = (budget_pages >= 4 && !hard ? 4 : 2) * kPage;
          p.max_files = max_files;
          cases.push_back({env_seed != nullptr ? seed : seed++, p});
        }
      }
    }
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Seeds, ReferenceModelTest,
                         ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return absl::StrCat(
                               "seed", info.param.seed, "_",
                               info.param.params.greedy ? "greedy" : "tiling",
                               "_", info.param.params.hard ? "hard" : "soft",
                               "_", info.index);
                         });

}  // namespace
}  // namespace testing
}  // namespace smmap
