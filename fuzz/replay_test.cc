// Replays a fuzzer's seed corpus (and a few hundred seeded random inputs)
// through its LLVMFuzzerTestOneInput, so that every `bazel test //...` runs
// what the fuzzers found, in every configuration.
//
// Usage (from BUILD): <test> <corpus directory>

#include <dirent.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

std::string g_corpus;

std::vector<std::string> CorpusFiles() {
  std::vector<std::string> files;
  DIR* dir = ::opendir(g_corpus.c_str());
  if (dir == nullptr) return files;
  while (dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.')
      files.push_back(g_corpus + "/" + entry->d_name);
  }
  ::closedir(dir);
  return files;
}

TEST(ReplayTest, SeedCorpus) {
  const std::vector<std::string> files = CorpusFiles();
  ASSERT_FALSE(files.empty()) << "no corpus in " << g_corpus;
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
    SCOPED_TRACE(path);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                           bytes.size());
  }
  std::printf("replayed %zu corpus files from %s\n", files.size(),
              g_corpus.c_str());
}

TEST(ReplayTest, SeededRandomInputs) {
  std::mt19937_64 rng(20261125);
  for (int i = 0; i < 300; ++i) {
    std::vector<uint8_t> input(rng() % 600);
    for (uint8_t& b : input) b = static_cast<uint8_t>(rng());
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc > 1) g_corpus = argv[1];
  return RUN_ALL_TESTS();
}
